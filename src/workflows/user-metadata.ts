/**
 * What the Temporal Web UI shows of Mailgate's workflows (Temporal user metadata), worded in one
 * place so the list reads as an operator's worklist:
 * - the static summary (one line, at most 200 bytes, in the workflow list) and static details (the
 *   workflow's page) set when a workflow starts: for an email its subject, sender and queue;
 * - the current details (markdown on the workflow's page) the email workflow keeps up to date: the
 *   step and outcome, the ticket once it exists, and while parked why, since when and what to do;
 * - the summary of every activity call ("scan 3 attachments", "open a ticket in support@…").
 *
 * Everything here is metadata: it changes no workflow command, so old histories replay unchanged.
 * Text that comes from an email (subject, addresses, error messages) is escaped, so it shows as
 * written and can never become a link, an image or HTML in the UI. Pure functions, except
 * `showEmailDetails`, which must run inside the workflow.
 */
import { setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { EmailState, ProcessInboundEmailInput } from './types';

/** Temporal's limit for a static summary (the UI's list shows one line). */
export const SUMMARY_MAX_BYTES = 200;
/** Well below Temporal's 20 KB for details: the page stays readable. */
const DETAILS_MAX_BYTES = 8_000;
/** A header field in the details: a subject, an address (RFC 5321 caps a path at 256). */
const FIELD_MAX_BYTES = 1_000;

/** The operator CLI as the README runs it from a clone. */
const CLI = 'scripts/mailgate';

/**
 * One line of text as markdown shows it literally: control characters and line breaks become
 * spaces; every character that starts inline markup (emphasis, code, links, images, HTML, entities,
 * strike-through, tables) is backslash-escaped, and so is what would make a line a heading, list or
 * quote, and a bare URL (`https://…`, `www.…`) that would become a link. Addresses and words stay
 * as they are, so a plain-text reader sees them unchanged.
 */
export function markdownText(text: string): string {
  return text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_[\]<>!&~|]/g, (c) => `\\${c}`)
    .replace(/^([#+=-])/, '\\$1')
    .replace(/^(\d+)([.)])/, '$1\\$2')
    .replace(/:\/\//g, '\\://')
    .replace(/\b(www)\./gi, '$1\\.');
}

/** Code spans are read literally; one that contains backticks is fenced with more of them. */
function code(text: string): string {
  const flat = text.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return longest > 0 ? `${fence} ${flat} ${fence}` : `${fence}${flat}${fence}`;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes at a character boundary, with an ellipsis when cut. */
export function clip(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const size = utf8Length(ch);
    if (bytes + size + 3 > maxBytes) break;
    out += ch;
    bytes += size;
  }
  // An escape cut in half would escape the ellipsis instead.
  return `${out.replace(/(^|[^\\])\\$/, '$1')}…`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** What the ingress knows of an email from its header block (subject decoded and redacted). */
export interface EmailHeadline {
  subject: string | null;
  from: string | null;
}

/**
 * The email workflow's static summary: `"subject" from sender to queue`, the subject cut first so
 * the sender and queue always fit in Temporal's 200 bytes.
 */
export function emailSummary(headline: EmailHeadline, queue: string): string {
  const sender = markdownText(clip(headline.from ?? 'unknown sender', 80));
  const tail = ` from ${sender} to ${markdownText(queue)}`;
  const subject = headline.subject?.trim() ? headline.subject : '(no subject)';
  // The quotes take 3 bytes each; the sender is at most 80 characters, so a subject always shows.
  const room = SUMMARY_MAX_BYTES - utf8Length(tail) - 6;
  return clip(`“${clip(markdownText(subject), Math.max(room, 12))}”${tail}`, SUMMARY_MAX_BYTES);
}

/** The email workflow's static details: what arrived and how to look it up. */
export function emailStartDetails(workflowId: string, headline: EmailHeadline, input: ProcessInboundEmailInput): string {
  // A header can be 256 KB long; the server refuses details that large, and nobody reads them.
  const field = (text: string): string => markdownText(clip(text, FIELD_MAX_BYTES));
  const lines = [
    `**Subject:** ${field(headline.subject?.trim() ? headline.subject : '(no subject)')}`,
    `**From:** ${field(headline.from ?? 'unknown')}${input.envelopeFrom && input.envelopeFrom !== headline.from ? ` (envelope ${field(input.envelopeFrom)})` : ''}`,
    `**Queue:** ${field(input.queue)}${input.recipient !== input.queue ? ` (delivered to ${field(input.recipient)})` : ''}`,
    `**Received:** ${input.receivedAt}, ${bytes(input.rawSize)} stored as ${code(input.rawKey)}`,
    ...(input.messageIdClashWith ? [`**Message-ID clash:** an earlier, different message used its Message-ID (${code(input.messageIdClashWith)})`] : []),
    `**Look it up:** ${code(`${CLI} emails show ${workflowId}`)} or ${code(`GET /v1/emails/${workflowId}`)}; its step, ticket and reasons are under Current Details.`,
  ];
  return clip(lines.join('\n\n'), DETAILS_MAX_BYTES);
}

/** A reprocess run's summary: the original's, marked as a reprocess. */
export function reprocessSummary(originalSummary: string | undefined, origin: string): string {
  const base = originalSummary?.replace(/^reprocess: /, '') || markdownText(origin);
  return clip(`reprocess: ${base}`, SUMMARY_MAX_BYTES);
}

export function retentionSummary(everyMinutes: number): string {
  return `retention sweep (every ${plural(everyMinutes, 'minute')}): deletes what outlived its retention period`;
}

/** No address: workflow summaries are listed to every operator. */
export function erasureSummary(request: { dryRun: boolean; requestedBy: string }): string {
  return clip(`${request.dryRun ? 'erasure dry run (counts only)' : 'erasure of one requester'}, requested by ${markdownText(request.requestedBy)}`, SUMMARY_MAX_BYTES);
}

const STEP_WORDS: Record<EmailState['step'], string> = {
  received: 'received, waiting to be parsed',
  quarantine: 'held in quarantine by the ingress (DMARC): release or discard it',
  parsing: 'parsing the raw message',
  classifying: 'classifying (auto-reply, bounce, list, loop, human)',
  scanning: 'scanning attachments with ClamAV',
  storing: 'storing clean attachments',
  threading: 'finding the conversation it belongs to',
  ticketing: 'writing the ticket or comment',
  acknowledging: 'sending the acknowledgement',
  done: 'done',
};

const OUTCOME_WORDS: Record<EmailState['outcome'], string> = {
  pending: 'in progress',
  parked: 'parked: waiting for an operator',
  ticket_created: 'ticket created',
  comment_added: 'comment added to an existing ticket',
  note_added: 'internal note added to an existing ticket',
  suppressed: 'suppressed: no ticket',
  rejected: 'rejected: no ticket',
  discarded: 'discarded by an operator',
  failed: 'failed',
};

function ticketLine(state: EmailState): string | null {
  if (!state.ticketId) return null;
  const number = state.ticketNumber !== null ? `#${state.ticketNumber}` : 'without a number';
  const how = state.outcome === 'comment_added' || state.outcome === 'note_added' || state.threadedOn ? ' (threaded)' : '';
  return `**Ticket:** ${number}${how}, id ${code(state.ticketId)}${state.reopened ? ', reopened' : ''}`;
}

/** What to do with a parked email: the exact commands and routes for this workflow. */
function parkedLines(state: EmailState, workflowId: string): string[] {
  const parked = state.parked!;
  return [
    `**Parked at ${parked.step}** since ${parked.since}: ${markdownText(STEP_WORDS[parked.step])} kept failing.`,
    `**Why:** ${markdownText(parked.errorType)}: ${markdownText(parked.message)}`,
    '**What to do:** fix the cause, then run the failed step again (finished steps keep their results), or end the email with a reason:',
    [
      `- retry: ${code(`${CLI} emails reprocess ${workflowId}`)} (options ${code('--queue ADDRESS')}, ${code('--skip-ack')}, ${code('--force-new-ticket')})`,
      `- give up: ${code(`${CLI} emails discard ${workflowId} --reason "why"`)}`,
      `- API: ${code(`POST /v1/emails/${workflowId}/reprocess`)} with ${code('{}')} or the options, ${code(`POST /v1/emails/${workflowId}/discard`)} with ${code('{"reason": "why"}')}`,
    ].join('\n'),
  ];
}

/**
 * The summary of the timer a parked email waits on: the one line of the workflow page's timeline
 * that says why it stopped and what is awaited (the details tab has the commands).
 */
export function parkSummary(parked: NonNullable<EmailState['parked']>): string {
  const head = `parked at ${parked.step}: ${markdownText(parked.errorType)}: `;
  const tail = ' · waiting for an operator to reprocess or discard (commands in User Metadata, Current Details)';
  const room = SUMMARY_MAX_BYTES - utf8Length(head) - utf8Length(tail);
  return clip(`${head}${clip(markdownText(parked.message), Math.max(room, 24))}${tail}`, SUMMARY_MAX_BYTES);
}

/** The email workflow's current details: step and outcome, the ticket, and when parked what to do. */
export function emailDetails(state: EmailState, workflowId: string): string {
  const lines: string[] = [];
  if (state.parked) lines.push(...parkedLines(state, workflowId));
  else if (state.step === 'done') lines.push(`**Outcome:** ${markdownText(state.outcome)}: ${markdownText(OUTCOME_WORDS[state.outcome])}`);
  else lines.push(`**Step:** ${state.step}: ${markdownText(STEP_WORDS[state.step])}`);
  const ticket = ticketLine(state);
  if (ticket) lines.push(ticket);
  const facts = [
    `**Queue:** ${markdownText(state.queue)}`,
    ...(state.emailClass ? [`**Class:** ${markdownText(state.emailClass)}`] : []),
    ...(state.attachments.length > 0 ? [`**Attachments:** ${state.attachments.length}`] : []),
    ...(state.acknowledgement ? [`**Acknowledgement:** ${state.acknowledgement.sent ? 'sent' : markdownText(`not sent: ${state.acknowledgement.reason}`)}`] : []),
  ];
  lines.push(facts.join(' · '));
  if (state.reasons.length > 0) lines.push(['**Reasons:**', ...state.reasons.slice(-10).map((r) => `- ${markdownText(r)}`)].join('\n'));
  return clip(lines.join('\n\n'), DETAILS_MAX_BYTES);
}

/** Shows the email's state as the workflow's current details. Workflow code only. */
export function showEmailDetails(state: EmailState): void {
  setCurrentDetails(emailDetails(state, workflowInfo().workflowId));
}

type Input<K extends keyof Activities> = Parameters<Activities[K]>[0];

/** The summary of each activity call, from its input (the event history shows it per call). */
export const activitySummaries = {
  parseEmail: (input: Input<'parseEmail'>) => `parse the raw message ${shortKey(input.rawKey)} for ${input.queue ?? 'its queue'}`,
  classifyEmail: () => 'classify: auto-reply, bounce, list, loop or human',
  findThread: (input: Input<'findThread'>) => {
    const refs = input.candidates.length > 0 ? plural(input.candidates.length, 'referenced Message-ID') : 'no references';
    return `find the thread in ${input.queue}: ${refs}, reply token, body marker, subject token`;
  },
  recordHardBounce: (input: Input<'recordHardBounce'>) => `mark ${plural(input.recipients.length, 'bounced recipient')} undeliverable`,
  scanAttachments: (input: Input<'scanAttachments'>) => {
    const skipped = input.parts.filter((p) => p.skippedReason !== null).length;
    return `scan ${plural(input.parts.length - skipped, 'attachment')} with ClamAV${skipped > 0 ? ` (${skipped} skipped by policy)` : ''}`;
  },
  storeAttachments: (input: Input<'storeAttachments'>) => {
    const clean = input.parts.filter((p) => p.status === 'clean').length;
    return `store ${plural(clean, 'clean attachment')}${input.parts.length > clean ? `, set aside ${input.parts.length - clean} other` : ''}`;
  },
  recordTicket: (input: Input<'recordTicket'>) =>
    input.thread
      ? `add to ticket #${input.thread.ticketNumber} in ${input.queue} (matched by ${input.thread.rule})`
      : input.automated
        ? `record automated mail for ${input.queue} (no new ticket)`
        : `open a ticket in ${input.queue} for ${input.requester}`,
  recordEmail: (input: Input<'recordEmail'>) => `record the email as ${input.outcome}`,
  sendAcknowledgement: (input: Input<'sendAcknowledgement'>) => `acknowledge ticket #${input.ticketNumber} to ${input.to} from ${input.queue}`,
  markAcknowledgementSent: () => 'record that the acknowledgement was sent',
  sweepObjects: (input: Input<'sweepObjects'>) => `sweep ${input.kind} objects under ${input.prefix}${input.after ? ' (next page)' : ''}`,
  purgeEmailRecords: () => 'purge email records past their retention',
  planErasure: () => "count what erasing the requester's data would remove",
  eraseObjects: () => "erase the requester's raw messages, documents and attachments",
  eraseRows: () => "erase the requester's tickets and ledger rows",
  recordErasure: (input: Input<'recordErasure'>) => `record the ${input.dryRun ? 'dry run' : 'erasure'} in the audit log`,
} satisfies { [K in keyof Activities]?: (input: Input<K>) => string };

function shortKey(key: string): string {
  return key.length > 24 ? `${key.slice(0, 20)}…` : key;
}
