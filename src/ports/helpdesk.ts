/**
 * The Helpdesk port: what Mailgate asks of any helpdesk, and nothing else. The built-in store is the
 * first implementation (src/adapters/ticket-store); vendor connectors (Zendesk, Jira Service
 * Management, Freshdesk, ServiceNow, generic REST) implement the same interface and pass the same
 * contract suite (test/contract/helpdesk.contract.ts).
 *
 * What a helpdesk does for Mailgate:
 *   createTicket      open a ticket for a requester, with the first message as its first comment,
 *                     idempotent by `externalRef` (Mailgate's key for the conversation)
 *   findByExternalRef the ticket an earlier createTicket made, if any
 *   addComment        a public reply or an internal note, idempotent by the message's Message-ID
 *   getTicket         read a ticket's status (and who asked, in which queue)
 *   setStatus         reopen (or close) a ticket
 *   noteQueue         note that the same email also reached another queue
 *   moveTicket        put a ticket in another queue (an operator's reprocess --queue)
 *   attachments       travel with a comment (`NewComment.attachments`): each carries its scan
 *                     verdict, and only a clean one has a storage key to link
 *   link              `NewTicket.linkedTicketId`: a follow-up of a closed ticket
 *
 * What a helpdesk is never asked to remember: Message-IDs for threading, acknowledgement
 * reservations, rate counters, replay claims, email records, undeliverable addresses. Those are the
 * Ledger's (src/ports/ledger.ts), always in Mailgate's own database, because a vendor's search lags
 * its writes and idempotency must not depend on it.
 *
 * Errors: an implementation throws its adapter's typed errors, each with a `type` from
 * src/domain/errors.ts (see `TypedError`): unavailable and rate-limited are transient (retried),
 * invalid input and not found are permanent, i.e. typed with one of NON_RETRYABLE_ERROR_TYPES (the
 * email parks with the vendor's message). An error without a type is retried like a transient one.
 */
import type { ScanStatus, TicketPriority, TicketStatus } from '../domain/vocabulary';

/** A file on a comment, with its scan verdict. Only a `clean` file has a `storageKey` to link. */
export interface AttachmentRecord {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Object-store key of the clean copy; null when quarantined or skipped (never linked). */
  storageKey: string | null;
  scanStatus: ScanStatus;
  /** Virus signature for infected files, the reason a file was skipped, or the scanner's word. */
  scanDetail: string | null;
  contentId: string | null;
  inline: boolean;
}

export interface NewComment {
  /** Normalized Message-ID (`local@domain`, no angle brackets, lower-cased domain): one comment per id. */
  messageId: string;
  author: string;
  text: string;
  /** Already sanitized HTML, or null. */
  html: string | null;
  /** Internal notes (virus findings, automated mail, system remarks) are not shown to the requester. */
  internal?: boolean;
  attachments: AttachmentRecord[];
  /**
   * The message's top-level header block as received, for an audit copy (ServiceNow keeps it in a
   * field): capped at MAX_AUDIT_HEADER_BYTES with a last line saying so, redacted per the queue.
   * Set only for a helpdesk that `keepsHeaders`; never for Mailgate's own notes.
   */
  headers?: string;
}

export interface NewTicket {
  /** Mailgate's key for the conversation: one ticket per key, however often this is called. */
  originKey: string;
  subject: string;
  requester: string;
  /** The queue (recipient address) the email came in on. */
  queue: string;
  /** The first message of the ticket, stored as its first comment. */
  comment: NewComment;
  /** Default 'normal'. */
  priority?: TicketPriority;
  /** Which routing/priority rules fired (e.g. "priority:keyword:outage"); stored lower-cased, unique. */
  tags?: string[];
  /** A ticket this one follows up (a reply to a closed ticket that opens a new one). */
  linkedTicketId?: string | null;
}

/** A ticket as Mailgate needs to see it: enough to thread, report and apply the closed-reply policy. */
export interface HelpdeskTicket {
  id: string;
  /** Human-friendly number, shown in subjects (`[MG-42]`) and signed into reply tokens. */
  number: number;
  subject: string;
  requester: string;
  queue: string;
  status: TicketStatus;
  priority: TicketPriority;
  tags: string[];
  linkedTicketId: string | null;
}

export interface Helpdesk {
  /**
   * Opens an `open` ticket. Idempotent by `originKey`: a repeat returns the existing ticket with
   * `created: false` and stores nothing more. A `linkedTicketId` naming no ticket is invalid input.
   */
  createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }>;
  /** The ticket `createTicket` made for this key, or null. */
  findByExternalRef(originKey: string): Promise<HelpdeskTicket | null>;
  /** Idempotent by (ticket, Message-ID). Unknown ticket → a not-found error. */
  addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }>;
  getTicket(ticketId: string): Promise<HelpdeskTicket | null>;
  /**
   * The file names already on the ticket, each with the Message-ID of the comment it came with, so a
   * new comment's files can be named uniquely within the ticket. Empty for an unknown ticket.
   */
  attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]>;
  getTicketByNumber(number: number): Promise<HelpdeskTicket | null>;
  /** Reopen or close; unknown ticket → a not-found error. */
  setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket>;
  /** Notes another queue on a ticket, when one ticket serves several queues (idempotent). Unknown ticket → a not-found error. */
  noteQueue(ticketId: string, queue: string): Promise<void>;
  /**
   * Puts the ticket in `queue` (it is no longer an extra queue of the ticket, if it was one).
   * Idempotent: a ticket already there is returned as it is. Unknown ticket → a not-found error.
   */
  moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket>;
  /** Cheap reachability check for /readyz. */
  ping(): Promise<void>;
  /**
   * Whether a comment for a new ticket of `queue`, or for the existing `ticketId`, keeps the
   * message's header block (`NewComment.headers`). Loading the block reads the raw message again,
   * so the ticket step asks first. Absent: never.
   */
  keepsHeaders?(where: { queue: string; ticketId: string | null }): Promise<boolean>;
}
