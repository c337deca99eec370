/**
 * The email's state as the `status` query shows it, and how it ends: every ending goes through
 * `finish` (recorded in the ledger, shown in EmailStatus, logged once) or `fail` (the same for an
 * error that ends the workflow).
 */
import { log, patched } from '@temporalio/workflow';
import type { AttributeBoard } from './attribute-board';
import { recordedOutcome } from '../domain/decisions';
import type { EmailRecord } from '../ports/ledger';
import { failureMessage } from './parking';
import { EmailStatusKey } from './search-attributes';
import type { EmailOutcome, EmailState, ProcessInboundEmailInput } from './types';

/**
 * Issue 13: an email that fails (park timeout) or is discarded before it was classified, i.e. parked
 * at parsing or classifying, gets an email record too, with no class. Runs from before replay without.
 */
const RECORD_UNCLASSIFIED = 'record-unclassified-endings';

export function initialState(input: ProcessInboundEmailInput): EmailState {
  return {
    step: 'received',
    outcome: 'pending',
    messageId: null,
    subject: null,
    requester: input.envelopeFrom,
    queue: input.overrides?.queue ?? input.queue,
    ticketId: null,
    ticketNumber: null,
    threadedOn: null,
    threadRule: null,
    emailClass: null,
    evidence: [],
    bounce: null,
    priority: null,
    tags: [],
    reopened: false,
    linkedTicketId: null,
    waitedForParentSeconds: 0,
    attachments: [],
    acknowledgement: null,
    reasons: [],
    parked: null,
  };
}

export interface Ending {
  finish(outcome: EmailOutcome, reason?: string): Promise<EmailState>;
  /** Records and logs an error that ends the workflow; the caller rethrows it. */
  fail(error: unknown): Promise<void>;
}

/**
 * `recordEmail` writes the email's durable record (it outlives Temporal's retention); it is keyed by
 * `workflowId`, which for a reprocess of a completed email is the original's.
 */
export function createEnding(options: {
  state: EmailState;
  workflowId: string;
  queue: () => string;
  /** The raw message's sha256, so retention and erasure can find the email's stored bytes. */
  rawSha256: string;
  recordEmail: (record: EmailRecord) => Promise<void>;
  attributes: AttributeBoard;
  /** Called when the email ends suppressed (issue 19: routes on outcome "suppressed"); must not throw. */
  onSuppressed?: (reason: string | null) => Promise<void>;
}): Ending {
  const { state } = options;
  const record = async (outcome: EmailOutcome): Promise<void> => {
    // A malformed email (rejected at parsing) still has no record: Temporal and the metrics keep it.
    // A quarantined email that was never released ends unparsed (discarded or suppressed): recorded.
    const unclassifiedEnding = outcome === 'failed' || outcome === 'discarded' || outcome === 'suppressed';
    if (!state.emailClass && !(unclassifiedEnding && patched(RECORD_UNCLASSIFIED))) return;
    await options.recordEmail({
      workflowId: options.workflowId,
      messageId: state.messageId,
      queue: options.queue(),
      sender: state.requester,
      subject: state.subject ?? '',
      emailClass: state.emailClass,
      evidence: state.evidence,
      outcome: recordedOutcome(outcome),
      reason: state.reasons.join('; ') || null,
      ticketId: state.ticketId,
      rawSha256: options.rawSha256,
    });
  };
  return {
    async finish(outcome, reason) {
      if (reason) state.reasons.push(reason);
      if (outcome === 'suppressed') await options.onSuppressed?.(reason ?? null);
      if (outcome !== 'failed') await record(outcome);
      state.step = 'done';
      state.outcome = outcome;
      options.attributes.set([{ key: EmailStatusKey, value: outcome }]);
      options.attributes.details();
      options.attributes.flush();
      log.info('email finished', {
        outcome,
        queue: options.queue(),
        emailClass: state.emailClass,
        ticketId: state.ticketId,
        threadRule: state.threadRule,
        attachments: state.attachments.length,
        acknowledged: state.acknowledgement?.sent ?? false,
        ...(state.reasons.length > 0 ? { reasons: state.reasons } : {}),
      });
      return state;
    },
    async fail(error) {
      state.reasons.push(`${state.step} failed: ${failureMessage(error)}`);
      // Best effort: the failure is visible in Temporal whatever happens to this record.
      await record('failed').catch(() => undefined);
      state.step = 'done';
      state.outcome = 'failed';
      options.attributes.set([{ key: EmailStatusKey, value: 'failed' }]);
      options.attributes.details();
      options.attributes.flush();
      log.error('email failed', { reasons: state.reasons });
    },
  };
}
