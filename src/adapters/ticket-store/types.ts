/**
 * Mailgate's built-in ticket store (the embedded default helpdesk). The interface is kept small so
 * other helpdesks can sit behind it later: find by message ids, create idempotently, comment
 * idempotently, attach by reference.
 */

export type TicketStatus = 'open' | 'pending' | 'closed';
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
}

export interface Ticket {
  id: string;
  /** Human-friendly, sequential. */
  number: number;
  subject: string;
  requester: string;
  queue: string;
  status: TicketStatus;
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
  ping(): Promise<void>;
  close(): Promise<void>;
}
