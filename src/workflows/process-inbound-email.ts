/**
 * processInboundEmail: one inbound email for one recipient, from stored raw bytes to a ticket or a
 * comment and, for a new ticket, one acknowledgement. Deterministic: every side effect is an
 * activity, and the history holds references and small summaries only. The decisions are the
 * domain's (src/domain/decisions.ts); parking and operator signals are in ./parking.ts; the steps
 * after parsing in ./email-steps.ts; how the email ends in ./email-state.ts.
 *
 * Old histories must replay: a change to the command sequence goes behind patched() (the replay test
 * in test/unit/replay.test.ts holds saved histories). Steps that may be skipped depend on activity
 * results already in the history (a parse that computed the verdict needs no classify step).
 */
import { log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import { declareVersioning } from './versioning';
import type { ParseEmailResult } from '../activities/parse-email';
import { discardEnding, isAutomated, suppressAfterThreading, suppressBeforeThreading } from '../domain/decisions';
import { ErrorType } from '../domain/errors';
import { activityProxies } from './activity-proxies';
import { createAttributeBoard } from './attribute-board';
import { createEnding, initialState } from './email-state';
import { acknowledge, applyThread, applyTicket, applyVerdict, findThreadWaiting, forgetThread, learnFromHardBounce, scanAndStore, threadLookup } from './email-steps';
import { emailNotifier } from './notify';
import { createParking, Discarded, failureMessage, failureType } from './parking';
import { holdQuarantined } from './quarantine';
import { EmailStatusKey, RecipientQueueKey } from './search-attributes';
import { statusQuery, type EmailState, type ProcessInboundEmailInput } from './types';
import { showEmailDetails } from './user-metadata';

const DEFAULT_WAIT_FOR_PARENT_SECONDS = 120;
const PARSE_SMALL_LOCALLY = 'parse-small-locally';
const PARSE_LOCALLY_MAX_BYTES = 256 * 1024;
/**
 * One patch for what a run does the lean way (issue 15): search attributes written once per workflow
 * task instead of once per step (./attribute-board.ts), a small message parsed locally, no scan and
 * store steps without attachments. Each patch costs a run a marker and a search-attribute write, so a
 * run with this one asks for none of the older patches it includes; runs recorded before it replay
 * through those older patches as they were recorded.
 */
const LEAN_EMAIL_PATH = 'lean-email-path';

/**
 * Whether this run takes the lean path. The ingress says so in the input of every email it starts
 * now, so a run asks for no patch at all: the patch's marker and its TemporalChangeVersion write
 * were two of the engine's events per email and one of its visibility writes. Emails started
 * without the flag decide by the patch, as they were recorded. A flagged run that a worker from
 * before the flag began has the patch's marker in its history; replaying it, the patch is asked for
 * again so the marker matches (asked for while replaying a history without the marker, it records
 * nothing and says no, and the flag decides).
 */
function takesLeanPath(input: ProcessInboundEmailInput): boolean {
  if (input.leanPath !== true) return patched(LEAN_EMAIL_PATH);
  if (workflowInfo().unsafe.isReplaying) patched(LEAN_EMAIL_PATH);
  return true;
}

export async function processInboundEmail(input: ProcessInboundEmailInput): Promise<EmailState> {
  // A reprocess of a completed email runs under its own id but is keyed by the original's, so the
  // acknowledgement, rate counters and the email record are the original's and never doubled.
  const workflowId = input.reprocessOf ?? workflowInfo().workflowId;
  const state = initialState(input);
  setHandler(statusQuery, () => state);
  showEmailDetails(state);
  const lean = takesLeanPath(input);
  const attributes = createAttributeBoard(state, lean);
  // What was gathered is written before the workflow waits on an activity outside this task.
  const activities = activityProxies(input.policy?.maxAttempts, attributes.flush);
  const parking = createParking({
    state,
    attributes,
    overrides: input.overrides,
    overridesBy: input.reprocessedBy,
    parkTimeoutSeconds: input.policy?.parkTimeoutSeconds,
    onPark: (parked) => notify('parked', { parked }),
  });
  const { step } = parking;
  const queue = (): string => parking.overrides().queue ?? input.queue;
  // Issue 19: chat messages and pages by routing rule, never waited for (./notify.ts).
  const notify = emailNotifier({ input, state, workflowId, runWorkflowId: workflowInfo().workflowId, queue, beforeWaiting: attributes.flush });
  const ending = createEnding({
    state,
    workflowId,
    queue,
    rawSha256: input.rawSha256,
    recordEmail: activities.recordEmail,
    attributes,
    onSuppressed: (reason) => notify('suppressed', { reason }),
  });
  const { finish } = ending;
  // A reprocess run with an operator's queue is listed under that queue from its start.
  attributes.set([
    { key: RecipientQueueKey, value: queue() },
    { key: EmailStatusKey, value: 'received' },
  ]);
  // The SDK adds workflowId, runId and workflowType to every line and drops them during replay.
  log.info('email received', { queue: queue(), rawKey: input.rawKey, rawSize: input.rawSize, ...(input.reprocessOf ? { reprocessOf: input.reprocessOf } : {}) });

  try {
    // Held by the ingress: nothing runs until an operator releases it. A reprocess is an operator's
    // own decision, so it is never held again.
    if (input.quarantine && !input.reprocessOf) {
      const released = await holdQuarantined(parking, state, input.quarantine, input.policy?.parkTimeoutSeconds);
      if (!released) {
        // Never parsed: the envelope sender is all the record can name.
        state.requester = input.envelopeFrom;
        return await finish('suppressed');
      }
    }
    let summary: ParseEmailResult;
    try {
      const local = input.rawSize <= PARSE_LOCALLY_MAX_BYTES && (lean || patched(PARSE_SMALL_LOCALLY));
      const parse = local ? activities.parseSmallEmail : activities.parseEmail;
      // A local parse keeps the document in the worker's memory for the steps that follow it (an
      // activity's input is not compared on replay).
      summary = await step('parsing', () => parse({ rawKey: input.rawKey, rawSha256: input.rawSha256, queue: queue(), ...(local ? { storeDocument: false } : {}) }));
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
    applyVerdict(state, verdict, attributes);
    const early = suppressBeforeThreading(verdict);
    if (early) return await finish('suppressed', early);
    const human = verdict.emailClass === 'human';
    if (verdict.allowlisted && !human) state.evidence.push('allowlist: sender may open tickets');

    // Inputs are built when a step runs, so a reprocess's overrides (queue) reach the rerun step.
    const lookup = () => threadLookup(input, summary, verdict, { queue: queue(), sender: state.requester });
    const thread = await findThreadWaiting(parking, activities, lookup, { human, waitLimit: input.policy?.waitForParentSeconds ?? DEFAULT_WAIT_FOR_PARENT_SECONDS });
    applyThread(state, thread.result, thread.waited);
    let match = thread.result.match;
    await learnFromHardBounce(parking, activities, state, verdict, match, lookup().candidates);
    const late = suppressAfterThreading(verdict, match !== null);
    if (late) return await finish('suppressed', late);

    const attachments = await scanAndStore(parking, activities, state, summary, lean);

    const messageId = summary.messageId ?? `${input.idempotencyKey}@mailgate.invalid`;
    const ticketInput = () => {
      const forced = parking.overrides().forceNewTicket === true;
      if (forced && match) match = forgetThread(state);
      return ticketInputFor(forced);
    };
    const ticketInputFor = (forced: boolean) => ({
      workflowId,
      // A forced new ticket has a key of its own: forcing twice still makes only one.
      idempotencyKey: forced ? `${input.idempotencyKey}:forced` : input.idempotencyKey,
      documentKey: summary.documentKey,
      rawKey: input.rawKey,
      ...(summary.documentStored === false ? { documentStored: false } : {}),
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
      // The operator's queue: the ticket the email opens or lands on moves there (issue 13).
      ...(parking.overrides().queue ? { move: { by: parking.authors().queue ?? 'an operator', runWorkflowId: workflowInfo().workflowId } } : {}),
      // An activity's input is not part of the command sequence, so old histories replay unchanged.
      ...(input.messageIdClashWith ? { clashKey: input.rawSha256 } : {}),
    });
    const ticket = await step('ticketing', () => activities.recordTicket(ticketInput()));
    const ticketQueue = queue();
    applyTicket(state, ticket, attributes);
    if (ticket.outcome === 'suppressed') return await finish('suppressed', ticket.reason ?? 'suppressed');
    await notify(ticket.outcome);
    if (ticket.outcome !== 'ticket_created') {
      return await finish(ticket.outcome, match ? `threaded on <${match.messageId}> by ${match.rule}` : undefined);
    }

    await acknowledge(parking, activities, state, {
      workflowId,
      runWorkflowId: workflowInfo().workflowId,
      ticket,
      ticketQueue,
      queue,
      emailClass: verdict.emailClass,
      suspectedAutomated: verdict.suspectedAutomated === true,
      untrusted: verdict.priority.untrusted,
      subject: summary.subject,
      originalMessageId: messageId,
      references: summary.references,
      requesterName: summary.fromName,
    });
    return await finish('ticket_created');
  } catch (error) {
    if (error instanceof Discarded) {
      // Only the acknowledging step parks after the ticket step, and only for a ticket this email opened.
      const discarded = discardEnding({
        step: error.step,
        by: error.by,
        reason: error.reason,
        ticketCreated: state.ticketId !== null,
        acknowledgementSent: state.acknowledgement?.sent === true,
      });
      return await finish(discarded.outcome, discarded.reason);
    }
    await ending.fail(error);
    throw error;
  }
}

// Under worker versioning an email finishes on the build that started it, parked for days or not:
// a new build never replays its history (the old build drains; README "Running on Kubernetes").
declareVersioning('PINNED', processInboundEmail);
