/**
 * processInboundEmail: one inbound email for one recipient, from stored raw bytes to a ticket or a
 * comment and, for a new ticket, one acknowledgement. Deterministic: every side effect is an
 * activity, and the history holds references and small summaries only. The decisions are the
 * domain's (src/domain/decisions.ts); parking and operator signals are in ./parking.ts; how the
 * email ends is in ./email-state.ts.
 *
 * Old histories must replay: a change to the command sequence goes behind patched() (the replay test
 * in test/unit/replay.test.ts holds saved histories). Steps that may be skipped depend on activity
 * results already in the history (a parse that computed the verdict needs no classify step).
 */
import { log, patched, setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ClassifyEmailResult } from '../activities/classify-email';
import type { FindThreadInput, FindThreadResult } from '../activities/find-thread';
import type { ParseEmailResult } from '../activities/parse-email';
import type { RecordTicketResult } from '../activities/record-ticket';
import { acknowledgementRefusal, isAutomated, suppressAfterThreading, suppressBeforeThreading, type AttachmentFacts } from '../domain/decisions';
import { ErrorType } from '../domain/errors';
import { threadCandidates } from '../domain/threading';
import { activityProxies } from './activity-proxies';
import { createEnding, initialState } from './email-state';
import { createParking, Discarded, failureMessage, failureType, type Parking } from './parking';
import { EmailClassKey, EmailStatusKey, RecipientQueueKey, TicketIdKey } from './search-attributes';
import { statusQuery, type EmailState, type ProcessInboundEmailInput } from './types';

const MAX_THREAD_CANDIDATES = 20;
const DEFAULT_WAIT_FOR_PARENT_SECONDS = 120;
/** Polls for a late parent back off to this interval: a few lookups a minute at most. */
const MAX_PARENT_POLL_SECONDS = 15;
const SKIP_EMPTY_ATTACHMENT_STEPS = 'skip-empty-attachment-steps';
const PARSE_SMALL_LOCALLY = 'parse-small-locally';
const PARSE_LOCALLY_MAX_BYTES = 256 * 1024;

type Activities = ReturnType<typeof activityProxies>;

export async function processInboundEmail(input: ProcessInboundEmailInput): Promise<EmailState> {
  // A reprocess of a completed email runs under its own id but is keyed by the original's, so the
  // acknowledgement, rate counters and the email record are the original's and never doubled.
  const workflowId = input.reprocessOf ?? workflowInfo().workflowId;
  const activities = activityProxies(input.policy?.maxAttempts);
  const state = initialState(input);
  setHandler(statusQuery, () => state);
  const parking = createParking({ state, overrides: input.overrides, parkTimeoutSeconds: input.policy?.parkTimeoutSeconds });
  const { step } = parking;
  const queue = (): string => parking.overrides().queue ?? input.queue;
  const ending = createEnding({ state, workflowId, queue, recordEmail: activities.recordEmail });
  const { finish } = ending;
  upsertSearchAttributes([
    { key: RecipientQueueKey, value: input.queue },
    { key: EmailStatusKey, value: 'received' },
  ]);
  // The SDK adds workflowId, runId and workflowType to every line and drops them during replay.
  log.info('email received', { queue: input.queue, rawKey: input.rawKey, rawSize: input.rawSize, ...(input.reprocessOf ? { reprocessOf: input.reprocessOf } : {}) });

  try {
    let summary: ParseEmailResult;
    try {
      const parse = input.rawSize <= PARSE_LOCALLY_MAX_BYTES && patched(PARSE_SMALL_LOCALLY) ? activities.parseSmallEmail : activities.parseEmail;
      summary = await step('parsing', () => parse({ rawKey: input.rawKey, rawSha256: input.rawSha256, queue: queue() }));
    } catch (error) {
      if (failureType(error) === ErrorType.MalformedEmail) return await finish('rejected', failureMessage(error));
      throw error;
    }
    state.messageId = summary.messageId;
    state.subject = summary.subject;
    state.requester = summary.from ?? input.envelopeFrom;
    state.attachments = summary.attachments.map((a) => ({ filename: a.filename, size: a.size, status: 'pending', detail: a.skippedReason }));

    // The parse step computes the verdict; an email parsed before it did is classified on its own.
    const verdict = summary.classification ?? (await step('classifying', () => activities.classifyEmail({ documentKey: summary.documentKey })));
    applyVerdict(state, verdict);
    const early = suppressBeforeThreading(verdict);
    if (early) return await finish('suppressed', early);
    const human = verdict.emailClass === 'human';
    if (verdict.allowlisted && !human) state.evidence.push('allowlist: sender may open tickets');

    const lookup: FindThreadInput & { candidates: string[] } = {
      documentKey: summary.documentKey,
      ...(summary.classification ? { bodyMarker: summary.bodyMarker ?? null, returnedMessageId: verdict.returnedMessageId } : {}),
      queue: queue(),
      recipient: input.recipient,
      sender: state.requester,
      subject: summary.subject,
      candidates: threadCandidates({ inReplyTo: summary.inReplyTo, references: summary.references, ownMessageId: summary.messageId, max: MAX_THREAD_CANDIDATES }),
      replyTokens: input.policy?.replyTokens ?? true,
    };
    const thread = await findThreadWaiting(parking, activities, lookup, { human, waitLimit: input.policy?.waitForParentSeconds ?? DEFAULT_WAIT_FOR_PARENT_SECONDS });
    applyThread(state, thread.result, thread.waited);
    const match = thread.result.match;
    if (verdict.bounce?.kind === 'hard' && verdict.returnedMessageId && match && ['own-message-id', 'bounce-original'].includes(match.rule)) {
      const bounce = { recipients: verdict.bounce.recipients, reason: `hard bounce ${verdict.bounce.status ?? ''} of <${verdict.returnedMessageId}>`.replace('  ', ' ') };
      await step('threading', () => activities.recordHardBounce(bounce));
      state.reasons.push(`marked undeliverable: ${verdict.bounce.recipients.join(', ')}`);
    }
    const late = suppressAfterThreading(verdict, match !== null);
    if (late) return await finish('suppressed', late);

    const attachments = await scanAndStore(parking, activities, state, summary);

    const overrides = parking.overrides();
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
      thread: match,
      automated: isAutomated(verdict),
      classLabel: verdict.emailClass,
      priority: verdict.priority.priority,
      tags: verdict.priority.tags,
      attachments,
      redactions: summary.redactions ?? [],
      receivedAt: input.receivedAt,
      waitedSeconds: thread.waited,
    };
    const ticket = await step('ticketing', () => activities.recordTicket(ticketInput));
    applyTicket(state, ticket);
    if (ticket.outcome === 'suppressed') return await finish('suppressed', ticket.reason ?? 'suppressed');
    if (ticket.outcome !== 'ticket_created') {
      return await finish(ticket.outcome, match ? `threaded on <${match.messageId}> by ${match.rule}` : undefined);
    }

    const refusal = acknowledgementRefusal({
      emailClass: verdict.emailClass,
      requester: state.requester,
      ticketCreated: ticket.ticketCreated,
      skipAck: overrides.skipAck === true,
    });
    if (refusal) {
      state.reasons.push(refusal);
    } else {
      const ackInput = {
        workflowId,
        ticketId: ticket.ticketId!,
        ticketNumber: ticket.ticketNumber!,
        queue: queue(),
        to: state.requester!,
        subject: summary.subject,
        originalMessageId: messageId,
        references: summary.references,
        untrusted: verdict.priority.untrusted,
      };
      const acknowledgement = await step('acknowledging', () => activities.sendAcknowledgement(ackInput));
      state.acknowledgement = acknowledgement;
      if (acknowledgement.sent && acknowledgement.recorded === false) {
        // Sent, but the ledger missed it: tell it now (retried, parked if need be), never resend.
        await step('acknowledging', () => activities.markAcknowledgementSent(ackInput.workflowId));
        state.acknowledgement = { ...acknowledgement, recorded: true };
      }
      if (!acknowledgement.sent) state.reasons.push(state.acknowledgement.reason);
    }
    return await finish('ticket_created');
  } catch (error) {
    if (error instanceof Discarded) return await finish('discarded', error.message);
    await ending.fail(error);
    throw error;
  }
}

function applyVerdict(state: EmailState, verdict: ClassifyEmailResult): void {
  state.emailClass = verdict.emailClass;
  state.evidence.push(...verdict.evidence);
  state.bounce = verdict.bounce;
  state.priority = verdict.priority.priority;
  state.tags = verdict.priority.tags;
  upsertSearchAttributes([{ key: EmailClassKey, value: verdict.emailClass }]);
}

function applyThread(state: EmailState, thread: FindThreadResult, waited: number): void {
  state.waitedForParentSeconds = waited;
  if (waited > 0) state.evidence.push(thread.match ? `thread:waited ${waited}s for the parent` : `thread:parent not seen within ${waited}s`);
  state.evidence.push(...thread.refused);
  if (thread.match) {
    state.threadedOn = thread.match.messageId;
    state.threadRule = thread.match.rule;
    state.evidence.push(`thread:${thread.match.rule}`);
  }
}

function applyTicket(state: EmailState, ticket: RecordTicketResult): void {
  state.ticketId = ticket.ticketId;
  state.ticketNumber = ticket.ticketNumber;
  state.reopened = ticket.reopened;
  state.linkedTicketId = ticket.linkedTicketId;
  if (ticket.ticketId) upsertSearchAttributes([{ key: TicketIdKey, value: ticket.ticketId }]);
  for (const q of ticket.quarantined) state.reasons.push(`attachment "${q.filename}" quarantined: ${q.signature}`);
  if (ticket.outcome === 'ticket_created') {
    if (ticket.reopened) state.reasons.push('reopened the closed ticket');
    if (ticket.linkedTicketId) state.reasons.push(`new ticket linked to closed ticket ${ticket.linkedTicketId}`);
  }
}

/**
 * The thread lookup. A reply can overtake its parent (two mail servers, a retry): human mail that
 * refers to unknown messages waits, bounded and backing off, for the parent before a new ticket is
 * opened. When the parent is already known nothing waits. An operator's forceNewTicket skips it all.
 */
async function findThreadWaiting(
  parking: Parking,
  activities: Activities,
  lookup: FindThreadInput & { candidates: string[] },
  options: { human: boolean; waitLimit: number },
): Promise<{ result: FindThreadResult; waited: number }> {
  const forced = (): boolean => parking.overrides().forceNewTicket === true;
  const refusedByOperator: FindThreadResult = { match: null, refused: ['reprocess: a new ticket was forced'] };
  let result = await parking.step('threading', () => activities.findThread(lookup));
  if (forced()) result = refusedByOperator;
  let waited = 0;
  let pause = 1;
  while (!result.match && !forced() && options.human && lookup.candidates.length > 0 && waited < options.waitLimit) {
    const seconds = Math.min(pause, options.waitLimit - waited);
    await sleep(seconds * 1000);
    waited += seconds;
    pause = Math.min(pause * 2, MAX_PARENT_POLL_SECONDS);
    result = await parking.step('threading', () => activities.findThread(lookup));
  }
  return { result, waited };
}

/**
 * Scanning and storing, as one record per attachment. Most mail has no attachment: then both steps
 * are skipped, two engine round trips fewer per email. (Behind a patch: runs started before it
 * replay with the empty steps.)
 */
async function scanAndStore(parking: Parking, activities: Activities, state: EmailState, summary: ParseEmailResult): Promise<AttachmentFacts[]> {
  const facts: AttachmentFacts[] = summary.attachments.map((part) => ({ ...part, scan: null, storageKey: null }));
  const skipEmpty = facts.length === 0 && patched(SKIP_EMPTY_ATTACHMENT_STEPS);
  if (skipEmpty) return facts;
  const parts = facts.map((a) => ({ index: a.index, partKey: a.partKey, skippedReason: a.skippedReason, filename: a.filename, contentType: a.contentType, size: a.size }));
  const scans = await parking.step('scanning', () => activities.scanAttachments({ parts }));
  for (const scan of scans) {
    const fact = facts.find((a) => a.index === scan.index);
    if (fact) fact.scan = { status: scan.status, detail: scan.detail, ...(scan.flags ? { flags: scan.flags } : {}) };
    const view = state.attachments[scan.index];
    if (view) {
      view.status = scan.status;
      view.detail = scan.detail;
    }
    for (const flag of scan.flags ?? []) state.reasons.push(`attachment "${view?.filename ?? scan.index}": ${flag}`);
  }
  const toStore = facts.map((a) => ({ index: a.index, partKey: a.partKey, sha256: a.sha256, status: a.scan?.status ?? 'skipped' }));
  const stored = await parking.step('storing', () => activities.storeAttachments({ parts: toStore }));
  for (const copy of stored) {
    const fact = facts.find((a) => a.index === copy.index);
    if (fact) fact.storageKey = copy.storageKey;
  }
  return facts;
}
