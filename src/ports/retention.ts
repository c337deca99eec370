/**
 * The Retention port: what the retention sweep and a requester's erasure ask of Mailgate's database.
 * Implemented by the built-in store (SQLite and PostgreSQL), both passing
 * test/contract/retention.contract.ts. Timestamps are ISO-8601 instants.
 *
 * Erasure deletes the tickets a requester opened (with all their comments and attachments: the
 * conversation is about that person's request), and redacts the comments that person wrote on other
 * people's tickets (text, HTML, author, their attachments), so the other requester's conversation
 * keeps its shape and its history of who answered when. Ledger rows about the requester go: email
 * records, thread index entries of erased tickets and messages, acknowledgements to them, their rate
 * counters and undeliverable mark. The audit record keeps who asked, when, and the counts; the
 * requester appears in it only as a keyed digest, so the audit can answer "was X erased?" for
 * someone who already knows X, and tells nobody else who X was.
 */

export interface ErasureCounts {
  tickets: number;
  commentsRedacted: number;
  attachmentRows: number;
  emailRecords: number;
  threadEntries: number;
  acknowledgements: number;
  rateEvents: number;
  undeliverable: number;
  rawObjects: number;
  parsedObjects: number;
  attachmentObjects: number;
}

/** What erasing one mailbox touches: the rows (counted) and the objects (listed) to delete first. */
export interface ErasurePlan {
  counts: ErasureCounts;
  /** Raw sha256s of the requester's emails that no other sender's email shares. */
  rawSha256: string[];
  /** Attachment and quarantine keys only the erased rows link. */
  objectKeys: string[];
}

export interface ErasureAudit {
  id: string;
  /** Who asked (the operator's name as given to the admin API or CLI), never the requester. */
  requestedBy: string;
  requestedAt: string;
  /** HMAC-SHA256 of the normalized mailbox under the signing key. */
  subjectDigest: string;
  dryRun: boolean;
  counts: ErasureCounts;
  completedAt: string;
}

export interface RetentionStore {
  /** The given raw sha256s that an email record updated at or after `since` names. */
  rawUsedSince(rawSha256: string[], since: string): Promise<string[]>;
  /** The given storage keys that an attachment row on a comment created at or after `since` links. */
  keysLinkedSince(keys: string[], since: string): Promise<string[]>;
  /** Unlinks deleted objects: attachment rows naming these keys lose their storage key (no link is shown). */
  forgetStorageKeys(keys: string[]): Promise<number>;
  /** Deletes up to `limit` email records last updated before `before`; returns how many. */
  purgeEmailRecords(before: string, limit: number): Promise<number>;
  /** What erasing `mailbox` (as normalized by mailboxOf) would touch. Changes nothing. */
  planErasure(mailbox: string): Promise<ErasurePlan>;
  /** Deletes and redacts the mailbox's rows in one transaction; again is harmless (counts 0). */
  eraseRows(mailbox: string): Promise<ErasureCounts>;
  /** Idempotent by id: the first record of an erasure stays. */
  recordErasure(audit: ErasureAudit): Promise<void>;
  getErasure(id: string): Promise<ErasureAudit | null>;
}

export const EMPTY_ERASURE_COUNTS: Readonly<ErasureCounts> = Object.freeze({
  tickets: 0,
  commentsRedacted: 0,
  attachmentRows: 0,
  emailRecords: 0,
  threadEntries: 0,
  acknowledgements: 0,
  rateEvents: 0,
  undeliverable: 0,
  rawObjects: 0,
  parsedObjects: 0,
  attachmentObjects: 0,
});
