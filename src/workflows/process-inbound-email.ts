/**
 * processInboundEmail: one inbound email for one recipient, from stored raw bytes to a ticket or a
 * comment and, for a new ticket, one acknowledgement. Deterministic: every side effect is an
 * activity, and the history holds references and small summaries only.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import { threadCandidates } from '../domain/threading';
import { EmailStatusKey, RecipientQueueKey, TicketIdKey } from './search-attributes';
import { statusQuery, type EmailOutcome, type EmailState, type EmailStep, type ProcessInboundEmailInput } from './types';

const MAX_THREAD_CANDIDATES = 20;

const retry: ActivityOptions['retry'] = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 25,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

// Long steps heartbeat (see activities/heartbeat.ts): a worker that dies mid-step is noticed within
// the heartbeat timeout and the step retried, instead of waiting out the whole start-to-close time.
const { parseEmail, scanAttachments, storeAttachments } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '15 seconds',
  retry,
});

const { findThread, recordTicket } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry,
});

const { sendAcknowledgement } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { ...retry, maximumAttempts: 10 },
});

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function processInboundEmail(input: ProcessInboundEmailInput): Promise<EmailState> {
  const { workflowId } = workflowInfo();
  const state: EmailState = {
    step: 'received',
    outcome: 'pending',
    messageId: null,
    subject: null,
    requester: input.envelopeFrom,
    queue: input.queue,
    ticketId: null,
    ticketNumber: null,
    threadedOn: null,
    attachments: [],
    acknowledgement: null,
    reasons: [],
  };
  setHandler(statusQuery, () => state);
  upsertSearchAttributes([
    { key: RecipientQueueKey, value: input.queue },
    { key: EmailStatusKey, value: 'received' },
  ]);
  const enter = (step: EmailStep): void => {
    state.step = step;
    upsertSearchAttributes([{ key: EmailStatusKey, value: step }]);
  };
  const finish = (outcome: EmailOutcome, reason?: string): EmailState => {
    state.step = 'done';
    state.outcome = outcome;
    if (reason) state.reasons.push(reason);
    upsertSearchAttributes([{ key: EmailStatusKey, value: outcome }]);
    return state;
  };

  try {
    enter('parsing');
    let summary;
    try {
      summary = await parseEmail({ rawKey: input.rawKey, rawSha256: input.rawSha256 });
    } catch (error) {
      if (failureType(error) === ErrorType.MalformedEmail) return finish('rejected', failureMessage(error));
      throw error;
    }
    state.messageId = summary.messageId;
    state.subject = summary.subject;
    state.requester = summary.from ?? input.envelopeFrom;
    state.attachments = summary.attachments.map((a) => ({
      filename: a.filename,
      size: a.size,
      status: 'pending',
      detail: a.skippedReason,
    }));

    enter('scanning');
    const scans = await scanAttachments({
      parts: summary.attachments.map((a) => ({ index: a.index, partKey: a.partKey, skippedReason: a.skippedReason })),
    });
    for (const scan of scans) {
      const view = state.attachments[scan.index];
      if (view) {
        view.status = scan.status;
        view.detail = scan.detail;
      }
    }

    enter('storing');
    const stored = await storeAttachments({
      parts: summary.attachments.map((a) => ({
        index: a.index,
        partKey: a.partKey,
        sha256: a.sha256,
        status: scans.find((s) => s.index === a.index)?.status ?? 'skipped',
      })),
    });

    enter('threading');
    const thread = await findThread({
      candidates: threadCandidates({
        inReplyTo: summary.inReplyTo,
        references: summary.references,
        ownMessageId: summary.messageId,
        max: MAX_THREAD_CANDIDATES,
      }),
      queue: input.queue,
    });
    state.threadedOn = thread?.messageId ?? null;

    enter('ticketing');
    const requester = state.requester ?? 'unknown@mailgate.invalid';
    const ticket = await recordTicket({
      idempotencyKey: input.idempotencyKey,
      documentKey: summary.documentKey,
      queue: input.queue,
      requester,
      subject: summary.subject,
      messageId: summary.messageId ?? `${input.idempotencyKey}@mailgate.invalid`,
      thread,
      attachments: summary.attachments,
      scans,
      stored,
    });
    state.ticketId = ticket.ticketId;
    state.ticketNumber = ticket.ticketNumber;
    upsertSearchAttributes([{ key: TicketIdKey, value: ticket.ticketId }]);
    for (const q of ticket.quarantined) state.reasons.push(`attachment "${q.filename}" quarantined: ${q.signature}`);

    if (!thread) {
      enter('acknowledging');
      if (!state.requester) {
        state.reasons.push('not acknowledged: the email has no sender address');
      } else {
        state.acknowledgement = await sendAcknowledgement({
          workflowId,
          ticketId: ticket.ticketId,
          ticketNumber: ticket.ticketNumber,
          queue: input.queue,
          to: state.requester,
          subject: summary.subject,
          originalMessageId: summary.messageId ?? `${input.idempotencyKey}@mailgate.invalid`,
          references: summary.references,
        });
      }
      return finish('ticket_created');
    }
    return finish('comment_added', `threaded on <${thread.messageId}>`);
  } catch (error) {
    finish('failed', `${state.step} failed: ${failureMessage(error)}`);
    throw error;
  }
}
