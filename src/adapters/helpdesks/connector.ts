/**
 * What a vendor connector does, below the Helpdesk port: the few calls that put Mailgate's ticket
 * and comments into a vendor's helpdesk. Everything Mailgate must remember (ids, numbers, threading,
 * who takes part, what was delivered) stays in Mailgate's own database; DeliveringHelpdesk
 * (./delivering-helpdesk.ts) combines the two into a Helpdesk. A connector never retries: it throws
 * the TypedErrors of ./http.ts and Temporal decides.
 */
import type { TicketPriority, TicketStatus } from '../../domain/vocabulary';

/** A clean file's bytes, uploaded with the comment (attachments mode "upload"). */
export interface VendorFile {
  filename: string;
  contentType: string;
  data: Uint8Array;
}

export interface VendorComment {
  /** The Message-ID: the connector's marker for finding a comment an interrupted call may have made. */
  messageId: string;
  author: string;
  text: string;
  html: string | null;
  internal: boolean;
  files: VendorFile[];
  /** Signed links to clean files (attachments mode "links"), listed in the comment. */
  links: { filename: string; url: string }[];
  /** The message's header block for audit (NewComment.headers), when the connector keeps it. */
  headers?: string;
}

export interface VendorTicket {
  /** Stable for this Mailgate ticket: the vendor's idempotency key where it has one (Zendesk). */
  idempotencyKey: string;
  /** Mailgate's ticket id: the vendor's external id / correlation field, the second line of dedupe. */
  externalRef: string;
  /** Mailgate's ticket number, shown to agents. */
  number: number;
  subject: string;
  requester: string;
  queue: string;
  priority: TicketPriority;
  tags: string[];
  /** The vendor id of the ticket this one follows up, when that one was delivered. */
  linkedExternalId: string | null;
  comment: VendorComment;
}

export type VendorStatus = TicketStatus | 'deleted';

/** A queue move as the vendor gets it: lower-case addresses. */
export interface VendorMove {
  /** The queue Mailgate's record had before (equal to `to` when a retry finds the record moved). */
  from: string;
  to: string;
  /** Every queue the ticket serves after the move (`to` and any noted ones): marks of others go. */
  serves: string[];
}

export interface VendorConnector {
  /** The vendor kind (`zendesk`, `generic-rest`), for messages. */
  readonly kind: string;
  createTicket(ticket: VendorTicket): Promise<{ externalId: string }>;
  /** The ticket an earlier, interrupted createTicket made for this reference, or null. */
  findTicket(externalRef: string): Promise<string | null>;
  addComment(externalId: string, comment: VendorComment): Promise<{ externalId: string }>;
  /** The comment an earlier, interrupted addComment made for this Message-ID, or null. */
  findComment(externalId: string, messageId: string): Promise<string | null>;
  /** The ticket's status as Mailgate's vocabulary; `deleted` when the vendor no longer has it. */
  ticketStatus(externalId: string): Promise<VendorStatus>;
  setStatus(externalId: string, status: TicketStatus): Promise<void>;
  /**
   * An operator moved the ticket from queue `from` to `to` (reprocess --queue): the vendor's ticket
   * shows it (a queue tag or label, a group). Idempotent. Mailgate's own internal note about the
   * move reaches the vendor as a comment besides.
   */
  moveTicket(externalId: string, move: VendorMove): Promise<void>;
  /** The same email also reached `queue`: the vendor's ticket shows it. Idempotent. */
  noteQueue(externalId: string, queue: string): Promise<void>;
  /** True when the connector stores a message's header block (VendorComment.headers). */
  readonly keepsHeaders?: boolean;
  ping(): Promise<void>;
}
