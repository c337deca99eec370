/**
 * The header block of an email, read from its raw message in the object store for a helpdesk that
 * keeps it for audit (NewComment.headers). Read inside the ticket step, never passed through the
 * workflow: activity inputs live in Temporal's history, and a header block may be tens of KiB.
 * Only the first bytes are read; the stream is dropped once the block (or the cap) is in hand.
 */
import type { ObjectStore } from '../adapters/object-store';
import { auditHeaderBlock, MAX_AUDIT_HEADER_BYTES } from '../domain/audit-headers';
import type { RedactionPolicy } from '../domain/redact-text';
import { findMailStart, PREFIX_WINDOW } from '../parsing/mail-prefix';

/** Bytes read at most: a prefix the ingress tolerates (an mbox line, blank lines), then a capped block and its end. */
const READ_BYTES = PREFIX_WINDOW + MAX_AUDIT_HEADER_BYTES + 4;

export async function loadAuditHeaders(store: Pick<ObjectStore, 'getStream'>, rawKey: string, policy: RedactionPolicy): Promise<string> {
  const stream = await store.getStream(rawKey);
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = true;
  try {
    for await (const chunk of stream) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      chunks.push(bytes);
      size += bytes.length;
      if (size >= READ_BYTES) {
        ended = false;
        break;
      }
    }
  } finally {
    stream.destroy();
  }
  const head = Buffer.concat(chunks).subarray(0, READ_BYTES);
  const start = findMailStart(head);
  if (start.bodyOnly) return '';
  return auditHeaderBlock(head.subarray(start.offset), { complete: ended && head.length === size, policy });
}
