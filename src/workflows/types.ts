/** The inbound-email workflow's input, state and query: shared by the workflow, worker and API. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { NotifyPolicy } from '../domain/notify-routes';
import type { EmailClass, EmailOutcome, EmailStep, ScanStatus, TicketPriority } from '../domain/vocabulary';

export type { EmailOutcome, EmailStep } from '../domain/vocabulary';

/** References only: the raw bytes stay in the object store (claim check). */
export interface ProcessInboundEmailInput {
  rawKey: string;
  rawSha256: string;
  rawSize: number;
  /**
   * The address the email was delivered to, as written; when several spellings reached the queue,
   * the one with a plus-tag (it may carry a reply token). One workflow per queue, not per spelling.
   */
  recipient: string;
  /** The queue it lands in (the routed queue, or the catch-all). */
  queue: string;
  idempotencyKey: string;
  envelopeFrom: string | null;
  receivedAt: string;
  /** Policy snapshot from the rules file, fixed for this email's run (and short in tests). */
  policy?: {
    /** How long a reply whose parent is unknown waits for it; 0 = not at all. Default 120. */
    waitForParentSeconds?: number;
    replyTokens?: boolean;
    /** Attempts per activity before the email parks. Default 25 (about 20 minutes). */
    maxAttempts?: number;
    /** How long a parked email waits for an operator before it ends as failed. Default 7 days. */
    parkTimeoutSeconds?: number;
    /** Notification routes (issue 19); absent when the rules route nothing, and on older emails. */
    notify?: NotifyPolicy;
  };
  /**
   * Set when an earlier, different message used this email's Message-ID: that email's workflow id.
   * This one then runs under a key that includes its content hash (src/ingress/deliver-once.ts).
   */
  messageIdClashWith?: string;
  /**
   * Set when the ingress held the email (a DMARC failure under a quarantine or reject policy): the
   * workflow parks at `quarantine` before parsing, until an operator releases (reprocess) or discards
   * it. Nothing runs before that: no parse, no ticket, no acknowledgement to a forged sender.
   */
  quarantine?: { reason: string };
  /** Set on a reprocess of a completed email: the original workflow id, which keys everything. */
  reprocessOf?: string;
  overrides?: ReprocessOverrides;
  /** Who asked for this reprocess run (the admin API's name for the operator), for the reasons. */
  reprocessedBy?: string;
  /**
   * Set by the ingress on every email it starts: the run takes the lean path without asking for the
   * `lean-email-path` patch (./process-inbound-email.ts). Absent on emails started before it was.
   */
  leanPath?: true;
}

/**
 * What an operator may change when reprocessing; each applies to the step that runs again and every
 * step after it (README, Operating Mailgate).
 */
export interface ReprocessOverrides {
  /** Put the email in this queue instead; a ticket it already opened or landed on moves there. */
  queue?: string;
  /** Do not send an acknowledgement (the acknowledging step itself ends without sending). */
  skipAck?: boolean;
  /**
   * Open a new ticket even if the email threads onto one (at most one such ticket per email). Refused
   * once the email opened a ticket of its own: there is nothing to force.
   */
  forceNewTicket?: boolean;
}

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
  acknowledgement: { messageId: string; sent: boolean; reason: string; recorded?: boolean } | null;
  /** Why the email ended as it did, in words an operator can act on. */
  reasons: string[];
  /** Set while the email waits for an operator: the step that failed and why. */
  parked: { step: EmailStep; errorType: string; message: string; since: string } | null;
}

export const statusQuery = defineQuery<EmailState>('status');
/** Retry a parked email from the step that failed, optionally with overrides. Ignored unless parked. */
export const reprocessSignal = defineSignal<[ReprocessOverrides & { by?: string }]>('reprocess');
/** End a parked email with a recorded reason. Ignored unless parked. */
export const discardSignal = defineSignal<[{ reason: string; by?: string }]>('discard');
