/**
 * Validation and normalization of what callers write, shared by both backends so they store the
 * same values. Callers include the HTTP layer and rule engines, so values are checked at run time
 * even where the types already forbid them: a bad value must fail clearly, not as a CHECK violation.
 */
import { mailboxOf } from '../../domain/mailbox';
import { InvalidTicketInputError } from './errors';
import { normalizeAddress } from './keys';
import type { CreateTicketInput, EmailClass, EmailOutcomeRecord, EmailRecord, TicketPriority, TicketStatus } from './types';
import type { NotificationRecord } from '../../ports/ledger';

export const TICKET_STATUSES: readonly string[] = ['open', 'pending', 'closed'] satisfies TicketStatus[];
export const PRIORITIES: readonly string[] = ['low', 'normal', 'high', 'urgent'] satisfies TicketPriority[];
export const EMAIL_CLASSES: readonly string[] = ['human', 'auto_reply', 'auto_generated', 'bounce', 'own_loop'] satisfies EmailClass[];
export const EMAIL_OUTCOMES: readonly string[] = [
  'ticket_created',
  'comment_added',
  'note_added',
  'suppressed',
  'rejected',
  'failed',
] satisfies EmailOutcomeRecord[];

export const MAX_TAGS = 50;
export const MAX_TAG_LENGTH = 100;

function oneOf<T extends string>(value: unknown, allowed: readonly string[], what: string): T {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidTicketInputError(`${what} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

export function resolveStatus(status: unknown): TicketStatus {
  return oneOf<TicketStatus>(status, TICKET_STATUSES, 'status');
}

/** Lower-cased, trimmed, first occurrence kept; the limits bound what a runaway rule set can store. */
export function normalizeTags(tags: readonly unknown[] | undefined): string[] {
  const unique = new Set<string>();
  for (const raw of tags ?? []) {
    if (typeof raw !== 'string') throw new InvalidTicketInputError(`tags must be strings, got ${typeof raw}`);
    const tag = raw.trim().toLowerCase();
    if (tag === '') throw new InvalidTicketInputError('a tag must not be empty');
    if ([...tag].length > MAX_TAG_LENGTH) {
      throw new InvalidTicketInputError(`tag "${tag.slice(0, 40)}..." is longer than ${MAX_TAG_LENGTH} characters`);
    }
    unique.add(tag);
  }
  if (unique.size > MAX_TAGS) throw new InvalidTicketInputError(`a ticket takes at most ${MAX_TAGS} tags, got ${unique.size}`);
  return [...unique];
}

/**
 * A time as `YYYY-MM-DDTHH:mm:ss.sssZ`. Rate windows compare these as text in SQLite, which is only
 * correct when every value has this one shape; years outside 0000..9999 would not (±YYYYYY).
 */
export function isoInstant(value: unknown, what: string): string {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new InvalidTicketInputError(`${what} is not a date: ${String(value)}`);
  const iso = date.toISOString();
  if (!/^\d{4}-/.test(iso)) throw new InvalidTicketInputError(`${what} is outside the years 0000 to 9999: ${String(value)}`);
  return iso;
}

/** The ticket columns a create writes, beyond the ids and timestamps. */
export interface NewTicketColumns {
  subject: string;
  requester: string;
  queue: string;
  priority: TicketPriority;
  /** JSON array text. */
  tags: string;
  linkedTicketId: string | null;
}

export function resolveNewTicket(input: CreateTicketInput): NewTicketColumns {
  return {
    subject: input.subject,
    requester: normalizeAddress(input.requester),
    queue: normalizeAddress(input.queue),
    priority: oneOf<TicketPriority>(input.priority ?? 'normal', PRIORITIES, 'priority'),
    tags: JSON.stringify(normalizeTags(input.tags)),
    linkedTicketId: input.linkedTicketId ?? null,
  };
}

export function linkedTicketMissing(linkedTicketId: string): InvalidTicketInputError {
  return new InvalidTicketInputError(`linked ticket ${linkedTicketId} does not exist`);
}

/** The values of an `emails` row in column order, from workflow_id to ticket_id. */
function rawSha256Of(value: string | null | undefined): string | null {
  if (value === undefined || value === null) return null;
  if (!/^[0-9a-f]{64}$/.test(value)) throw new InvalidTicketInputError('rawSha256 must be 64 lower-case hex digits');
  return value;
}

export function emailColumns(record: EmailRecord): (string | null)[] {
  if (!Array.isArray(record.evidence) || !record.evidence.every((e: unknown) => typeof e === 'string')) {
    throw new InvalidTicketInputError('evidence must be a list of strings');
  }
  return [
    record.workflowId,
    record.messageId,
    normalizeAddress(record.queue),
    record.sender === null ? null : normalizeAddress(record.sender),
    record.subject,
    record.emailClass === null ? null : oneOf<EmailClass>(record.emailClass, EMAIL_CLASSES, 'emailClass'),
    JSON.stringify(record.evidence),
    oneOf<EmailOutcomeRecord>(record.outcome, EMAIL_OUTCOMES, 'outcome'),
    record.reason,
    record.ticketId,
    rawSha256Of(record.rawSha256),
  ];
}

/**
 * The address in a comment author: authors are free text, and while the pipeline stores a bare
 * address, a display form ("Alice <alice@example.com>") must match its address too.
 */
/**
 * A message may name thousands of Cc addresses; a ticket records the first ones only (a bound on
 * what one hostile message can write, and more parties than any real conversation has).
 */
export const MAX_PARTICIPANTS_PER_MESSAGE = 50;

/** The distinct mailboxes of `addresses` that look like addresses, at most MAX_PARTICIPANTS_PER_MESSAGE. */
export function participantMailboxes(addresses: string[]): string[] {
  const mailboxes = addresses.map((a) => mailboxOf(authorAddress(a))).filter((m) => /^[^@\s]+@[^@\s]+$/.test(m));
  return [...new Set(mailboxes)].slice(0, MAX_PARTICIPANTS_PER_MESSAGE);
}

export function authorAddress(author: string): string {
  const angle = /<([^<>]*)>\s*$/.exec(author);
  return normalizeAddress(angle?.[1] ?? author);
}

/** A notification's columns in insert order: key, ticket_id, target, kind, ref, created. */
export function notificationValues(record: Omit<NotificationRecord, 'created' | 'resolved'>, created: string): [string, string | null, string, string, string | null, string] {
  return [record.key, record.ticketId, record.target, record.kind, record.ref, created];
}
