/** The inbound-email workflow's input, state and query: shared by the workflow, worker and API. */
import { defineQuery } from '@temporalio/workflow';
import type { ScanStatus } from '../adapters/ticket-store/types';

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
}

export type EmailStep =
  | 'received'
  | 'parsing'
  | 'scanning'
  | 'storing'
  | 'threading'
  | 'ticketing'
  | 'acknowledging'
  | 'done';

export type EmailOutcome = 'pending' | 'ticket_created' | 'comment_added' | 'rejected' | 'failed';

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
  attachments: { filename: string; size: number; status: ScanStatus | 'pending'; detail: string | null }[];
  acknowledgement: { messageId: string; sent: boolean; reason: string } | null;
  /** Why the email ended as it did, in words an operator can act on. */
  reasons: string[];
}

export const statusQuery = defineQuery<EmailState>('status');
