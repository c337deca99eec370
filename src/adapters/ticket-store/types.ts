/**
 * Mailgate's built-in ticket store (the embedded default helpdesk). One database holds both ports:
 * it is the built-in `Helpdesk` (tickets, comments, attachments) and the `Ledger` (Mailgate's own
 * memory), plus the reads the built-in's own API and screens need (listing, full conversations,
 * attachment lookups). Other helpdesks implement `Helpdesk` only; the ledger stays here.
 */
import type { AttachmentRecord, Helpdesk, HelpdeskTicket, NewComment, NewTicket } from '../../ports/helpdesk';
import type { Ledger } from '../../ports/ledger';
import type { RetentionStore } from '../../ports/retention';
import type { TicketStatus } from '../../domain/vocabulary';
import type { WebStore } from './web-types';

export type * from '../../domain/vocabulary';
export type { AttachmentRecord, HelpdeskTicket } from '../../ports/helpdesk';
export type { WebAuditEntry, WebSession, WebStore, WebTicketEmail, WebTicketFilter, WebTicketSummary } from './web-types';
export type { AcknowledgementRecord, EmailRecord, RateEventInput, ThreadEntry, ThreadMatch } from '../../ports/ledger';

export interface StoredAttachment extends AttachmentRecord {
  id: string;
}

/** The built-in store's names for the port's inputs. */
export type CommentInput = NewComment;
export type CreateTicketInput = NewTicket;

/** A built-in ticket: the port's view, with its numbers sequential, plus what the built-in's screens show. */
export interface Ticket extends HelpdeskTicket {
  /** Further queues the same email reached, when one ticket serves several queues. */
  extraQueues: string[];
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

export interface TicketStore extends Helpdesk, Ledger, RetentionStore, WebStore {
  createTicket(input: CreateTicketInput): Promise<{ ticket: Ticket; created: boolean }>;
  findByExternalRef(originKey: string): Promise<Ticket | null>;
  addComment(ticketId: string, input: CommentInput): Promise<{ comment: Comment; created: boolean }>;
  getTicket(id: string): Promise<TicketWithComments | null>;
  getTicketByNumber(number: number): Promise<TicketWithComments | null>;
  setStatus(ticketId: string, status: TicketStatus): Promise<Ticket>;
  listTickets(input: ListTicketsInput): Promise<TicketPage>;
  getAttachment(id: string): Promise<StoredAttachment | null>;
}
