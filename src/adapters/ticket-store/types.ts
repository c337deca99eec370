/**
 * Mailgate's built-in ticket store (the embedded default helpdesk). The interface is kept small so
 * other helpdesks can sit behind it later: find by message ids, create idempotently, comment
 * idempotently, attach by reference.
 */

export type TicketStatus = 'open' | 'pending' | 'closed';
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';
export type ScanStatus = 'clean' | 'infected' | 'skipped';
/** Why a Message-ID is in the thread index. */
export type ThreadEntryKind = 'inbound' | 'acknowledgement' | 'outbound';

export interface AttachmentRecord {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Object-store key of the clean copy; null when quarantined or skipped (never linked). */
  storageKey: string | null;
  scanStatus: ScanStatus;
  /** Virus signature for infected files, or the reason a file was skipped. */
  scanDetail: string | null;
  contentId: string | null;
  inline: boolean;
}

export interface StoredAttachment extends AttachmentRecord {
  id: string;
}

export interface CommentInput {
  /** Normalized Message-ID (`local@domain`, no angle brackets, lower-cased domain). */
  messageId: string;
  author: string;
  text: string;
  /** Already sanitized HTML, or null. */
  html: string | null;
  /** Internal notes (virus findings, system remarks) are not from the requester. */
  internal?: boolean;
  attachments: AttachmentRecord[];
}

export interface CreateTicketInput {
  /** Idempotency key of the inbound email (sha256 of Message-ID and recipient): one ticket per key. */
  originKey: string;
  subject: string;
  requester: string;
  /** The recipient address the email came in on. */
  queue: string;
  /** The first message of the ticket, stored as its first comment. */
  comment: CommentInput;
  /** Default 'normal'. */
  priority?: TicketPriority;
  /** Which routing/priority rules fired (e.g. "priority:keyword:outage"); stored lower-cased, unique. */
  tags?: string[];
  /** A ticket this one follows up (a reply to a closed ticket that opens a new one). */
  linkedTicketId?: string | null;
}

export interface Ticket {
  id: string;
  /** Human-friendly, sequential. */
  number: number;
  subject: string;
  requester: string;
  queue: string;
  status: TicketStatus;
  priority: TicketPriority;
  tags: string[];
  /** Further queues the same email reached, when one ticket serves several queues. */
  extraQueues: string[];
  linkedTicketId: string | null;
  created: string;
  updated: string;
}

export interface Comment {
  id: string;
  ticketId: string;
  messageId: string;
  author: string;
  text: string;
  html: string | null;
  internal: boolean;
  created: string;
  attachments: StoredAttachment[];
}

export interface TicketWithComments extends Ticket {
  comments: Comment[];
}

export interface ThreadMatch {
  ticketId: string;
  ticketNumber: number;
  /** The Message-ID that matched. */
  messageId: string;
}

export interface ListTicketsInput {
  queue?: string;
  requester?: string;
  status?: TicketStatus;
  /** 1..100, default 50. */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface TicketPage {
  tickets: Ticket[];
  nextCursor: string | null;
}

export interface AcknowledgementRecord {
  /** Workflow id of the inbound email: at most one acknowledgement per workflow. */
  workflowId: string;
  ticketId: string;
  messageId: string;
  recipient: string;
}

export type EmailClass = 'human' | 'auto_reply' | 'auto_generated' | 'bounce' | 'own_loop';
export type EmailOutcomeRecord = 'ticket_created' | 'comment_added' | 'note_added' | 'suppressed' | 'rejected' | 'failed';

/** The durable record of one inbound email (outlives Temporal's retention of the workflow). */
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
}

export interface RateEventInput {
  /** What is counted, e.g. "inbound-ticket:alice@example.org" or "ack:alice@example.org". */
  key: string;
  /** Unique per counted event (the workflow id): a retried activity never counts twice. */
  eventId: string;
  /** ISO-8601 time of the event. */
  at: string;
  /** Count events of `key` at or after this ISO-8601 time. */
  windowStart: string;
}

export interface TicketStore {
  /** Creates or upgrades the schema; safe to run from several processes at once. */
  migrate(): Promise<void>;
  /**
   * The first of `messageIds` (in the given order) that the thread index knows, preferring an entry
   * of `queue` when one Message-ID belongs to tickets in several queues.
   */
  findThread(messageIds: string[], queue: string): Promise<ThreadMatch | null>;
  /** Idempotent by `originKey`: a repeat returns the existing ticket with `created: false`. */
  createTicket(input: CreateTicketInput): Promise<{ ticket: Ticket; created: boolean }>;
  /** Idempotent by (ticket, Message-ID); also indexes the Message-ID for threading. */
  addComment(ticketId: string, input: CommentInput): Promise<{ comment: Comment; created: boolean }>;
  /** Records a Message-ID Mailgate sent (acknowledgements) or saw, so replies to it thread. */
  indexMessageId(entry: { messageId: string; ticketId: string; queue: string; kind: ThreadEntryKind }): Promise<void>;
  /**
   * Reserves the acknowledgement of a workflow before it is sent. Returns the existing record's
   * state when one exists: `sent` means the mail already went out and must not be sent again.
   */
  reserveAcknowledgement(record: AcknowledgementRecord): Promise<{ state: 'reserved' | 'sent'; messageId: string }>;
  markAcknowledgementSent(workflowId: string): Promise<void>;
  getTicket(id: string): Promise<TicketWithComments | null>;
  getTicketByNumber(number: number): Promise<TicketWithComments | null>;
  listTickets(input: ListTicketsInput): Promise<TicketPage>;
  getAttachment(id: string): Promise<StoredAttachment | null>;
  /** Sets status (reopen, close); bumps `updated`. Unknown ticket → TicketNotFoundError. */
  setStatus(ticketId: string, status: TicketStatus): Promise<Ticket>;
  /** Notes another queue on a ticket (idempotent). */
  noteQueue(ticketId: string, queue: string): Promise<void>;
  /**
   * True when `address` already takes part in the ticket: its requester, the author of a comment,
   * or the recipient of an acknowledgement. Compared lower-cased.
   */
  isParticipant(ticketId: string, address: string): Promise<boolean>;
  /** Records the event (idempotent by key + eventId) and returns how many events of `key` fall in the window, this one included. */
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
