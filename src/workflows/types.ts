/** The inbound-email workflow's input, state and query: shared by the workflow, worker and API. */
import { defineQuery } from '@temporalio/workflow';
import type { EmailClass, ScanStatus, TicketPriority } from '../adapters/ticket-store/types';

/** References only: the raw bytes stay in the object store (claim check). */
export interface ProcessInboundEmailInput {
  rawKey: string;
  rawSha256: string;
  rawSize: number;
  /** The address the email was delivered to. */
  recipient: string;
  /** The queue it lands in (the recipient, or the catch-all). */
  queue: string;
  idempotencyKey: string;
  envelopeFrom: string | null;
  receivedAt: string;
  /** Policy snapshot from the rules file, fixed for this email's run (and short in tests). */
  policy?: {
    /** How long a reply whose parent is unknown waits for it; 0 = not at all. Default 120. */
    waitForParentSeconds?: number;
    replyTokens?: boolean;
  };
}

export type EmailStep =
  | 'received'
  | 'parsing'
  | 'classifying'
  | 'scanning'
  | 'storing'
  | 'threading'
  | 'ticketing'
  | 'acknowledging'
  | 'done';

export type EmailOutcome = 'pending' | 'ticket_created' | 'comment_added' | 'note_added' | 'suppressed' | 'rejected' | 'failed';

export interface EmailState {
  step: EmailStep;
  outcome: EmailOutcome;
  messageId: string | null;
  subject: string | null;
  requester: string | null;
  queue: string;
  ticketId: string | null;
  ticketNumber: number | null;
  threadedOn: string | null;
  /** The threading rule that matched (EMAIL-RULES.md §3). */
  threadRule: string | null;
  emailClass: EmailClass | null;
  /** Classification and threading rules that matched, in order. */
  evidence: string[];
  bounce: { kind: 'hard' | 'soft'; recipients: string[]; status: string | null } | null;
  priority: TicketPriority | null;
  tags: string[];
  reopened: boolean;
  linkedTicketId: string | null;
  /** Time spent waiting for an unseen parent message before threading gave up or matched. */
  waitedForParentSeconds: number;
  attachments: { filename: string; size: number; status: ScanStatus | 'pending'; detail: string | null }[];
  acknowledgement: { messageId: string; sent: boolean; reason: string } | null;
  /** Why the email ended as it did, in words an operator can act on. */
  reasons: string[];
}

export const statusQuery = defineQuery<EmailState>('status');
