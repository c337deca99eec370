/**
 * Reads a raw message into memory under a size cap. A sender controls the stream's length, so the
 * cap is checked on every chunk and nothing past it is kept. Past the cap the rest of a stream is
 * read and discarded rather than destroyed: an SMTP server can only send its 552 after the end of
 * DATA (RFC 5321 §4.2.5, §4.5.3.1.10), and a pipe's writer would otherwise fail with EPIPE.
 */
import { Readable } from 'node:stream';
import type { RawMessage } from './types';
import { streamed } from '../gc-pacing';

export type ReadRaw = { ok: true; bytes: Buffer } | { ok: false; tooLarge: true } | { ok: false; tooLarge: false; error: Error };

/**
 * `expectedBytes` (an HTTP Content-Length, already checked against the cap and reserved from the
 * body budget) lets the bytes be copied into one buffer as they come, rather than kept as chunks and
 * concatenated at the end, which held the message twice at its peak (issue 15). A stream that sends
 * more than it announced falls back to chunks; one that sends less yields what it sent.
 */
export async function readRaw(raw: RawMessage, maxBytes: number, expectedBytes?: number): Promise<ReadRaw> {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes > 0)) throw new RangeError(`maxBytes must be a positive integer, not ${maxBytes}`);
  if (!(raw instanceof Readable)) {
    if (raw.length > maxBytes) return { ok: false, tooLarge: true };
    return { ok: true, bytes: Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.length) };
  }
  const known = expectedBytes !== undefined && Number.isSafeInteger(expectedBytes) && expectedBytes >= 0 && expectedBytes <= maxBytes;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let whole: Buffer | null = known ? Buffer.allocUnsafe(expectedBytes) : null;
    let size = 0;
    let settled = false;
    const settle = (result: ReadRaw): void => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      whole = null;
      resolve(result);
    };
    raw.on('data', (chunk: Buffer | string) => {
      if (settled) return;
      const piece = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      size += piece.length;
      streamed(piece.length);
      if (size > maxBytes) {
        settle({ ok: false, tooLarge: true });
        return;
      }
      if (whole !== null && size <= whole.length) {
        piece.copy(whole, size - piece.length);
        return;
      }
      if (whole !== null) {
        chunks.push(whole.subarray(0, size - piece.length));
        whole = null;
      }
      chunks.push(piece);
    });
    raw.once('end', () => {
      if (!settled) settle({ ok: true, bytes: whole !== null ? whole.subarray(0, size) : Buffer.concat(chunks, size) });
    });
    // Kept for the stream's lifetime: an error while the rest is being discarded is not a crash.
    raw.on('error', (error: Error) => settle({ ok: false, tooLarge: false, error }));
    raw.once('close', () => {
      if (!settled) settle({ ok: false, tooLarge: false, error: new Error('the stream closed before its end') });
    });
  });
}
