/**
 * Where a message really starts, and whether bytes without a header block are mail at all.
 *
 * Real mail does not always begin with its first header field (RFC 5322 §2.1). What comes before it:
 * - an mbox separator line, `From sender@example.com Mon Jan  1 00:00:00 2001` (RFC 4155), which
 *   procmail, mbox exports and MTA pipes hand over with the message, sometimes quoted as `>From `;
 * - blank lines (CRLF or LF), and a UTF-8 byte order mark written by an editor or a Windows tool;
 * - a stray line: an MMDF `^A^A^A^A` separator, a POP3 `+OK` reply, a line of junk a script left.
 * The separator, blank lines and the byte order mark are always skipped. Up to MAX_STRAY_LINES other
 * lines are skipped only when a header block follows at once and names at least one field that real
 * messages carry (From, To, Subject, Received, …): one loose `Word: text` line of prose must not turn
 * the paragraph above it into junk that disappears from the ticket.
 *
 * Without a header block the bytes are a body, and a body is mail (a text message piped without
 * headers becomes a ticket; its requester is the envelope sender). "Plainly not mail" is narrow, and
 * only ever judged on bytes that have no header block: bytes that are no text (a NUL byte, or more
 * than one in MAX_CONTROL_SHARE of the first SNIFF_BYTES a control character other than the tab,
 * line breaks, form feed and the ISO-2022 escape), a PDF, a JSON document, an HTML page or XML
 * document, an HTTP request or response, and a message with nothing in it but blank lines and
 * separators. Each refusal says which of these it was. A message with a header block is never judged
 * on its body: BINARYMIME bodies (RFC 3030) may hold any byte.
 *
 * The ingress (readHeaderBlock) and the parse step (MailPrefixStripper, in front of mailparser) both
 * decide with findMailStart over the same PREFIX_WINDOW, so what the ingress accepted by its headers
 * is parsed by those same headers. The stored raw message stays exactly as received.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Bytes searched for the start of the header block; a prefix longer than this is not a prefix. */
export const PREFIX_WINDOW = 16 * 1024;
/** Non-header lines skipped before the first field when a real header block follows them. */
export const MAX_STRAY_LINES = 3;
/** Bytes of a headerless body looked at to tell text from a binary file. */
export const SNIFF_BYTES = 8 * 1024;
/** A headerless body is binary when more than 1 in this many sniffed bytes is a control character. */
const MAX_CONTROL_SHARE = 32;
/** A headerless body up to this size that parses as JSON is a JSON document. */
const MAX_JSON_PARSE = 1024 * 1024;

/** RFC 5322 §3.6.8: field-name is printable ASCII except the colon, then (obsolete) space, then ':'. */
const FIELD = /^([!-9;-~]+)[ \t]*:/;
/**
 * The first field of a block is held to the names fields really have (RFC 5322 allows any printable
 * name, but `{"subject":` is the start of a JSON document, not a field named `{"subject"`).
 */
const FIRST_FIELD = /^[A-Za-z][A-Za-z0-9_.-]*[ \t]*:/;
/**
 * An mbox separator with its asctime date (RFC 4155: `From sender Mon Jan  1 00:00:00 2001`). Prose
 * can start with "From " too ("From what I can tell…"); a `From ` line without the date counts only as
 * a stray line, skipped when a header block follows it.
 */
const MBOX_SEPARATOR = /^>*From \S+ +(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun),? +)?(?:\d{1,2} +)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) .*\d{1,2}:\d{2}/;
const HTTP_START = /^(?:HTTP\/\d(?:\.\d)? \d{3}\b|(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP\/\d)/;
const BOM = '\u00ef\u00bb\u00bf';
/** Fields real messages carry; one of them vouches for a header block found below stray lines. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'received',
  'return-path',
  'delivered-to',
  'reply-to',
  'sender',
  'mime-version',
  'content-type',
  'in-reply-to',
  'references',
]);

export interface MailStart {
  /** Byte offset of the header block, or of the body when there is none. */
  offset: number;
  /** No header block: everything from `offset` is the body. */
  bodyOnly: boolean;
  /** What was skipped before `offset`, in order ("mbox separator", "2 blank lines", …). */
  skipped: string[];
  /** The message's own line ending, for the empty header block put in front of a bare body. */
  newline: '\r\n' | '\n';
}

interface Line {
  text: string;
  start: number;
  next: number;
}

function lineAt(head: string, start: number): Line | null {
  if (start >= head.length) return null;
  const lf = head.indexOf('\n', start);
  const end = lf < 0 ? head.length : lf;
  return { text: head.slice(start, end).replace(/\r$/, ''), start, next: lf < 0 ? head.length : lf + 1 };
}

/** The field name of a header line, lower case, or null when the line is not a field. */
export function fieldName(line: string): string | null {
  const match = FIELD.exec(line);
  return match?.[1] ? match[1].toLowerCase() : null;
}

function blockHasKnownField(head: string, start: number): boolean {
  for (let line = lineAt(head, start); line && line.text.trim() !== ''; line = lineAt(head, line.next)) {
    const name = fieldName(line.text);
    if (name && KNOWN_FIELDS.has(name)) return true;
  }
  return false;
}

function counted(n: number, what: string): string {
  return n === 1 ? `a ${what}` : `${n} ${what}s`;
}

/** Decides where the header block starts within the first PREFIX_WINDOW bytes of a message. */
export function findMailStart(raw: Buffer): MailStart {
  const head = raw.subarray(0, PREFIX_WINDOW).toString('latin1');
  const lf = head.indexOf('\n');
  const newline = lf > 0 && head[lf - 1] === '\r' ? '\r\n' : '\n';
  const skipped: string[] = [];
  let pos = 0;
  if (head.startsWith(BOM)) {
    pos = BOM.length;
    skipped.push('a byte order mark');
  }
  let blanks = 0;
  for (let line = lineAt(head, pos); line; line = lineAt(head, pos)) {
    // A whitespace-only last line without its line break is still being read, not a blank line.
    if (line.text.trim() === '' && line.next > line.start + line.text.length) blanks++;
    else if (MBOX_SEPARATOR.test(line.text)) {
      if (blanks > 0) skipped.push(counted(blanks, 'blank line'));
      blanks = 0;
      skipped.push(line.text.startsWith('>') ? 'a quoted mbox separator' : 'an mbox separator');
    } else break;
    pos = line.next;
  }
  if (blanks > 0) skipped.push(counted(blanks, 'blank line'));

  const first = lineAt(head, pos);
  if (first && FIRST_FIELD.test(first.text)) return { offset: pos, bodyOnly: false, skipped, newline };
  let at = first;
  for (let strays = 1; at && strays <= MAX_STRAY_LINES; strays++) {
    if (at.text.trim() === '' || HTTP_START.test(at.text)) break;
    const next = lineAt(head, at.next);
    if (next && FIRST_FIELD.test(next.text) && blockHasKnownField(head, next.start)) {
      return { offset: next.start, bodyOnly: false, skipped: [...skipped, counted(strays, 'stray line')], newline };
    }
    at = next;
  }
  return { offset: pos, bodyOnly: true, skipped, newline };
}

function isControl(byte: number): boolean {
  // Tab, LF, VT, FF, CR and ESC (ISO-2022-JP switches character sets with it) occur in text.
  return (byte < 0x20 && ![0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1b].includes(byte)) || byte === 0x7f;
}

function isJson(body: Buffer, text: string): boolean {
  if (!/^[{[]/.test(text)) return false;
  if (body.length > MAX_JSON_PARSE) return /^[{[]\s*["{[\]}]/.test(text);
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a body without a header block is plainly not mail, or null when it is mail (text).
 * `body` is the message from findMailStart's offset on; `offset` that offset, for the reason.
 */
export function notMailReason(body: Buffer, offset = 0): string | null {
  const sample = body.subarray(0, SNIFF_BYTES);
  const nul = sample.indexOf(0);
  if (nul >= 0) return `binary data, not text: a NUL byte at offset ${offset + nul} and no header field before it`;
  let controls = 0;
  for (const byte of sample) if (isControl(byte)) controls++;
  if (controls * MAX_CONTROL_SHARE > sample.length) {
    return `binary data, not text: ${controls} control bytes in the first ${sample.length} bytes and no header field`;
  }
  const text = sample.toString('latin1').trimStart();
  if (text === '') return 'the message has neither a header field nor any text';
  if (text.startsWith('%PDF-')) return 'a PDF document, not mail: it has no header field';
  if (HTTP_START.test(text)) return 'an HTTP message, not mail: it starts with a request or status line';
  if (/^<(?:!doctype\s+html|html|head|body)\b/i.test(text)) return 'an HTML page, not mail: it has no header field';
  if (/^<\?xml\b/i.test(text)) return 'an XML document, not mail: it has no header field';
  if (isJson(body, text)) return 'a JSON document, not mail: it has no header field';
  return null;
}

/**
 * Passes a raw message to the MIME parser with its prefix (findMailStart) removed, and with an empty
 * header block in front of a bare body so the parser does not take its first paragraph for headers.
 */
export class MailPrefixStripper extends Transform {
  /** The decision, once PREFIX_WINDOW bytes or the whole message have been seen. */
  start: MailStart | null = null;
  private held: Buffer[] = [];
  private heldBytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.start) {
      done(null, chunk);
      return;
    }
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.heldBytes >= PREFIX_WINDOW) this.decide();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (!this.start) this.decide();
    done();
  }

  private decide(): void {
    const head = Buffer.concat(this.held);
    this.held = [];
    const start = findMailStart(head);
    this.start = start;
    if (start.bodyOnly) this.push(Buffer.from(start.newline, 'latin1'));
    if (head.length > start.offset) this.push(head.subarray(start.offset));
  }
}
