/**
 * The content hash of an inbound message: what decides whether a second delivery under a known
 * Message-ID is the same message (a redelivery) or a different one (issue 12, class 11).
 *
 * Not the raw sha256: a legitimate redelivery is not byte-identical. Every relay prepends its trace
 * fields (RFC 5321 §4.4: Received, Return-Path; §3.6.7 of RFC 5322 puts trace fields at the top) and
 * the delivering MTA and its filters prepend Delivered-To, X-Original-To, Authentication-Results
 * (RFC 8601), ARC sets (RFC 8617), Received-SPF and spam or virus verdicts, which differ between two
 * attempts (a timestamp, a queue id, a changed score). Relays must not change what is below them.
 * So the hash covers everything below the leading run of those fields: the sender's own headers
 * and the body. A field of those names further down (written by the sender) is content and counts.
 * Line endings are compared as LF, and trailing line breaks at the end dropped, because an MTA pipe
 * or a webhook may hand over LF where SMTP carried CRLF (RFC 5321 §2.3.8) and some append one.
 *
 * A forger gains nothing from this: to be taken for a redelivery, a message must carry exactly the
 * first one's headers and body, which is the first message. The other way round, a relay that
 * rewrites what is below the trace fields (an 8BITMIME downgrade to quoted-printable, RFC 6152; an
 * appended disclaimer) makes its copy a different message here: a second ticket, with the clash
 * noted on both for an operator. Doubling a ticket visibly is the lesser harm than dropping a
 * genuine message as a "duplicate", which is what the probe achieved.
 */
import { createHash } from 'node:crypto';

/** Fields an MTA or its filters prepend on delivery (lower case), and prefixes of such families. */
const TRACE_FIELDS: ReadonlySet<string> = new Set([
  'received',
  'x-received',
  'return-path',
  'delivered-to',
  'x-original-to',
  'x-envelope-to',
  'x-envelope-from',
  'authentication-results',
  'received-spf',
  'arc-seal',
  'arc-message-signature',
  'arc-authentication-results',
  'x-virus-scanned',
  'x-virus-status',
  'x-mailgate-dmarc',
]);
// x-mailgate-provider-*: the provider's event id and verdicts, prepended by a webhook adapter (src/ingress/providers).
const TRACE_PREFIXES = ['x-spam-', 'x-mailgate-provider-'];

function isTraceField(name: string): boolean {
  const lower = name.toLowerCase();
  return TRACE_FIELDS.has(lower) || TRACE_PREFIXES.some((p) => lower.startsWith(p));
}

/** Offset of the first header field that is not a prepended trace field (with its folded lines). */
function contentStart(text: string): number {
  let offset = 0;
  while (offset < text.length) {
    const colon = text.indexOf(':', offset);
    const lineEnd = text.indexOf('\n', offset);
    if (colon < 0 || (lineEnd >= 0 && lineEnd < colon)) return offset;
    const name = text.slice(offset, colon).trimEnd();
    if (!/^[!-9;-~]+$/.test(name) || !isTraceField(name)) return offset;
    // Skip the field and its continuation lines (RFC 5322 §2.2.3 folding: a line starting with WSP).
    let next = lineEnd < 0 ? text.length : lineEnd + 1;
    while (next < text.length && (text[next] === ' ' || text[next] === '\t')) {
      const end = text.indexOf('\n', next);
      next = end < 0 ? text.length : end + 1;
    }
    offset = next;
  }
  return offset;
}

/**
 * Where the content starts, in raw bytes. contentStart gives the same offset on raw text as on text
 * with CRLF made LF (it splits on LF, and a field name never holds a line break), so it runs on the
 * raw bytes' latin1 text, and only on a window of the head: the window doubles until the line it
 * stopped at ends inside it, so the offset is the one the whole text would give.
 */
function contentStartBytes(raw: Buffer): number {
  for (let window = 64 * 1024; ; window *= 2) {
    const text = raw.subarray(0, window).toString('latin1');
    const offset = contentStart(text);
    if (window >= raw.length || (offset < text.length && text.indexOf('\n', offset) >= 0)) return offset;
  }
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * sha256 (hex) of the message below its leading trace fields, line endings as LF, trailing line
 * breaks dropped. Computed over the bytes as they are, without a copy or a string of the message: a
 * 35 MB message once cost the API five copies of itself here (issue 15).
 */
export function contentSha256(input: Buffer | Uint8Array): string {
  const raw = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const begin = contentStartBytes(raw);
  let end = raw.length;
  // Trailing line breaks: an LF, or a CRLF counted as one (a CR is only ever the first of a pair).
  while (end > begin && raw[end - 1] === LF) end -= end - 2 >= begin && raw[end - 2] === CR ? 2 : 1;
  const hash = createHash('sha256');
  const scratch = Buffer.allocUnsafe(Math.min(64 * 1024, Math.max(1, end - begin)));
  let kept = 0;
  for (let i = begin; i < end; i++) {
    const byte = raw[i]!;
    if (byte === CR && i + 1 < end && raw[i + 1] === LF) continue;
    scratch[kept++] = byte;
    if (kept === scratch.length) {
      hash.update(scratch);
      kept = 0;
    }
  }
  if (kept > 0) hash.update(scratch.subarray(0, kept));
  return hash.digest('hex');
}
