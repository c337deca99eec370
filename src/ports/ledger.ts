/**
 * The Ledger port: Mailgate's own memory, kept in Mailgate's database whichever helpdesk holds the
 * tickets. Idempotency and threading never depend on a helpdesk's search index (vendors' searches lag
 * their writes), so everything Mailgate must remember to stay exactly-once lives here:
 *
 *   thread index       Message-ID → ticket, for threading replies (inbound, acknowledgement, outbound)
 *   participants       who already takes part in a ticket (the subject-token rule asks)
 *   acknowledgements   one reservation per workflow, marked sent once the mail went out
 *   rate counters      events per key in a window, idempotent per event
 *   undeliverable      addresses that hard-bounced our mail
 *   replay claims      request signatures seen once at the ingress
 *   email records      the durable outcome of every email (outlives Temporal's retention)
 *
 * Implementations: SQLite and PostgreSQL (src/adapters/ticket-store), both passing
 * test/contract/ledger.contract.ts. Both keep the ledger in the built-in store's database and refer
 * to its tickets: a thread entry or acknowledgement must name a built-in ticket, and the requester
 * and comment authors that `isParticipant` knows are the built-in helpdesk's records. Pairing them
 * with a vendor helpdesk needs a ticket map of the ledger's own first.
 */
import type { EmailClass, EmailOutcomeRecord, ThreadEntryKind } from '../domain/vocabulary';

export interface ThreadMatch {
  ticketId: string;
  ticketNumber: number;
  /** The Message-ID that matched. */
  messageId: string;
}

export interface ThreadEntry {
  messageId: string;
  ticketId: string;
  queue: string;
  kind: ThreadEntryKind;
}

export interface AcknowledgementRecord {
  /** Workflow id of the inbound email: at most one acknowledgement per workflow. */
  workflowId: string;
  ticketId: string;
  messageId: string;
  recipient: string;
}

/** The durable record of one inbound email. */
export interface EmailRecord {
  workflowId: string;
  messageId: string | null;
  queue: string;
  sender: string | null;
  subject: string;
  emailClass: EmailClass;
  /** The classification and threading rules that matched, in order. */
  evidence: string[];
  outcome: EmailOutcomeRecord;
  /** Why, for suppressed/rejected/failed, in words an operator can act on. */
  reason: string | null;
  ticketId: string | null;
  /**
   * sha256 of the raw message (its object is raw/<sha256>), so retention and erasure find the
   * stored bytes of an email. Absent on records written before it was kept.
   */
  rawSha256?: string | null;
}

export interface RateEventInput {
  /** What is counted, e.g. "new-ticket:alice@example.org" or "ack:alice@example.org". */
  key: string;
  /** Unique per counted event (the workflow id): a retried activity never counts twice. */
  eventId: string;
  /** ISO-8601 time of the event. */
  at: string;
  /** Count events of `key` at or after this ISO-8601 time. */
  windowStart: string;
}

export interface Ledger {
  /** Creates or upgrades the schema; safe to run from several processes at once. */
  migrate(): Promise<void>;
  /**
   * The first of `messageIds` (in the given order) that the thread index knows, preferring an entry
   * of `queue` when one Message-ID belongs to tickets in several queues, else the oldest entry.
   */
  findThread(messageIds: string[], queue: string): Promise<ThreadMatch | null>;
  /** Records a Message-ID Mailgate saw or sent, so replies to it thread. Idempotent. */
  indexMessageId(entry: ThreadEntry): Promise<void>;
  /**
   * True when `address` already takes part in the ticket: its requester, the author of a message on
   * it, or the recipient of an acknowledgement. Compared lower-cased. False for an unknown ticket.
   */
  isParticipant(ticketId: string, address: string): Promise<boolean>;
  /**
   * Reserves the acknowledgement of a workflow before it is sent. Returns the existing record's
   * state when one exists: `sent` means the mail already went out and must not be sent again.
   */
  reserveAcknowledgement(record: AcknowledgementRecord): Promise<{ state: 'reserved' | 'sent'; messageId: string }>;
  /** Marks the workflow's reservation sent; again is harmless. Throws when nothing is reserved for it. */
  markAcknowledgementSent(workflowId: string): Promise<void>;
  /**
   * Records the event (idempotent by key + eventId) and returns how many events of `key` fall in the
   * window, this one included. Concurrent calls for one key are serialized: each sees every event
   * recorded before it, so two callers cannot both pass a limit.
   */
  countRateEvent(input: RateEventInput): Promise<number>;
  /** Counts events of `key` since `windowStart` without recording one. */
  peekRateEvents(key: string, windowStart: string): Promise<number>;
  /** An address that hard-bounced: no further acknowledgements go to it. Idempotent; keeps the first reason. */
  markUndeliverable(address: string, reason: string): Promise<void>;
  isUndeliverable(address: string): Promise<{ reason: string; since: string } | null>;
  /**
   * True the first time `key` is claimed, false ever after (until claims older than `forgetBefore`
   * are forgotten). The ingress claims each request signature, so a replay is refused.
   */
  claimOnce(key: string, at: string, forgetBefore: string): Promise<boolean>;
  /** Gives a claim back (the request it guarded failed and may be retried as it was). */
  releaseClaim(key: string): Promise<void>;
  /** Upsert by workflow id: the latest outcome of that email wins. */
  recordEmail(record: EmailRecord): Promise<void>;
  getEmail(workflowId: string): Promise<(EmailRecord & { created: string; updated: string }) | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
