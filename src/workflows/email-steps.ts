/**
 * The steps of processInboundEmail after parsing, each a small function over the email's state: the
 * thread lookup (with its bounded wait for a late parent), what a hard bounce teaches, scanning and
 * storing attachments as one record each, and the acknowledgement. Workflow code: deterministic,
 * activities only through the proxies.
 */
import { patched, sleep } from '@temporalio/workflow';
import type { AttributeBoard } from './attribute-board';
import type { ClassifyEmailResult } from '../activities/classify-email';
import type { FindThreadInput, FindThreadResult } from '../activities/find-thread';
import type { ParseEmailResult } from '../activities/parse-email';
import type { RecordTicketResult } from '../activities/record-ticket';
import type { SendAcknowledgementResult } from '../activities/send-acknowledgement';
import { acknowledgementRefusal, forceNewTicketRefusal, type AttachmentFacts } from '../domain/decisions';
import { threadCandidates } from '../domain/threading';
import type { EmailClass } from '../domain/vocabulary';
import type { activityProxies } from './activity-proxies';
import { REPROCESS_OPTIONS, type Parking } from './parking';
import { EmailClassKey, TicketIdKey } from './search-attributes';
import type { EmailState, ProcessInboundEmailInput } from './types';

export type Activities = ReturnType<typeof activityProxies>;

const MAX_THREAD_CANDIDATES = 20;
/** Polls for a late parent back off to this interval: a few lookups a minute at most. */
const MAX_PARENT_POLL_SECONDS = 15;
const SKIP_EMPTY_ATTACHMENT_STEPS = 'skip-empty-attachment-steps';
/**
 * Issue 12: the bounce step asks the ledger whether the report returns an acknowledgement we sent
 * (by the returned Message-ID or the report's own references) instead of trusting the thread rule.
 */
const BOUNCE_MARKS_CHECKED = 'bounce-marks-checked';

/**
 * The acknowledgement of a new ticket, or the reason there is none. A send the ledger did not hear of
 * is recorded in a step of its own (retried, parked if need be), never sent again. When the step
 * parked and an operator reprocesses it, the step reads the overrides again (behind a patch): a queue
 * moves the ticket first, skipAck ends the step without sending, forceNewTicket is refused (the
 * email's own ticket exists) and the refusal noted.
 */
export async function acknowledge(
  parking: Parking,
  activities: Activities,
  state: EmailState,
  email: {
    workflowId: string;
    /** This run's own id (a reprocess run's differs from `workflowId`): the ledger keys moves by it. */
    runWorkflowId: string;
    ticket: RecordTicketResult;
    /** The queue the ticket step put the ticket in. */
    ticketQueue: string;
    queue: () => string;
    emailClass: EmailClass;
    /** The classifier's doubt (Classification.suspectedAutomated); absent in verdicts older than it. */
    suspectedAutomated?: boolean;
    untrusted: boolean;
    subject: string;
    originalMessageId: string;
    references: string[];
    requesterName?: string;
  },
): Promise<void> {
  const refusal = () =>
    acknowledgementRefusal({
      emailClass: email.emailClass,
      suspectedAutomated: email.suspectedAutomated,
      requester: state.requester,
      ticketCreated: email.ticket.ticketCreated,
      skipAck: parking.overrides().skipAck === true,
      skippedBy: parking.authors().skipAck,
    });
  const before = refusal();
  if (before) {
    state.reasons.push(before);
    return;
  }
  const input = () => ({
    workflowId: email.workflowId,
    ticketId: email.ticket.ticketId!,
    ticketNumber: email.ticket.ticketNumber!,
    queue: email.queue(),
    to: state.requester!,
    subject: email.subject,
    originalMessageId: email.originalMessageId,
    references: email.references,
    untrusted: email.untrusted,
    ...(email.requesterName ? { requesterName: email.requesterName } : {}),
  });
  let ticketQueue = email.ticketQueue;
  let forceNoted = false;
  // Runs again on every reprocess of the parked step, so it sees the overrides of that decision.
  const send = async (): Promise<SendAcknowledgementResult | null> => {
    const overrides = parking.overrides();
    if (overrides.forceNewTicket && !forceNoted) {
      forceNoted = true;
      const ownTicket = { id: email.ticket.ticketId!, number: email.ticket.ticketNumber };
      state.evidence.push(`reprocess: forceNewTicket ignored: ${forceNewTicketRefusal({ ownTicket })}`);
    }
    if (email.queue() !== ticketQueue && patched(REPROCESS_OPTIONS)) {
      const to = email.queue();
      const moved = await activities.moveTicket({ ticketId: email.ticket.ticketId!, queue: to, by: parking.authors().queue ?? 'an operator', runWorkflowId: email.runWorkflowId });
      ticketQueue = to;
      if (moved.moved) state.reasons.push(movedReason(moved));
    }
    if (overrides.skipAck && patched(REPROCESS_OPTIONS)) return null;
    return activities.sendAcknowledgement(input());
  };
  const acknowledgement = await parking.step('acknowledging', send);
  if (acknowledgement === null) {
    state.reasons.push(refusal() ?? 'not acknowledged: skipped on reprocess');
    return;
  }
  state.acknowledgement = acknowledgement;
  if (acknowledgement.sent && acknowledgement.recorded === false) {
    await parking.step('acknowledging', () => activities.markAcknowledgementSent(email.workflowId));
    state.acknowledgement = { ...acknowledgement, recorded: true };
  }
  if (!acknowledgement.sent) state.reasons.push(acknowledgement.reason);
}

function movedReason(moved: { from: string; to: string; by: string }): string {
  return `ticket moved from ${moved.from} to ${moved.to} by ${moved.by}`;
}

/** What the thread lookup is given: the email's references and the hints the parse step found. */
export function threadLookup(
  input: ProcessInboundEmailInput,
  summary: ParseEmailResult,
  verdict: ClassifyEmailResult,
  email: { queue: string; sender: string | null },
): FindThreadInput & { candidates: string[] } {
  return {
    documentKey: summary.documentKey,
    // Parsed before the parse step found them: the lookup reads them from the document.
    ...(summary.classification ? { bodyMarker: summary.bodyMarker ?? null, returnedMessageId: verdict.returnedMessageId } : {}),
    queue: email.queue,
    recipient: input.recipient,
    sender: email.sender,
    subject: summary.subject,
    candidates: threadCandidates({ inReplyTo: summary.inReplyTo, references: summary.references, ownMessageId: summary.messageId, max: MAX_THREAD_CANDIDATES }),
    replyTokens: input.policy?.replyTokens ?? true,
    untrusted: verdict.priority.untrusted,
    // Activity inputs are not compared on replay: older histories keep theirs.
    human: verdict.emailClass === 'human',
    receivedAt: input.receivedAt,
  };
}

/**
 * A hard bounce of an acknowledgement marks the address it was sent to undeliverable: no more
 * acknowledgements to it until the mark expires. The activity checks the report against the ledger;
 * a recipient it refuses is recorded with the reason.
 */
export async function learnFromHardBounce(
  parking: Parking,
  activities: Activities,
  state: EmailState,
  verdict: ClassifyEmailResult,
  match: FindThreadResult['match'],
  candidates: string[],
): Promise<void> {
  if (verdict.bounce?.kind !== 'hard') return;
  if (patched(BOUNCE_MARKS_CHECKED)) {
    if (!verdict.returnedMessageId && candidates.length === 0) {
      state.reasons.push('hard bounce that names no returned message: nothing marked undeliverable');
      return;
    }
    const reason = `hard bounce ${verdict.bounce.status ?? ''} of <${verdict.returnedMessageId ?? candidates[0]}>`.replace('  ', ' ');
    const input = { recipients: verdict.bounce.recipients, reason, returnedMessageId: verdict.returnedMessageId, candidates };
    const result = await parking.step('threading', () => activities.recordHardBounce(input));
    if (result.marked.length > 0) state.reasons.push(`marked undeliverable: ${result.marked.join(', ')}`);
    state.reasons.push(...result.refused);
    return;
  }
  if (!verdict.returnedMessageId || !match || !['own-message-id', 'bounce-original'].includes(match.rule)) return;
  const bounce = { recipients: verdict.bounce.recipients, reason: `hard bounce ${verdict.bounce.status ?? ''} of <${verdict.returnedMessageId}>`.replace('  ', ' ') };
  const result = await parking.step('threading', () => activities.recordHardBounce(bounce));
  // A run from before the patch got no result back; its reason stays as it was.
  if (!result) state.reasons.push(`marked undeliverable: ${verdict.bounce.recipients.join(', ')}`);
  else {
    if (result.marked.length > 0) state.reasons.push(`marked undeliverable: ${result.marked.join(', ')}`);
    state.reasons.push(...result.refused);
  }
}

export function applyVerdict(state: EmailState, verdict: ClassifyEmailResult, attributes: AttributeBoard): void {
  state.emailClass = verdict.emailClass;
  state.evidence.push(...verdict.evidence);
  state.bounce = verdict.bounce;
  state.priority = verdict.priority.priority;
  state.tags = verdict.priority.tags;
  attributes.set([{ key: EmailClassKey, value: verdict.emailClass }]);
}

export function applyThread(state: EmailState, thread: FindThreadResult, waited: number): void {
  state.waitedForParentSeconds = waited;
  if (waited > 0) state.evidence.push(thread.match ? `thread:waited ${waited}s for the parent` : `thread:parent not seen within ${waited}s`);
  state.evidence.push(...thread.refused);
  if (thread.match) {
    state.threadedOn = thread.match.messageId;
    state.threadRule = thread.match.rule;
    state.evidence.push(`thread:${thread.match.rule}`);
  }
}

/** An operator forced a new ticket after the thread was found: the email no longer threads. */
export function forgetThread(state: EmailState): null {
  state.evidence.push('reprocess: a new ticket was forced');
  state.threadedOn = null;
  state.threadRule = null;
  return null;
}

export function applyTicket(state: EmailState, ticket: RecordTicketResult, attributes: AttributeBoard): void {
  state.ticketId = ticket.ticketId;
  state.ticketNumber = ticket.ticketNumber;
  state.reopened = ticket.reopened;
  state.linkedTicketId = ticket.linkedTicketId;
  if (ticket.ticketId) attributes.set([{ key: TicketIdKey, value: ticket.ticketId }]);
  attributes.details();
  for (const q of ticket.quarantined) state.reasons.push(`attachment "${q.filename}" quarantined: ${q.signature}`);
  // State only (no workflow command): runs recorded before `cut` existed replay unchanged.
  for (const line of ticket.cut ?? []) state.reasons.push(line);
  for (const line of ticket.notes ?? []) state.reasons.push(line);
  if (ticket.moved?.moved) state.reasons.push(movedReason(ticket.moved));
  if (ticket.outcome === 'ticket_created') {
    if (ticket.reopened) state.reasons.push('reopened the closed ticket');
    if (ticket.linkedTicketId) state.reasons.push(`new ticket linked to ticket ${ticket.linkedTicketId}`);
  }
}

/**
 * The thread lookup. A reply can overtake its parent (two mail servers, a retry): human mail that
 * refers to unknown messages waits, bounded and backing off, for the parent before a new ticket is
 * opened. When the parent is already known nothing waits. An operator's forceNewTicket skips it all.
 */
export async function findThreadWaiting(
  parking: Parking,
  activities: Activities,
  lookup: () => FindThreadInput & { candidates: string[] },
  options: { human: boolean; waitLimit: number },
): Promise<{ result: FindThreadResult; waited: number }> {
  const forced = (): boolean => parking.overrides().forceNewTicket === true;
  const refusedByOperator: FindThreadResult = { match: null, refused: ['reprocess: a new ticket was forced'] };
  let result = await parking.step('threading', () => activities.findThread(lookup()));
  if (forced()) result = refusedByOperator;
  let waited = 0;
  let pause = 1;
  while (!result.match && !forced() && options.human && lookup().candidates.length > 0 && waited < options.waitLimit) {
    const seconds = Math.min(pause, options.waitLimit - waited);
    parking.attributes.flush();
    await sleep(seconds * 1000);
    waited += seconds;
    pause = Math.min(pause * 2, MAX_PARENT_POLL_SECONDS);
    result = await parking.step('threading', () => activities.findThread(lookup()));
  }
  return { result, waited };
}

/**
 * Scanning and storing, as one record per attachment. Most mail has no attachment: then both steps
 * are skipped, two engine round trips fewer per email. (Behind a patch: runs started before it
 * replay with the empty steps.)
 */
export async function scanAndStore(parking: Parking, activities: Activities, state: EmailState, summary: ParseEmailResult, lean: boolean): Promise<AttachmentFacts[]> {
  const facts: AttachmentFacts[] = summary.attachments.map((part) => ({ ...part, scan: null, storageKey: null }));
  // A lean run (process-inbound-email.ts) skips them without asking for the older patch.
  const skipEmpty = facts.length === 0 && (lean || patched(SKIP_EMPTY_ATTACHMENT_STEPS));
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
