/**
 * clamd over TCP with the INSTREAM command (clamd(8)): the file is streamed in length-prefixed
 * chunks, so Mailgate never shares a filesystem with the scanner and never buffers a whole file.
 * "FOUND" is a scan result, not an error; a refused connection is transient; an early stop (a limit,
 * encryption, a size refusal) is an "unscannable" verdict (clamd-reply.ts); any other ERROR reply is
 * permanent for that file.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { ErrorType } from '../domain/errors';
import { parseScanReply, ScannerError, type ScanVerdict } from './clamd-reply';

export { parseScanReply, ScannerError, type ScanVerdict } from './clamd-reply';

export interface Scanner {
  scan(stream: Readable): Promise<ScanVerdict>;
  ping(): Promise<void>;
  version(): Promise<string>;
}

export interface ClamdOptions {
  host: string;
  port: number;
  timeoutMs: number;
}

/** clamd's default chunk ceiling is far higher; 64 KiB keeps memory flat for any file size. */
const CHUNK = 64 * 1024;

interface Reply {
  text: string;
  /** Every byte of the body and the terminating empty chunk were written before the answer came. */
  bodyComplete: boolean;
}

function command(options: ClamdOptions, name: string, body?: Readable): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port });
    const chunks: Buffer[] = [];
    let settled = false;
    let bodyComplete = body === undefined;
    const fail = (error: unknown, type: ErrorType = ErrorType.ScannerUnavailable): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      body?.destroy();
      const detail = error instanceof Error ? error.message : String(error);
      reject(error instanceof ScannerError ? error : new ScannerError(type, `clamd ${name} failed: ${detail}`, { cause: error }));
    };
    socket.setTimeout(options.timeoutMs, () => fail(new Error(`no answer within ${options.timeoutMs} ms`)));
    socket.on('error', (error) => fail(error));
    socket.on('data', (data) => chunks.push(data));
    socket.on('end', () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8').replace(/\0+$/, ''), bodyComplete });
    });
    socket.on('connect', () => {
      socket.write(`z${name}\0`);
      if (!body) return;
      void (async () => {
        try {
          for await (const piece of body) {
            const buf: Buffer = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
            for (let offset = 0; offset < buf.length; offset += CHUNK) {
              const slice = buf.subarray(offset, offset + CHUNK);
              const header = Buffer.alloc(4);
              header.writeUInt32BE(slice.length);
              // clamd may answer early ("size limit exceeded") and close: stop writing then.
              if (settled || socket.destroyed) return;
              // Two writes, not a concatenated copy: a copy per chunk is a second file's worth of
              // garbage buffers, which V8 frees late (issue 15: they showed up as worker RSS).
              socket.write(header);
              if (!socket.write(slice)) {
                await new Promise<void>((r) => {
                  socket.once('drain', r);
                  socket.once('close', r);
                });
              }
            }
          }
          if (!settled && !socket.destroyed) {
            socket.write(Buffer.alloc(4));
            bodyComplete = true;
          }
        } catch (error) {
          fail(error);
        }
      })();
    });
  });
}

export function createClamdScanner(options: ClamdOptions): Scanner {
  return {
    async scan(stream) {
      const reply = await command(options, 'INSTREAM', stream);
      const verdict = parseScanReply(reply.text);
      // An answer that came before the whole file was sent covers only the part clamd saw: a
      // signature after it was never looked at, so "OK" then is not clean.
      if (verdict.status === 'clean' && !reply.bodyComplete) {
        return { status: 'unscannable', reason: 'the virus scanner answered before the whole file was sent', signature: null };
      }
      return verdict;
    },
    async ping() {
      const { text: reply } = await command({ ...options, timeoutMs: Math.min(options.timeoutMs, 3_000) }, 'PING');
      if (reply !== 'PONG') throw new ScannerError(ErrorType.ScannerUnavailable, `clamd PING answered ${JSON.stringify(reply)}`);
    },
    version: async () => (await command({ ...options, timeoutMs: Math.min(options.timeoutMs, 3_000) }, 'VERSION')).text,
  };
}
