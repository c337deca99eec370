/**
 * Mailgate's tickets and comments in Jira Service Management's terms, as pure functions:
 *   - the dedupe label `mg-<sha1(origin key)>` (Jira labels allow no spaces; HELPDESK-CONTRACTS §2.1)
 *   - tags as labels, priorities as Jira's five, status by status category (done = closed)
 *   - the Mailgate footer (../footer.ts) on every description and comment, so "is this Message-ID
 *     already a comment?" is answered from the comment list, a consistent read (JQL search lags)
 *   - the issue property `mailgate.ticket` (queue, extra queues, requester, link, first message) and
 *     the comment property `mailgate.message` (the full attachment records, for audit)
 */
import { createHash } from 'node:crypto';
import type { AttachmentRecord } from '../../../ports/helpdesk';
import type { TicketPriority, TicketStatus } from '../../../domain/vocabulary';

export const TICKET_PROPERTY = 'mailgate.ticket';
export const MESSAGE_PROPERTY = 'mailgate.message';

/** Jira's summary limit (a longer one is a 400). */
export const MAX_SUMMARY_CHARS = 255;
/** Jira's limit on a description or comment body; the footer is kept, the text cut. */
export const MAX_BODY_CHARS = 32_767;

export { parseBody, type ParsedBody } from '../footer';

const DEDUPE_LABEL = /^mg-[0-9a-f]{40}$/;

export function dedupeLabel(originKey: string): string {
  return `mg-${createHash('sha1').update(originKey).digest('hex')}`;
}

/** A tag as a Jira label: lower-cased, whitespace as `_` (labels allow none), at most 255 chars. */
export function tagLabel(tag: string): string {
  return tag.toLowerCase().replace(/\s+/g, '_').slice(0, 255);
}

/** The label of a queue the request serves (agents filter and route on it). */
export function queueLabel(queue: string): string {
  return tagLabel(`mailgate-queue:${queue}`);
}

export function isQueueLabel(label: string): boolean {
  return label.startsWith('mailgate-queue:');
}

export function tagsOf(labels: readonly string[]): string[] {
  return labels.filter((label) => !DEDUPE_LABEL.test(label) && !isQueueLabel(label));
}

const PRIORITY_NAMES: Record<TicketPriority, string> = { urgent: 'Highest', high: 'High', normal: 'Medium', low: 'Low' };

export function priorityName(priority: TicketPriority): string {
  return PRIORITY_NAMES[priority];
}

export function priorityOf(name: string | undefined): TicketPriority {
  switch (name) {
    case 'Highest':
      return 'urgent';
    case 'High':
      return 'high';
    case 'Low':
    case 'Lowest':
      return 'low';
    default:
      return 'normal';
  }
}

export function statusOf(categoryKey: string | undefined): TicketStatus {
  return categoryKey === 'done' ? 'closed' : 'open';
}

/** The issue key's number (`SD-42` → 42), or null for something that is not an issue key. */
export function numberOfKey(key: string): number | null {
  const match = /^[A-Z][A-Z0-9_]*-([1-9]\d{0,9})$/.exec(key);
  return match?.[1] ? Number(match[1]) : null;
}

/** A summary Jira accepts: one line, at most 255 characters. */
export function summaryOf(subject: string): string {
  const line = subject.replace(/[\r\n]+/g, ' ').trim();
  const text = line === '' ? '(no subject)' : line;
  return text.length > MAX_SUMMARY_CHARS ? `${text.slice(0, MAX_SUMMARY_CHARS - 1)}…` : text;
}

/** What Mailgate keeps on the issue (entity property `mailgate.ticket`). */
export interface TicketProperty {
  originKey: string;
  queue: string;
  extraQueues: string[];
  requester: string;
  linkedTicketId: string | null;
  firstMessage: { messageId: string; attachments: AttachmentRecord[] };
}

/** What Mailgate keeps on each comment (entity property `mailgate.message`); `complete` once its files are attached. */
export interface MessageProperty {
  messageId: string;
  attachments: AttachmentRecord[];
  complete: boolean;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The property as stored, or null when it is missing or not Mailgate's shape (an issue made by hand). */
export function readTicketProperty(value: unknown): TicketProperty | null {
  if (!isRecord(value) || typeof value.queue !== 'string' || typeof value.requester !== 'string' || typeof value.originKey !== 'string') return null;
  const first = isRecord(value.firstMessage) ? value.firstMessage : {};
  return {
    originKey: value.originKey,
    queue: value.queue,
    extraQueues: Array.isArray(value.extraQueues) ? value.extraQueues.filter((q): q is string => typeof q === 'string') : [],
    requester: value.requester,
    linkedTicketId: typeof value.linkedTicketId === 'string' ? value.linkedTicketId : null,
    firstMessage: {
      messageId: typeof first.messageId === 'string' ? first.messageId : '',
      attachments: Array.isArray(first.attachments) ? (first.attachments as AttachmentRecord[]) : [],
    },
  };
}
