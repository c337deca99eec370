/**
 * The ingress reads only the header block of a raw message (RFC 5322 §2.2, §3.6): enough to find the
 * Message-ID and, without an envelope, the To and Cc recipients. Full parsing happens in the
 * workflow. A body without a header block is not an email and is refused.
 */
import addressparser from 'nodemailer/lib/addressparser';

export class NotAnEmailError extends Error {
  override name = 'NotAnEmailError';
}

const FIELD = /^([!-9;-~]+)[ \t]*:(.*)$/;
const REQUIRED_ANY = ['from', 'to', 'cc', 'subject', 'date', 'message-id'];

export interface HeaderBlock {
  get(name: string): string | undefined;
  all(name: string): string[];
}

/** Header blocks beyond `maxHeaderBytes` are hostile or broken; real ones are a few kilobytes. */
export function readHeaderBlock(raw: Buffer, maxHeaderBytes = 256 * 1024): HeaderBlock {
  const MAX_HEADER_BYTES = maxHeaderBytes;
  if (raw.length === 0) throw new NotAnEmailError('the body is empty');
  const head = raw.subarray(0, MAX_HEADER_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = end >= 0 ? head.slice(0, end) : raw.length <= MAX_HEADER_BYTES ? head : null;
  if (block === null) throw new NotAnEmailError(`no end of the header block within ${MAX_HEADER_BYTES} bytes`);
  const fields = new Map<string, string[]>();
  let current: { name: string; value: string } | null = null;
  const flush = (): void => {
    if (!current) return;
    fields.set(current.name, [...(fields.get(current.name) ?? []), current.value.trim()]);
  };
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && current) {
      current.value += ' ' + line.trim();
      continue;
    }
    const match = FIELD.exec(line);
    if (!match?.[1]) throw new NotAnEmailError(`line ${JSON.stringify(line.slice(0, 60))} is not a header field`);
    flush();
    current = { name: match[1].toLowerCase(), value: match[2] ?? '' };
  }
  flush();
  if (!REQUIRED_ANY.some((name) => fields.has(name))) {
    throw new NotAnEmailError('the header block has none of From, To, Cc, Subject, Date or Message-ID');
  }
  return {
    get: (name) => fields.get(name.toLowerCase())?.[0],
    all: (name) => fields.get(name.toLowerCase()) ?? [],
  };
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
