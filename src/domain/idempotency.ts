/**
 * The idempotency key of one inbound email for one queue, and when a second delivery under a key is
 * a duplicate. The key names the workflow (see src/workflows/ids.ts).
 *
 * Keyed on the queue, not the spelling of the recipient (issue 12, class 5): `support@`, `help@`
 * (its alias) and `support+x@` are one queue and one workflow. For mail sent to the queue's own
 * address the key is the one Mailgate has always computed (sha256 of "<Message-ID>|<address>"), so
 * redeliveries of mail accepted before keys moved to queues are still recognized.
 *
 * A Message-ID alone does not identify a message (issue 12, class 11): real mailers reuse them, and a
 * forger can send first under someone else's. So the first delivery records its content hash
 * (src/domain/content-hash.ts) with its workflow; a later delivery under the same key is a duplicate
 * only when its content hash is the same. Otherwise it runs under `contentKey`, which includes its
 * content hash, and the clash is recorded on both. Without a Message-ID the content hash stands in.
 */
import { createHash } from 'node:crypto';
import { normalizeAddress } from './addresses';
import { normalizeMessageId } from './message-id';

export interface KeyInput {
  messageId: string | null | undefined;
  /** The queue the email lands in (src/domain/recipients.ts). */
  queue: string;
  /** sha256 of the message below its trace fields (src/domain/content-hash.ts). */
  contentSha256: string;
}

function identity(input: KeyInput): string {
  return normalizeMessageId(input.messageId) ?? `content:${input.contentSha256}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The first delivery's key: sha256 of "<normalized Message-ID>|<queue>". */
export function idempotencyKey(input: KeyInput): string {
  return sha256(`${identity(input)}|${normalizeAddress(input.queue)}`);
}

/** The key of a different message that arrived under an already used Message-ID. */
export function contentKey(input: KeyInput): string {
  return sha256(`${identity(input)}|${normalizeAddress(input.queue)}|content:${input.contentSha256}`);
}

/**
 * What a delivery is when its key is already taken. `recorded` is the content hash the existing
 * workflow was started with, or null for one started before content hashes were recorded: that one
 * is judged as Mailgate always did (a duplicate), since no content is known to compare.
 */
export function deliveryVerdict(recorded: string | null, incoming: string): 'duplicate' | 'clash' {
  return recorded === null || recorded === incoming ? 'duplicate' : 'clash';
}
