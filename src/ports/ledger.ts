/**
 * The Ledger port: Mailgate's own memory, kept in Mailgate's database whichever helpdesk holds the
 * tickets. Idempotency and threading never depend on a helpdesk's search index (vendors' searches lag
 * their writes), so everything Mailgate must remember to stay exactly-once lives here:
 *
 *   thread index       Message-ID → ticket, for threading replies (inbound, acknowledgement, outbound)
 *   participants       who already takes part in a ticket (every thread rule but a signed token asks):
 *                      requester, public comment authors, acknowledgement recipients, and the
 *                      To/Cc parties of messages accepted onto the ticket
 *   acknowledgements   one reservation per workflow, marked sent once the mail went out
 *   rate counters      events per key in a window, idempotent per event
 *   undeliverable      addresses that hard-bounced our mail, each mark with an expiry
 *   replay claims      request signatures seen once at the ingress
 *   email records      the durable outcome of every email (outlives Temporal's retention)
 *   Message-ID clashes two different messages that arrived under one Message-ID, on both emails
 *   ticket moves       an operator put a ticket in another queue (reprocess --queue)
 *   notifications      each chat message or page sent once (by delivery key), a ticket's Slack
 *                      thread, and the pages to resolve when the ticket closes (issue 19)
 *   subject index      digests of the normalised subjects of a ticket's messages, dated to its
 *                      latest message (threading by subject, rules option threadBySubject)
 *   deliveries         per connector, a ticket's external id and each comment's delivery: "in
 *                      flight" before the vendor call, "done" after, so a worker killed mid-call
 *                      never creates twice (src/adapters/helpdesks/delivering-helpdesk.ts)

 *   poll cursors       where each poller stands: an IMAP mailbox's (UIDVALIDITY, last UID), a
 *                      provider event API's since-cursor (src/ingress/pollers)
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
  /** Null when the email failed or was discarded before it was classified (parked at parsing). */
  emailClass: EmailClass | null;
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

/**
 * Two different messages arrived under one Message-ID and queue (a forger's, or a mailer reusing
 * ids): the later one runs under a key of its own, and each email names the other.
 */
export interface MessageIdClash {
  /** The email this note is on. */
  workflowId: string;
  /** The other email with the same Message-ID and different content. */
  otherWorkflowId: string;
  messageId: string;
  /** ISO-8601 time the clash was recorded. */
  created: string;
}

/** An operator put a ticket in another queue (reprocess --queue): from where, to where, by whom. */
export interface TicketMove {
  ticketId: string;
  fromQueue: string;
  toQueue: string;
  /** The workflow run that moved it (a reprocess run's own id). */
  workflowId: string;
  /** Who asked for the move, as the admin API names the operator. */
  by: string;
}

/** An acknowledgement as the ledger recorded it, looked up by its Message-ID (a bounce names it). */
export interface SentAcknowledgement {
  ticketId: string;
  /** The address it was sent to, lower-cased as recorded. */
  recipient: string;
  state: 'reserved' | 'sent';
}

/** A message with this subject landed on the ticket (threading by subject, src/domain/thread-by-subject.ts). */
export interface SubjectEntry {
  ticketId: string;
  /** An opaque digest of the normalised subject: the ledger never holds the subject's text. */
  subjectKey: string;
  /** ISO-8601 time of the message. */
  at: string;
}

export interface SubjectLookup {
  subjectKey: string;
  /** The ticket's queue, or one it was noted in (one_ticket). */
  queue: string;
  /** ISO-8601: only tickets whose latest message is at or after this time. */
  since: string;
  limit: number;
}

export interface SubjectCandidate {
  ticketId: string;
  ticketNumber: number;
  /** ISO-8601 time of the ticket's latest message. */
  lastAt: string;
}

export interface ParticipantsInput {
  ticketId: string;
  /** Addresses as written; stored by mailbox (src/domain/mailbox.ts). */
  addresses: string[];
}

export interface UndeliverableMarkInput {
  address: string;
  reason: string;
  /** ISO-8601 time of the bounce. */
  at: string;
  /** ISO-8601 time after which the mark no longer suppresses anything. */
  expires: string;
}

export interface UndeliverableMark {
  address: string;
  reason: string;
  since: string;
  expires: string;
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

/** A notification that went out (issue 19): sent once per key, resolved when its ticket closes. */
export interface NotificationRecord {
  /** The delivery key (src/domain/notify-routes.ts deliveryKey). */
  key: string;
  ticketId: string | null;
  /** The target's name in the rules file. */
  target: string;
  kind: string;
  /** What the target calls it: a Slack message ts, a PagerDuty dedup_key, an Opsgenie alias; null for a webhook. */
  ref: string | null;
  /** ISO-8601 time it was sent. */
  created: string;
  /** ISO-8601 time the page was resolved or the alert closed; null while open. */
  resolved: string | null;
}

/** One thing delivered to a connector: a ticket (`messageId` null) or a comment on it. */
export interface DeliveryKey {
  /** The connector's configured name (HELPDESK_CONNECTORS). */
  connector: string;
  /** Mailgate's ticket (the built-in record that threads the conversation). */
  ticketId: string;
  /** The comment's Message-ID; null for the ticket itself. */
  messageId: string | null;
}

export interface DeliveryClaim extends DeliveryKey {
  /** Who delivers (a worker's activity attempt); a claim held by another owner is busy until its lease ends. */
  owner: string;
  /** ISO-8601 time now. */
  at: string;
  /** ISO-8601 time until which no other owner may take the claim over. */
  leaseUntil: string;
}

/**
 * done: delivered (with the vendor's id); claimed: the caller delivers now (`resumed` when an earlier
 * attempt may have reached the vendor, so it looks there first); busy: another owner's lease holds.
 */
export type DeliveryState =
  | { state: 'done'; externalId: string }
  | { state: 'claimed'; resumed: boolean; externalId: string | null }
  | { state: 'busy' };

/**
 * Where an IMAP poller stands in one mailbox: every UID up to `lastUid` under `uidValidity` was
 * accepted (or refused for good). UIDs are only meaningful with their UIDVALIDITY (RFC 9051 §2.3.1.1).
 */
export interface MailboxCursor {
  /** The poller's configured name (which account), never a credential. */
  account: string;
  mailbox: string;
  /** UIDVALIDITY as decimal text (a 32-bit unsigned value; imapflow reports it as a BigInt). */
  uidValidity: string;
  lastUid: number;
}

/** Where a provider event poller stands: an opaque position the provider's API pages from. */
export interface SinceCursor {
  /** The poller's configured name. */
  source: string;
  /** The provider's own position (Mailgun: an event timestamp), as text. */
  since: string;
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
   * True when `address` already takes part in the ticket: its requester, the author of a public
   * comment on it, the recipient of an acknowledgement, or a party recorded by `addParticipants`.
   * Compared by mailbox (case, plus-tag and Gmail dots do not matter; src/domain/mailbox.ts). The
   * author of an internal note does not count: a stranger's message kept as a note must not make
   * the stranger a participant. False for an unknown ticket.
   */
  isParticipant(ticketId: string, address: string): Promise<boolean>;
  /**
   * Records that a message with this subject key landed on the ticket, and dates every subject key
   * of the ticket to the later of its time and `at` (the window runs from the ticket's latest
   * message). Idempotent.
   */
  indexSubject(entry: SubjectEntry): Promise<void>;
  /** Tickets with this subject key in the queue whose latest message is not older than `since`, newest first, at most `limit`. */
  findTicketsBySubject(input: SubjectLookup): Promise<SubjectCandidate[]>;
  /** Records parties of a message accepted onto the ticket (its To and Cc). Idempotent. */
  addParticipants(input: ParticipantsInput): Promise<void>;
  /** The acknowledgement whose Message-ID this is, or null when Mailgate never reserved one with it. */
  findAcknowledgement(messageId: string): Promise<SentAcknowledgement | null>;
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
  /**
   * An address that hard-bounced: no further acknowledgements go to it until the mark expires.
   * Idempotent while a mark is in force (keeps its first reason and expiry); an expired mark is
   * replaced by the new one.
   */
  markUndeliverable(input: UndeliverableMarkInput): Promise<void>;
  /** The mark in force for `address` at the ISO-8601 time `at`, or null (none, or expired). */
  isUndeliverable(address: string, at: string): Promise<{ reason: string; since: string; expires: string } | null>;
  /** Marks in force at `at`, newest first, at most `limit`. */
  listUndeliverable(input: { at: string; limit: number }): Promise<UndeliverableMark[]>;
  /** Removes the mark of `address` (an operator's decision); false when there was none. */
  clearUndeliverable(address: string): Promise<boolean>;
  /**
   * True the first time `key` is claimed, false ever after (until claims older than `forgetBefore`
   * are forgotten). The ingress claims each request signature, so a replay is refused.
   */
  claimOnce(key: string, at: string, forgetBefore: string): Promise<boolean>;
  /** Gives a claim back (the request it guarded failed and may be retried as it was). */
  releaseClaim(key: string): Promise<void>;
  /** Records the answer the claiming request got (opaque text); a claim that is gone is left alone. */
  answerClaim(key: string, answer: string): Promise<void>;
  /** The claim of `key`: null when there is none, `answer` null while its request is in flight. */
  claimAnswer(key: string): Promise<{ answer: string | null } | null>;
  /** Upsert by workflow id: the latest outcome of that email wins. */
  recordEmail(record: EmailRecord): Promise<void>;
  getEmail(workflowId: string): Promise<(EmailRecord & { created: string; updated: string }) | null>;
  /** Records a clash on both emails (a note each, naming the other). Idempotent. */
  recordMessageIdClash(input: Omit<MessageIdClash, 'created'>): Promise<void>;
  /** The clashes noted on an email, oldest first; empty when none. */
  messageIdClashes(workflowId: string): Promise<MessageIdClash[]>;
  /**
   * Records that a ticket was moved to another queue. Idempotent by ticket, workflow and target
   * queue (a retried activity records one move, with the first call's origin queue).
   */
  recordTicketMove(move: TicketMove): Promise<void>;
  /** A ticket's recorded moves, oldest first; empty when none. */
  ticketMoves(ticketId: string): Promise<(TicketMove & { created: string })[]>;
  /** The notification sent under `key`, if any. */
  findNotification(key: string): Promise<NotificationRecord | null>;
  /** Records a sent notification; a second record under the same key changes nothing. */
  recordNotification(record: Omit<NotificationRecord, 'created' | 'resolved'>): Promise<void>;
  /** The ticket's notifications, oldest first. */
  ticketNotifications(ticketId: string): Promise<NotificationRecord[]>;
  /** Marks a page resolved (an alert closed); false when it was already resolved or is unknown. */
  markNotificationResolved(key: string, at: string): Promise<boolean>;

  /**
   * Claims a delivery before the vendor call: `done` when it was delivered, else the caller holds it
   * (a first claim, or a lease that ran out: `resumed`), else `busy`.
   */
  claimDelivery(claim: DeliveryClaim): Promise<DeliveryState>;
  /** Records the delivery done with the vendor's id (idempotent; a done delivery keeps its first id). */
  completeDelivery(key: DeliveryKey & { externalId: string; at: string }): Promise<void>;
  /** The vendor's id of a delivered ticket or comment, or null. */
  deliveredId(key: DeliveryKey): Promise<string | null>;

  /** The mailbox's cursor, or null before its first message. */
  mailboxCursor(account: string, mailbox: string): Promise<MailboxCursor | null>;
  /**
   * Moves the mailbox's cursor forward and returns the one stored. Under the same UIDVALIDITY the
   * last UID never goes back (a late retry of an older batch cannot rewind it); a different
   * UIDVALIDITY replaces the cursor (the mailbox was recreated or renumbered).
   */
  advanceMailboxCursor(cursor: MailboxCursor): Promise<MailboxCursor>;
  /** The poller's since-cursor, or null before its first page. */
  sinceCursor(source: string): Promise<SinceCursor | null>;
  /** Stores the poller's since-cursor (the poller is its only writer: one workflow per source). */
  saveSinceCursor(cursor: SinceCursor): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
