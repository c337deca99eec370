/**
 * A raw SMTP client for tests that need exact control of the bytes on the wire (bare LF, 8-bit data
 * without BODY=8BITMIME, a client that stalls mid-DATA), which a well-behaved client library will
 * not send. Replies are read whole (multi-line replies joined), each with its code.
 */
import net from 'node:net';

export interface Reply {
  code: number;
  text: string;
}

export class RawSmtp {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<{ client: RawSmtp; greeting: Reply }> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new RawSmtp(socket);
    return { client, greeting: await client.reply(timeoutMs) };
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** The next whole reply (the line whose code is followed by a space ends it). */
  async reply(timeoutMs = 15_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = /^(?:\d{3}-[^\n]*\n)*(\d{3})(?: [^\n]*)?\r?\n/.exec(this.buffer);
      if (match) {
        this.buffer = this.buffer.slice(match[0].length);
        return { code: Number(match[1]), text: match[0].trim() };
      }
      if (this.closedFlag) throw new Error(`connection closed while waiting for a reply (buffer: ${JSON.stringify(this.buffer)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms (buffer: ${JSON.stringify(this.buffer)})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string, timeoutMs?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply(timeoutMs);
  }

  /** MAIL, RCPT (each), DATA and the message with dot-stuffing and its terminator: every reply. */
  async send(from: string, to: string[], message: Buffer, mailParams = ''): Promise<Reply[]> {
    const replies = [await this.command(`MAIL FROM:<${from}>${mailParams}`)];
    for (const rcpt of to) replies.push(await this.command(`RCPT TO:<${rcpt}>`));
    if (replies.some((r) => r.code >= 400)) return replies;
    replies.push(await this.command('DATA'));
    const stuffed = Buffer.from(message.toString('latin1').replace(/(^|\n)\./g, '$1..'), 'latin1');
    const ending = stuffed.subarray(-2).toString() === '\r\n' ? '.\r\n' : '\r\n.\r\n';
    this.write(Buffer.concat([stuffed, Buffer.from(ending)]));
    replies.push(await this.reply());
    return replies;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
