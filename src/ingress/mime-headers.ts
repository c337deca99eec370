/**
 * The ingress reads only the header block of a raw message (RFC 5322 §2.2, §3.6): enough to find the
 * Message-ID and, without an envelope, the To and Cc recipients. Full parsing happens in the
 * workflow. Where the block starts (after an mbox separator, blank lines or a stray line) and which
 * bytes without one are plainly not mail is decided in ../parsing/mail-prefix.ts, the same way the
 * parse step decides it. A line inside the block that is not a field (a broken line) is passed over,
 * as the parser passes over it: one bad line does not make a message unreadable.
 */
import addressparser from 'nodemailer/lib/addressparser';
import { fieldName, findMailStart, notMailReason } from '../parsing/mail-prefix';

export class NotAnEmailError extends Error {
  override name = 'NotAnEmailError';
}

export interface HeaderBlock {
  get(name: string): string | undefined;
  all(name: string): string[];
  /** Bytes before the message proper (mbox separator, blank lines, stray lines); 0 for most mail. */
  prefixBytes: number;
}

/** Header blocks beyond `maxHeaderBytes` are hostile or broken; real ones are a few kilobytes. */
export function readHeaderBlock(raw: Buffer, maxHeaderBytes = 256 * 1024): HeaderBlock {
  const MAX_HEADER_BYTES = maxHeaderBytes;
  if (raw.length === 0) throw new NotAnEmailError('the body is empty');
  const fields = new Map<string, string[]>();
  const block: HeaderBlock = { get: (name) => fields.get(name.toLowerCase())?.[0], all: (name) => fields.get(name.toLowerCase()) ?? [], prefixBytes: 0 };
  const start = findMailStart(raw);
  block.prefixBytes = start.offset;
  const rest = raw.subarray(start.offset);
  if (start.bodyOnly) {
    const reason = notMailReason(rest, start.offset);
    if (reason) throw new NotAnEmailError(reason);
    return block;
  }
  const head = rest.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const lines = end >= 0 ? head.slice(0, end) : rest.length <= MAX_HEADER_BYTES ? head : null;
  if (lines === null) throw new NotAnEmailError(`no end of the header block within ${MAX_HEADER_BYTES} bytes`);
  let current: { name: string; value: string } | null = null;
  const flush = (): void => {
    if (!current) return;
    fields.set(current.name, [...(fields.get(current.name) ?? []), current.value.trim()]);
  };
  for (const line of lines.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      if (current) current.value += ' ' + line.trim();
      continue;
    }
    const name = fieldName(line);
    flush();
    current = name ? { name, value: line.slice(line.indexOf(':') + 1) } : null;
  }
  flush();
  return block;
}

/**
 * A header value read as latin1 (readHeaderBlock) in UTF-8 when its bytes are valid UTF-8: RFC 6532
 * lets internationalised addresses (`kundendienst@bücher.example`) appear raw in headers, and read
 * as latin1 their domain would match no inbound domain.
 */
function asUtf8(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  const decoded = Buffer.from(value, 'latin1').toString('utf8');
  return decoded.includes('\uFFFD') ? value : decoded;
}

/** The addr-specs of address header values (group syntax and display names handled). */
export function addressesOf(values: string[]): string[] {
  const out: string[] = [];
  const visit = (entries: ReturnType<typeof addressparser>): void => {
    for (const entry of entries) {
      if ('group' in entry && Array.isArray(entry.group)) visit(entry.group);
      else if ('address' in entry && entry.address) out.push(entry.address);
    }
  };
  for (const value of values) visit(addressparser(asUtf8(value)));
  return out;
}
