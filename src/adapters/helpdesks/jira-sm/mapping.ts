/**
 * Mailgate's tickets and comments in Jira Service Management's terms, as pure functions:
 *   - the dedupe label `mg-<sha1(origin key)>` (Jira labels allow no spaces; HELPDESK-CONTRACTS §2.1)
 *   - tags as labels, priorities as Jira's five, status by status category (done = closed)
 *   - a footer on every description and comment naming the Message-ID and each file, which agents
 *     read and which makes "is this Message-ID already a comment?" answerable from the comment list,
 *     a consistent read (JQL search lags writes)
 *   - the issue property `mailgate.ticket` (queue, extra queues, requester, link, first message) and
 *     the comment property `mailgate.message` (the full attachment records, for audit)
 */
import { createHash } from 'node:crypto';
import type { AttachmentRecord, NewComment } from '../../../ports/helpdesk';
import type { TicketPriority, TicketStatus } from '../../../domain/vocabulary';

export const TICKET_PROPERTY = 'mailgate.ticket';
export const MESSAGE_PROPERTY = 'mailgate.message';

/** Jira's summary limit (a longer one is a 400). */
export const MAX_SUMMARY_CHARS = 255;
/** Jira's limit on a description or comment body; the footer is kept, the text cut. */
export const MAX_BODY_CHARS = 32_767;

const DEDUPE_LABEL = /^mg-[0-9a-f]{40}$/;

export function dedupeLabel(originKey: string): string {
  return `mg-${createHash('sha1').update(originKey).digest('hex')}`;
}

/** A tag as a Jira label: lower-cased, whitespace as `_` (labels allow none), at most 255 chars. */
export function tagLabel(tag: string): string {
  return tag.toLowerCase().replace(/\s+/g, '_').slice(0, 255);
}

export function tagsOf(labels: readonly string[]): string[] {
  return labels.filter((label) => !DEDUPE_LABEL.test(label));
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

const FOOTER_RULE = '\n\n----\n';
const MESSAGE_LINE = /^Mailgate: Message-ID <([^>\s]+)>$/;
const FILE_LINE = /^Mailgate: file ("(?:[^"\\]|\\.)*")/;

function fileLine(file: AttachmentRecord, link: string | undefined): string {
  const name = JSON.stringify(file.filename);
  if (file.scanStatus !== 'clean' || file.storageKey === null) {
    return `Mailgate: file ${name} not attached (${file.scanStatus}${file.scanDetail ? `: ${file.scanDetail}` : ''})`;
  }
  return link === undefined ? `Mailgate: file ${name} attached` : `Mailgate: file ${name} at ${link}`;
}

/** The body of a description or comment: the text, then the footer. `links` maps storage keys to URLs (links mode). */
export function bodyOf(comment: NewComment, links: ReadonlyMap<string, string> = new Map()): string {
  const lines = [`Mailgate: Message-ID <${comment.messageId}>`];
  if (comment.author) lines.push(`Mailgate: from ${comment.author}`);
  for (const file of comment.attachments) lines.push(fileLine(file, file.storageKey === null ? undefined : links.get(file.storageKey)));
  const footer = `${FOOTER_RULE}${lines.join('\n')}`;
  const room = MAX_BODY_CHARS - footer.length;
  const text = comment.text.trim() === '' ? '(no text)' : comment.text;
  return `${text.length > room ? `${text.slice(0, room - 1)}…` : text}${footer}`;
}

export interface ParsedBody {
  text: string;
  messageId: string | null;
  filenames: string[];
}

/** Reads back what `bodyOf` wrote; a body without a Mailgate footer is all text. */
export function parseBody(body: string): ParsedBody {
  const at = body.lastIndexOf(FOOTER_RULE);
  if (at < 0) return { text: body, messageId: null, filenames: [] };
  const lines = body.slice(at + FOOTER_RULE.length).split('\n');
  const messageId = MESSAGE_LINE.exec(lines[0] ?? '')?.[1] ?? null;
  if (messageId === null) return { text: body, messageId: null, filenames: [] };
  const filenames: string[] = [];
  for (const line of lines) {
    const quoted = FILE_LINE.exec(line)?.[1];
    if (quoted) filenames.push(JSON.parse(quoted) as string);
  }
  return { text: body.slice(0, at), messageId, filenames };
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
