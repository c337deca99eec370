/**
 * processInboundEmail: one inbound email for one recipient, from stored raw bytes to a ticket or a
 * comment and, for a new ticket, one acknowledgement. Deterministic: every side effect is an
 * activity, and the history holds references and small summaries only.
 *
 * A step whose retries run out parks the email instead of failing it: EmailStatus = "parked" with
 * the step and error type as search attributes, until an operator signals `reprocess` (the failed
 * step runs again; finished steps keep their results) or `discard` (the email ends with the reason).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  log,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorType } from '../domain/errors';
import { threadCandidates } from '../domain/threading';
import { activityProxies } from './activity-proxies';
import { EmailClassKey, EmailStatusKey, ErrorTypeKey, ParkedStepKey, RecipientQueueKey, TicketIdKey } from './search-attributes';
import {
  discardSignal,
  reprocessSignal,
  statusQuery,
  type EmailOutcome,
  type EmailState,
  type EmailStep,
  type ProcessInboundEmailInput,
  type ReprocessOverrides,
} from './types';

const MAX_THREAD_CANDIDATES = 20;
const DEFAULT_WAIT_FOR_PARENT_SECONDS = 120;
/** Polls for a late parent back off to this interval: a few lookups a minute at most. */
const MAX_PARENT_POLL_SECONDS = 15;
const DEFAULT_PARK_TIMEOUT_SECONDS = 7 * 24 * 3600;
const SKIP_EMPTY_ATTACHMENT_STEPS = 'skip-empty-attachment-steps';
const PARSE_SMALL_LOCALLY = 'parse-small-locally';
const PARSE_LOCALLY_MAX_BYTES = 256 * 1024;

function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

class Discarded extends Error {}

export async function processInboundEmail(input: ProcessInboundEmailInput): Promise<EmailState> {
  // A reprocess of a completed email runs under its own id but is keyed by the original's, so the
  // acknowledgement, rate counters and the email record are the original's and never doubled.
  const workflowId = input.reprocessOf ?? workflowInfo().workflowId;
  const {
    parseEmail,
    parseSmallEmail,
    classifyEmail,
    scanAttachments,
    storeAttachments,
    findThread,
    recordTicket,
    sendAcknowledgement,
    markAcknowledgementSent,
    recordEmail,
    recordHardBounce,
  } = activityProxies(input.policy?.maxAttempts);
  let overrides: ReprocessOverrides = { ...input.overrides };
  const queue = (): string => overrides.queue ?? input.queue;
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
    parked: null,
  };
  setHandler(statusQuery, () => state);
  let operator: { kind: 'reprocess'; overrides: ReprocessOverrides; by: string } | { kind: 'discard'; reason: string; by: string } | null = null;
  setHandler(reprocessSignal, ({ by, ...changes }) => {
    if (state.parked) operator = { kind: 'reprocess', overrides: changes, by: by ?? 'an operator' };
  });
  setHandler(discardSignal, ({ reason, by }) => {
    if (state.parked) operator = { kind: 'discard', reason, by: by ?? 'an operator' };
  });
  upsertSearchAttributes([
    { key: RecipientQueueKey, value: input.queue },
    { key: EmailStatusKey, value: 'received' },
  ]);
  // The SDK adds workflowId, runId and workflowType to every line and drops them during replay.
  log.info('email received', { queue: input.queue, rawKey: input.rawKey, rawSize: input.rawSize, ...(input.reprocessOf ? { reprocessOf: input.reprocessOf } : {}) });
  const enter = (step: EmailStep): void => {
    state.step = step;
    upsertSearchAttributes([{ key: EmailStatusKey, value: step }]);
  };
  /** Runs one step; when its retries run out, parks until an operator says what to do. */
  const step = async <T>(name: EmailStep, work: () => Promise<T>): Promise<T> => {
    for (;;) {
      enter(name);
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof ActivityFailure) || failureType(error) === ErrorType.MalformedEmail) throw error;
        const errorType = failureType(error) ?? 'ActivityFailure';
        state.parked = { step: name, errorType, message: failureMessage(error).slice(0, 500), since: new Date().toISOString() };
        state.outcome = 'parked';
        upsertSearchAttributes([
          { key: EmailStatusKey, value: 'parked' },
          { key: ParkedStepKey, value: name },
          { key: ErrorTypeKey, value: errorType },
        ]);
        log.warn('email parked', { step: name, errorType, error: state.parked.message });
        const woken = await condition(() => operator !== null, (input.policy?.parkTimeoutSeconds ?? DEFAULT_PARK_TIMEOUT_SECONDS) * 1000);
        const decision = operator;
        operator = null;
        state.parked = null;
        state.outcome = 'pending';
        upsertSearchAttributes([
          { key: ParkedStepKey, value: null },
          { key: ErrorTypeKey, value: null },
        ]);
        if (!woken || !decision) throw error;
        log.info('operator decision', { step: name, decision: decision.kind, by: decision.by });
        if (decision.kind === 'discard') throw new Discarded(`discarded by ${decision.by} while parked at ${name}: ${decision.reason}`);
        overrides = { ...overrides, ...decision.overrides };
        state.evidence.push(`reprocess: ${decision.by} retried ${name}${Object.keys(decision.overrides).length ? ` with ${JSON.stringify(decision.overrides)}` : ''}`);
        if (overrides.queue) {
          state.queue = overrides.queue;
          upsertSearchAttributes([{ key: RecipientQueueKey, value: overrides.queue }]);
        }
      }
    }
  };
  /** The email's durable record in the ticket store (outlives Temporal's retention). */
  const record = async (outcome: EmailOutcome): Promise<void> => {
    if (!state.emailClass) return;
    await recordEmail({
      workflowId,
      messageId: state.messageId,
      queue: queue(),
      sender: state.requester,
      subject: state.subject ?? '',
      emailClass: state.emailClass,
      evidence: state.evidence,
      outcome: outcome === 'pending' || outcome === 'parked' ? 'failed' : outcome === 'discarded' ? 'rejected' : outcome,
      reason: state.reasons.join('; ') || null,
      ticketId: state.ticketId,
    });
  };
  const finish = async (outcome: EmailOutcome, reason?: string): Promise<EmailState> => {
    if (reason) state.reasons.push(reason);
    if (outcome !== 'failed') await record(outcome);
    state.step = 'done';
    state.outcome = outcome;
    upsertSearchAttributes([{ key: EmailStatusKey, value: outcome }]);
    log.info('email finished', {
      outcome,
      queue: queue(),
      emailClass: state.emailClass,
      ticketId: state.ticketId,
      threadRule: state.threadRule,
      attachments: state.attachments.length,
      acknowledged: state.acknowledgement?.sent ?? false,
      ...(state.reasons.length > 0 ? { reasons: state.reasons } : {}),
    });
    return state;
  };

  try {
    let summary;
    try {
      const parse = input.rawSize <= PARSE_LOCALLY_MAX_BYTES && patched(PARSE_SMALL_LOCALLY) ? parseSmallEmail : parseEmail;
      summary = await step('parsing', () => parse({ rawKey: input.rawKey, rawSha256: input.rawSha256, queue: queue() }));
    } catch (error) {
      if (failureType(error) === ErrorType.MalformedEmail) return await finish('rejected', failureMessage(error));
      throw error;
    }
    state.messageId = summary.messageId;
    state.subject = summary.subject;
    state.requester = summary.from ?? input.envelopeFrom;
    state.attachments = summary.attachments.map((a) => ({ filename: a.filename, size: a.size, status: 'pending', detail: a.skippedReason }));

    const documentKey = summary.documentKey;
    const verdict = await step('classifying', () => classifyEmail({ documentKey }));
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

    const lookup = {
      documentKey: summary.documentKey,
      queue: queue(),
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
    let thread = await step('threading', () => findThread(lookup));
    if (overrides.forceNewTicket) thread = { match: null, refused: ['reprocess: a new ticket was forced'] };
    // A reply can overtake its parent (two mail servers, a retry): wait, bounded, for the parent
    // before opening a new ticket. When the parent is already known nothing waits.
    const waitLimit = input.policy?.waitForParentSeconds ?? DEFAULT_WAIT_FOR_PARENT_SECONDS;
    let waited = 0;
    let pause = 1;
    while (!thread.match && !overrides.forceNewTicket && human && lookup.candidates.length > 0 && waited < waitLimit) {
      const seconds = Math.min(pause, waitLimit - waited);
      await sleep(seconds * 1000);
      waited += seconds;
      pause = Math.min(pause * 2, MAX_PARENT_POLL_SECONDS);
      thread = await step('threading', () => findThread(lookup));
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
      const bounce = { recipients: verdict.bounce.recipients, reason: `hard bounce ${verdict.bounce.status ?? ''} of <${verdict.returnedMessageId}>`.replace('  ', ' ') };
      await step('threading', () => recordHardBounce(bounce));
      state.reasons.push(`marked undeliverable: ${verdict.bounce.recipients.join(', ')}`);
    }
    if (automated && !thread.match) return await finish('suppressed', `${verdict.emailClass} that refers to no known ticket`);

    const parts = {
      parts: summary.attachments.map((a) => ({
        index: a.index,
        partKey: a.partKey,
        skippedReason: a.skippedReason,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
      })),
    };
    // Most mail has no attachment: then scanning and storing are skipped, two engine round trips
    // fewer per email. (Behind a patch: runs started before it replay with the empty steps.)
    const skipEmpty = parts.parts.length === 0 && patched(SKIP_EMPTY_ATTACHMENT_STEPS);
    const scans = skipEmpty ? [] : await step('scanning', () => scanAttachments(parts));
    for (const scan of scans) {
      const view = state.attachments[scan.index];
      if (view) {
        view.status = scan.status;
        view.detail = scan.detail;
      }
      for (const flag of scan.flags ?? []) state.reasons.push(`attachment "${view?.filename ?? scan.index}": ${flag}`);
    }

    const storeInput = {
      parts: summary.attachments.map((a) => ({
        index: a.index,
        partKey: a.partKey,
        sha256: a.sha256,
        status: scans.find((s) => s.index === a.index)?.status ?? 'skipped',
      })),
    };
    const stored = skipEmpty ? [] : await step('storing', () => storeAttachments(storeInput));

    const messageId = summary.messageId ?? `${input.idempotencyKey}@mailgate.invalid`;
    const ticketInput = {
      workflowId,
      // A forced new ticket has a key of its own: forcing twice still makes only one.
      idempotencyKey: overrides.forceNewTicket ? `${input.idempotencyKey}:forced` : input.idempotencyKey,
      documentKey: summary.documentKey,
      queue: queue(),
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
      receivedAt: input.receivedAt,
      waitedSeconds: waited,
    };
    const ticket = await step('ticketing', () => recordTicket(ticketInput));
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

    if (!human) {
      state.reasons.push(`not acknowledged: only human mail is (class ${verdict.emailClass})`);
    } else if (!state.requester) {
      state.reasons.push('not acknowledged: the email has no sender address');
    } else if (!ticket.ticketCreated) {
      state.reasons.push('not acknowledged: the ticket was opened through another queue');
    } else if (overrides.skipAck) {
      state.reasons.push('not acknowledged: skipped on reprocess');
    } else {
      const ackInput = {
        workflowId,
        ticketId: ticket.ticketId!,
        ticketNumber: ticket.ticketNumber!,
        queue: queue(),
        to: state.requester,
        subject: summary.subject,
        originalMessageId: messageId,
        references: summary.references,
        untrusted: verdict.priority.untrusted,
      };
      const acknowledgement = await step('acknowledging', () => sendAcknowledgement(ackInput));
      state.acknowledgement = acknowledgement;
      if (acknowledgement.sent && acknowledgement.recorded === false) {
        // Sent, but the store missed it: tell it now (retried, parked if need be), never resend.
        await step('acknowledging', () => markAcknowledgementSent(ackInput.workflowId));
        state.acknowledgement = { ...acknowledgement, recorded: true };
      }
      if (!acknowledgement.sent) state.reasons.push(state.acknowledgement.reason);
    }
    return await finish('ticket_created');
  } catch (error) {
    if (error instanceof Discarded) return await finish('discarded', error.message);
    state.reasons.push(`${state.step} failed: ${failureMessage(error)}`);
    // Best effort: the failure is visible in Temporal whatever happens to this record.
    await record('failed').catch(() => undefined);
    state.step = 'done';
    state.outcome = 'failed';
    upsertSearchAttributes([{ key: EmailStatusKey, value: 'failed' }]);
    log.error('email failed', { reasons: state.reasons });
    throw error;
  }
}
