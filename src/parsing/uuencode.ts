/**
 * uuencode, the transfer encoding of mail before MIME (POSIX `uuencode`, and `uuencode -m` for its
 * base64 form), in both places it still arrives:
 * - a MIME part with `Content-Transfer-Encoding: x-uuencode` (also `uuencode`, `x-uue`), which
 *   mailparser passes through undecoded because RFC 2045 §6 knows only 7bit/8bit/binary/base64/QP:
 *   UudecodeStream turns the part's bytes into the file;
 * - `begin 644 name` … `end` blocks inside a plain text body, as old clients and gateways attach
 *   files: extractUuBlocks takes each block out of the text as a file with its name.
 * The mode on the begin line is ignored: a helpdesk stores content, not Unix permissions.
 *
 * Damage is tolerated, never fatal. A line whose trailing spaces a relay stripped is padded with zero
 * bytes, which is what those spaces encoded (old encoders wrote a space for zero, newer ones a '`'). A broken line (a character outside the uuencode
 * alphabet) is skipped and counted. A block that stops without its `end` line keeps what decoded. What
 * was wrong is returned as a note for the ticket; the raw message keeps the original bytes.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** `begin <mode> <name>`; `begin-base64` for the `uuencode -m` form (ends with `====`). */
const BEGIN = /^begin(-base64)? ([0-7]{1,4}) +(\S.*?)\s*$/;
const END = /^end\s*$/;
const BASE64_END = /^====\s*$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}\s*$/;
/** The uuencode alphabet is ' ' (or '`') through '_' : 0x20..0x60, no lower case letters. */
const UU_LINE = /^[\x20-\x60]+$/;
/** A longer line cannot be uuencoded data (real encoders write 61 characters); the stream stops buffering. */
const MAX_LINE = 1024;
/** Lines before a begin line that UudecodeStream looks through before it keeps the bytes as they are. */
const MAX_LEADING_BYTES = 64 * 1024;

export const UUENCODE_TRANSFER_ENCODINGS: ReadonlySet<string> = new Set(['x-uuencode', 'uuencode', 'x-uue', 'uue']);

/** A file name from a begin line: no directories (`../../etc/passwd`), no control characters. */
export function uuFileName(name: string): string {
  const printable = [...name].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join('');
  const base = printable.split(/[\\/]/).pop()?.trim() ?? '';
  return (base === '' || base === '.' || base === '..' ? 'uuencoded.bin' : base).slice(0, 255);
}

/** The bytes of one uuencoded line, or null when it is not one (a character outside the alphabet). */
export function decodeUuLine(line: string): Buffer | null {
  const text = line.replace(/\r$/, '');
  if (text === '') return Buffer.alloc(0);
  if (!UU_LINE.test(text)) return null;
  const length = (text.charCodeAt(0) - 0x20) & 0x3f;
  const needed = Math.ceil(length / 3) * 4;
  // Extra characters after the data are a checksum some encoders append; missing ones were spaces.
  const data = text.slice(1, 1 + needed).padEnd(needed, ' ');
  const out = Buffer.alloc(Math.ceil(length / 3) * 3);
  const sextet = (at: number): number => (data.charCodeAt(at) - 0x20) & 0x3f;
  for (let i = 0, o = 0; i < needed; i += 4, o += 3) {
    const a = sextet(i);
    const b = sextet(i + 1);
    const c = sextet(i + 2);
    const d = sextet(i + 3);
    out[o] = (a << 2) | (b >> 4);
    out[o + 1] = ((b << 4) | (c >> 2)) & 0xff;
    out[o + 2] = ((c << 6) | d) & 0xff;
  }
  return out.subarray(0, length);
}

/** What went wrong while decoding, as one sentence for the ticket, or null when nothing did. */
function describe(problems: { broken: number; unterminated: boolean; over: boolean }, maxBytes: number): string | null {
  const parts: string[] = [];
  if (problems.unterminated) parts.push('the block ends without its end line');
  if (problems.broken > 0) parts.push(`${problems.broken} broken line${problems.broken === 1 ? '' : 's'} skipped`);
  if (problems.over) parts.push(`decoding stopped at the ${maxBytes}-byte attachment limit`);
  return parts.length > 0 ? parts.join('; ') : null;
}

/** Decodes lines into a byte budget; beyond it bytes are counted as lost, not kept. */
class Collector {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  over = false;
  constructor(private readonly maxBytes: number) {}
  add(chunk: Buffer): void {
    // One byte past the limit is kept so the attachment limit downstream sees the file is too large.
    const room = this.maxBytes + 1 - this.bytes;
    if (chunk.length > room) this.over = true;
    const kept = chunk.subarray(0, Math.max(0, room));
    this.chunks.push(kept);
    this.bytes += kept.length;
  }
}

export interface UuBlock {
  name: string;
  content: Buffer;
  /** What was wrong with the block (kept what decoded), or null. */
  note: string | null;
}

/**
 * Takes `begin … end` blocks out of a plain text body: each becomes a file, and its place in the text
 * a short `[attachment: name]` line. A begin line counts only when the next line is uuencoded data,
 * so prose that happens to start with "begin 644" stays prose. At most `maxBlocks` blocks are taken;
 * later ones stay in the text.
 */
export function extractUuBlocks(text: string, options: { maxBlocks: number; maxBytes: number }): { text: string; blocks: UuBlock[] } {
  if (!/^begin(?:-base64)? [0-7]/m.test(text)) return { text, blocks: [] };
  const lines = text.split('\n');
  const out: string[] = [];
  const blocks: UuBlock[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    const begin = blocks.length < options.maxBlocks ? BEGIN.exec(line.replace(/\r$/, '')) : null;
    const base64 = begin?.[1] !== undefined;
    const next = lines[i + 1] ?? '';
    const startsData = base64 ? next.trim() !== '' && BASE64_LINE.test(next) : next.trim() !== '' && decodeUuLine(next) !== null;
    if (!begin || !startsData) {
      out.push(line);
      i++;
      continue;
    }
    const name = uuFileName(begin[3]!);
    const collector = new Collector(options.maxBytes);
    const problems = { broken: 0, unterminated: true, over: false };
    let b64 = '';
    let j = i + 1;
    for (; j < lines.length; j++) {
      const data = lines[j]!.replace(/\r$/, '');
      if (base64 ? BASE64_END.test(data) : END.test(data)) {
        problems.unterminated = false;
        j++;
        break;
      }
      if (base64) {
        if (!BASE64_LINE.test(data)) break;
        b64 += data.trim();
        // Decoded in whole groups as it goes, so a large block never sits in memory twice.
        if (b64.length >= 4096 && !b64.includes('=')) {
          const whole = b64.length - (b64.length % 4);
          collector.add(Buffer.from(b64.slice(0, whole), 'base64'));
          b64 = b64.slice(whole);
        }
        continue;
      }
      const decoded = decodeUuLine(data);
      if (decoded && decoded.length === 0) {
        // The zero-length line ends the data: `end` must follow, or the block ends here without it
        // (what comes after is text again, even a line that would pass for data).
        if (END.test(lines[j + 1]?.replace(/\r$/, '') ?? '')) {
          problems.unterminated = false;
          j += 2;
        } else j++;
        break;
      }
      if (decoded) {
        collector.add(decoded);
        continue;
      }
      // A damaged line inside the block is skipped when data goes on after it; otherwise the block ends.
      const after = lines[j + 1]?.replace(/\r$/, '') ?? '';
      if (after !== '' && (END.test(after) || decodeUuLine(after) !== null)) {
        problems.broken++;
        continue;
      }
      break;
    }
    if (b64 !== '') collector.add(Buffer.from(b64, 'base64'));
    problems.over = collector.over;
    const note = describe(problems, options.maxBytes);
    blocks.push({ name, content: Buffer.concat(collector.chunks), note });
    out.push(`[attachment: ${name}${note ? `, incomplete: ${note}` : ''}]${line.endsWith('\r') ? '\r' : ''}`);
    i = j;
  }
  return { text: out.join('\n'), blocks };
}

/**
 * The bytes of a part sent with an x-uuencode transfer encoding, decoded as they stream. The part
 * holds one `begin … end` block (lines before it are skipped); a part with no begin line in its first
 * MAX_LEADING_BYTES is passed on as it arrived, noted, rather than emptied.
 */
export class UudecodeStream extends Transform {
  /** The name on the begin line, once seen. */
  name: string | null = null;
  private state: 'before' | 'uu' | 'base64' | 'done' | 'raw' = 'before';
  private partial = '';
  private leading: Buffer[] = [];
  private leadingBytes = 0;
  private b64 = '';
  private readonly problems = { broken: 0, unterminated: false, over: false };
  private noBegin = false;

  /** What was wrong, for the ticket, once the stream has ended; null when nothing was. */
  get note(): string | null {
    if (this.noBegin) return 'no begin line: stored as it arrived, not decoded';
    return describe(this.problems, Number.POSITIVE_INFINITY);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.state === 'raw') {
      done(null, chunk);
      return;
    }
    if (this.state === 'before') {
      this.leading.push(chunk);
      this.leadingBytes += chunk.length;
    }
    const text = this.partial + chunk.toString('latin1');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.line(line);
    if (this.partial.length > MAX_LINE) {
      // Not uuencoded data: a line this long is taken as broken, not buffered without bound.
      this.line(this.partial);
      this.partial = '';
    }
    if (this.state === 'before' && this.leadingBytes > MAX_LEADING_BYTES) this.passRaw();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.state === 'raw') {
      done();
      return;
    }
    if (this.partial !== '') this.line(this.partial);
    if (this.state === 'before') {
      this.passRaw();
      done();
      return;
    }
    if (this.state === 'base64' && this.b64 !== '') this.push(Buffer.from(this.b64, 'base64'));
    if (this.state === 'uu' || this.state === 'base64') this.problems.unterminated = true;
    done();
  }

  private passRaw(): void {
    this.state = 'raw';
    this.noBegin = true;
    for (const piece of this.leading) this.push(piece);
    this.leading = [];
  }

  private line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    switch (this.state) {
      case 'before': {
        const begin = BEGIN.exec(line);
        if (!begin) return;
        this.name = uuFileName(begin[3]!);
        this.emit('named', this.name);
        this.state = begin[1] !== undefined ? 'base64' : 'uu';
        this.leading = [];
        return;
      }
      case 'uu': {
        if (END.test(line)) {
          this.state = 'done';
          return;
        }
        const decoded = line.length > MAX_LINE ? null : decodeUuLine(line);
        if (!decoded) {
          this.problems.broken++;
          return;
        }
        if (decoded.length > 0) this.push(decoded);
        return;
      }
      case 'base64': {
        if (BASE64_END.test(line)) {
          if (this.b64 !== '') this.push(Buffer.from(this.b64, 'base64'));
          this.b64 = '';
          this.state = 'done';
          return;
        }
        if (line.length > MAX_LINE || !BASE64_LINE.test(line)) {
          this.problems.broken++;
          return;
        }
        this.b64 += line.trim();
        const whole = this.b64.length - (this.b64.length % 4);
        if (whole > 0 && !this.b64.includes('=')) {
          this.push(Buffer.from(this.b64.slice(0, whole), 'base64'));
          this.b64 = this.b64.slice(whole);
        }
        return;
      }
      default:
        return;
    }
  }
}
