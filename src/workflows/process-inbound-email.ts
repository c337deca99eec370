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
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import { threadCandidates } from '../domain/threading';
import { EmailClassKey, EmailStatusKey, RecipientQueueKey, TicketIdKey } from './search-attributes';
import { statusQuery, type EmailOutcome, type EmailState, type EmailStep, type ProcessInboundEmailInput } from './types';

const MAX_THREAD_CANDIDATES = 20;
const DEFAULT_WAIT_FOR_PARENT_SECONDS = 120;
/** Polls for a late parent back off to this interval: a few lookups a minute at most. */
const MAX_PARENT_POLL_SECONDS = 15;

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

const { classifyEmail, findThread, recordTicket, recordEmail, recordHardBounce } = proxyActivities<Activities>({
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
  const finish = async (outcome: EmailOutcome, reason?: string): Promise<EmailState> => {
    if (reason) state.reasons.push(reason);
    if (state.emailClass && outcome !== 'failed') {
      await recordEmail({
        workflowId,
        messageId: state.messageId,
        queue: input.queue,
        sender: state.requester,
        subject: state.subject ?? '',
        emailClass: state.emailClass,
        evidence: state.evidence,
        outcome: outcome === 'pending' ? 'failed' : outcome,
        reason: state.reasons.join('; ') || null,
        ticketId: state.ticketId,
      });
    }
    state.step = 'done';
    state.outcome = outcome;
    upsertSearchAttributes([{ key: EmailStatusKey, value: outcome }]);
    return state;
  };

  try {
    enter('parsing');
    let summary;
    try {
      summary = await parseEmail({ rawKey: input.rawKey, rawSha256: input.rawSha256, queue: input.queue });
    } catch (error) {
      if (failureType(error) === ErrorType.MalformedEmail) return await finish('rejected', failureMessage(error));
      throw error;
    }
    state.messageId = summary.messageId;
    state.subject = summary.subject;
    state.requester = summary.from ?? input.envelopeFrom;
    state.attachments = summary.attachments.map((a) => ({ filename: a.filename, size: a.size, status: 'pending', detail: a.skippedReason }));

    enter('classifying');
    const verdict = await classifyEmail({ documentKey: summary.documentKey });
    state.emailClass = verdict.emailClass;
    state.evidence.push(...verdict.evidence);
    state.bounce = verdict.bounce;
    state.priority = verdict.priority.priority;
    state.tags = verdict.priority.tags;
    upsertSearchAttributes([{ key: EmailClassKey, value: verdict.emailClass }]);
    if (verdict.emailClass === 'own_loop') return await finish('suppressed', 'own loop: our own mail came back, dropped');
    const human = verdict.emailClass === 'human';
    const automated = !human && !verdict.allowlisted;
    if (verdict.allowlisted && !human) state.evidence.push('allowlist: sender may open tickets');

    enter('threading');
    const lookup = {
      documentKey: summary.documentKey,
      queue: input.queue,
      recipient: input.recipient,
      sender: state.requester,
      subject: summary.subject,
      candidates: threadCandidates({
        inReplyTo: summary.inReplyTo,
        references: summary.references,
        ownMessageId: summary.messageId,
        max: MAX_THREAD_CANDIDATES,
      }),
      replyTokens: input.policy?.replyTokens ?? true,
    };
    let thread = await findThread(lookup);
    // A reply can overtake its parent (two mail servers, a retry): wait, bounded, for the parent
    // before opening a new ticket. When the parent is already known nothing waits.
    const waitLimit = input.policy?.waitForParentSeconds ?? DEFAULT_WAIT_FOR_PARENT_SECONDS;
    let waited = 0;
    let pause = 1;
    while (!thread.match && human && lookup.candidates.length > 0 && waited < waitLimit) {
      const step = Math.min(pause, waitLimit - waited);
      await sleep(step * 1000);
      waited += step;
      pause = Math.min(pause * 2, MAX_PARENT_POLL_SECONDS);
      thread = await findThread(lookup);
    }
    state.waitedForParentSeconds = waited;
    if (waited > 0) state.evidence.push(thread.match ? `thread:waited ${waited}s for the parent` : `thread:parent not seen within ${waited}s`);
    state.evidence.push(...thread.refused);
    if (thread.match) {
      state.threadedOn = thread.match.messageId;
      state.threadRule = thread.match.rule;
      state.evidence.push(`thread:${thread.match.rule}`);
    }
    if (verdict.bounce?.kind === 'hard' && verdict.returnedMessageId && thread.match && ['own-message-id', 'bounce-original'].includes(thread.match.rule)) {
      await recordHardBounce({
        recipients: verdict.bounce.recipients,
        reason: `hard bounce ${verdict.bounce.status ?? ''} of <${verdict.returnedMessageId}>`.replace('  ', ' '),
      });
      state.reasons.push(`marked undeliverable: ${verdict.bounce.recipients.join(', ')}`);
    }
    if (automated && !thread.match) return await finish('suppressed', `${verdict.emailClass} that refers to no known ticket`);

    enter('scanning');
    const scans = await scanAttachments({
      parts: summary.attachments.map((a) => ({
        index: a.index,
        partKey: a.partKey,
        skippedReason: a.skippedReason,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
      })),
    });
    for (const scan of scans) {
      const view = state.attachments[scan.index];
      if (view) {
        view.status = scan.status;
        view.detail = scan.detail;
      }
      for (const flag of scan.flags ?? []) state.reasons.push(`attachment "${view?.filename ?? scan.index}": ${flag}`);
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

    enter('ticketing');
    const messageId = summary.messageId ?? `${input.idempotencyKey}@mailgate.invalid`;
    const ticket = await recordTicket({
      workflowId,
      idempotencyKey: input.idempotencyKey,
      documentKey: summary.documentKey,
      queue: input.queue,
      requester: state.requester ?? 'unknown@mailgate.invalid',
      subject: summary.subject,
      messageId,
      hasMessageId: summary.messageId !== null,
      thread: thread.match,
      automated,
      classLabel: verdict.emailClass,
      priority: verdict.priority.priority,
      tags: verdict.priority.tags,
      attachments: summary.attachments,
      scans,
      stored,
      redactions: summary.redactions ?? [],
    });
    state.ticketId = ticket.ticketId;
    state.ticketNumber = ticket.ticketNumber;
    state.reopened = ticket.reopened;
    state.linkedTicketId = ticket.linkedTicketId;
    if (ticket.ticketId) upsertSearchAttributes([{ key: TicketIdKey, value: ticket.ticketId }]);
    for (const q of ticket.quarantined) state.reasons.push(`attachment "${q.filename}" quarantined: ${q.signature}`);
    if (ticket.outcome === 'suppressed') return await finish('suppressed', ticket.reason ?? 'suppressed');
    if (ticket.outcome !== 'ticket_created') {
      return await finish(ticket.outcome, thread.match ? `threaded on <${thread.match.messageId}> by ${thread.match.rule}` : undefined);
    }
    if (ticket.reopened) state.reasons.push('reopened the closed ticket');
    if (ticket.linkedTicketId) state.reasons.push(`new ticket linked to closed ticket ${ticket.linkedTicketId}`);

    enter('acknowledging');
    if (!human) {
      state.reasons.push(`not acknowledged: only human mail is (class ${verdict.emailClass})`);
    } else if (!state.requester) {
      state.reasons.push('not acknowledged: the email has no sender address');
    } else if (!ticket.ticketCreated) {
      state.reasons.push('not acknowledged: the ticket was opened through another queue');
    } else {
      state.acknowledgement = await sendAcknowledgement({
        workflowId,
        ticketId: ticket.ticketId!,
        ticketNumber: ticket.ticketNumber!,
        queue: input.queue,
        to: state.requester,
        subject: summary.subject,
        originalMessageId: messageId,
        references: summary.references,
        untrusted: verdict.priority.untrusted,
      });
      if (!state.acknowledgement.sent) state.reasons.push(state.acknowledgement.reason);
    }
    return await finish('ticket_created');
  } catch (error) {
    state.reasons.push(`${state.step} failed: ${failureMessage(error)}`);
    state.step = 'done';
    state.outcome = 'failed';
    upsertSearchAttributes([{ key: EmailStatusKey, value: 'failed' }]);
    throw error;
  }
}
