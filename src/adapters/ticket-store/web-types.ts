/**
 * What the web view (src/api/web/) asks of the built-in store beyond the ports; implemented once
 * for both databases in web-store.ts. Types only, so types.ts can name them without a cycle.
 */
import type { HelpdeskTicket } from '../../ports/helpdesk';
import type { TicketPriority, TicketStatus } from '../../domain/vocabulary';

export interface WebSession {
  username: string;
  csrfToken: string;
  expires: string;
}

export interface WebTicketFilter {
  queue?: string;
  status?: TicketStatus;
  priority?: TicketPriority;
  /** Case-insensitive substring of the subject or the requester. */
  text?: string;
  /** Page size (1..100). */
  limit: number;
  offset: number;
}

/** A row of the ticket list: the port's view of the ticket, and who works on it. */
export interface WebTicketSummary extends Pick<HelpdeskTicket, 'id' | 'number' | 'subject' | 'requester' | 'queue' | 'status' | 'priority'> {
  assignee: string | null;
  updated: string;
}

export interface WebAuditEntry {
  at: string;
  username: string;
  action: string;
  target: string;
  detail: string;
}

/** An email that reached a ticket, for the link to its workflow. */
export interface WebTicketEmail {
  workflowId: string;
  subject: string;
  outcome: string;
  created: string;
}

export interface WebStore {
  createSession(input: { idSha256: string; username: string; csrfToken: string; created: string; expires: string }): Promise<void>;
  /** The session, when it exists and has not expired at `now`. */
  getSession(idSha256: string, now: string): Promise<WebSession | null>;
  deleteSession(idSha256: string): Promise<void>;
  /** Removes sessions expired before `now`; returns how many. */
  deleteExpiredSessions(now: string): Promise<number>;
  findTickets(filter: WebTicketFilter): Promise<{ tickets: WebTicketSummary[]; more: boolean }>;
  /** The ticket's assignee (null: nobody), or undefined when there is no such ticket. */
  ticketAssignee(ticketId: string): Promise<string | null | undefined>;
  /** False when there is no such ticket. */
  setAssignee(ticketId: string, assignee: string | null, now: string): Promise<boolean>;
  setPriority(ticketId: string, priority: TicketPriority, now: string): Promise<boolean>;
  /** The emails recorded against a ticket, oldest first. */
  emailsOfTicket(ticketId: string, limit: number): Promise<WebTicketEmail[]>;
  recordAudit(entry: WebAuditEntry): Promise<void>;
  listAudit(limit: number): Promise<WebAuditEntry[]>;
}
