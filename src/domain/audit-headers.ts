/**
 * The email's top-level header block as received, for an audit copy on a vendor ticket (ServiceNow
 * keeps it in a field). Agents and auditors read it to see the Received chain, authentication
 * results and the original addressing, so it is the raw block, not the parser's normalized view.
 *
 * Size is the threat: a message may carry megabytes of headers (the ingress caps them at
 * maxHeaderBytes), and a vendor field has a fixed length. The block is cut at a named limit, at a
 * line boundary, and says so in its last line. Redaction follows the queue's policy as the parsed
 * document's headers do (src/domain/redact-document.ts): a field whose decoded value holds something
 * to redact is kept decoded and redacted; other fields stay as they came.
 */
import { decodedHeader } from './redact-document';
import { redactText, type RedactionPolicy } from './redact-text';

/** The most bytes of one message's header block kept for audit (a ServiceNow string field holds 65,000). */
export const MAX_AUDIT_HEADER_BYTES = 16 * 1024;

/** The last line of a block that was cut: auditors must never take a cut block for the whole. */
export function truncationLine(keptBytes: number, limit: number): string {
  return `[Mailgate: header block truncated: first ${keptBytes} bytes kept, limit ${limit}]`;
}

/** Where the header block of `head` ends (the index of its empty line), or -1 when `head` holds no end. */
function blockEnd(head: string): number {
  const match = /(?:^|\r?\n)\r?\n/.exec(head);
  return match ? match.index : -1;
}

/**
 * The audit copy of a header block. `head` is the message from its header block's first byte (latin1
 * never fails on 8-bit bytes); `complete` is false when `head` stops before the message does.
 */
export function auditHeaderBlock(head: Buffer, options: { complete: boolean; limit?: number; policy: RedactionPolicy }): string {
  const limit = options.limit ?? MAX_AUDIT_HEADER_BYTES;
  if (!Number.isSafeInteger(limit) || limit < 256) throw new RangeError(`audit header limit must be an integer ≥ 256, got ${limit}`);
  const text = decode(head);
  const end = blockEnd(text);
  let block = (end < 0 ? text : text.slice(0, end)).replace(/\r\n/g, '\n');
  let cut = false;
  if (Buffer.byteLength(block) > limit) {
    const bytes = Buffer.from(block).subarray(0, limit).toString('utf8').replace(/\uFFFD$/, '');
    const lastBreak = bytes.lastIndexOf('\n');
    block = lastBreak > 0 ? bytes.slice(0, lastBreak) : bytes;
    cut = true;
  } else if (end < 0 && !options.complete) {
    // The bytes read stopped inside the block: what is here is a part only.
    cut = true;
  }
  const fields = redactFields(block.replace(/\n+$/, ''), options.policy);
  return cut ? `${fields}\n${truncationLine(Buffer.byteLength(block), limit)}` : fields;
}

/** UTF-8 when the bytes are UTF-8 (RFC 6532 allows it in headers), else latin1 so no byte is lost. */
function decode(head: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    // A cut may split a UTF-8 sequence at the very end: that alone does not make the block latin1.
    for (let drop = 1; drop <= 3 && drop < head.length; drop++) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - drop));
      } catch {
        continue;
      }
    }
    return head.toString('latin1');
  }
}

function redactFields(block: string, policy: RedactionPolicy): string {
  if (policy.kinds.length === 0 || block === '') return block;
  const fields: string[] = [];
  for (const line of block.split('\n')) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  return fields
    .map((field) => {
      const colon = field.indexOf(':');
      if (colon <= 0) return redactText(field, policy).text;
      const value = field.slice(colon + 1);
      const redacted = redactText(decodedHeader(value.replace(/\n[ \t]/g, ' ').trim()), policy);
      return redacted.redactions.length > 0 ? `${field.slice(0, colon)}: ${redacted.text}` : field;
    })
    .join('\n');
}
