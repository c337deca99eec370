/**
 * The header block of an email, read from its raw message in the object store for a helpdesk that
 * keeps it for audit (NewComment.headers). Read inside the ticket step, never passed through the
 * workflow: activity inputs live in Temporal's history, and a header block may be tens of KiB.
 * Only the first bytes are read; the stream is dropped once the block (or the cap) is in hand.
 */
import type { ObjectStore } from '../adapters/object-store';
import { auditHeaderBlock, MAX_AUDIT_HEADER_BYTES } from '../domain/audit-headers';
import { ErrorType, TypedError } from '../domain/errors';
import type { RedactionPolicy } from '../domain/redact-text';
import { findMailStart, PREFIX_WINDOW } from '../parsing/mail-prefix';

/** Bytes read at most: a prefix the ingress tolerates (an mbox line, blank lines), then a capped block and its end. */
const READ_BYTES = PREFIX_WINDOW + MAX_AUDIT_HEADER_BYTES + 4;

/**
 * What the field says when the raw message is gone (retention, erasure, a reprocess long after): the
 * ticket or comment still goes out; an audit copy is never a reason to hold an email back.
 */
export const RAW_GONE = '[Mailgate: the raw message is no longer stored; its header block could not be kept]';

export async function loadAuditHeaders(store: Pick<ObjectStore, 'getStream'>, rawKey: string, policy: RedactionPolicy): Promise<string> {
  let stream;
  try {
    stream = await store.getStream(rawKey);
  } catch (error) {
    if (error instanceof TypedError && error.type === ErrorType.ObjectNotFound) return RAW_GONE;
    throw error;
  }
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
