/**
 * The idempotency key of one inbound email for one recipient: sha256 over the normalized Message-ID
 * and recipient. Without a Message-ID the raw bytes' sha256 stands in, so a byte-identical
 * redelivery is still recognized. The key names the workflow (see src/workflows/ids.ts).
 */
import { createHash } from 'node:crypto';
import { normalizeMessageId } from './message-id';
import { normalizeAddress } from './addresses';

export function idempotencyKey(input: { messageId: string | null | undefined; recipient: string; rawSha256: string }): string {
  const id = normalizeMessageId(input.messageId) ?? `raw:${input.rawSha256}`;
  return createHash('sha256').update(`${id}|${normalizeAddress(input.recipient)}`).digest('hex');
}
