/**
 * Turns database rows into the store's types, checking each column at run time. Both backends name
 * their columns alike; they differ only in how values arrive (SQLite: 0/1 and text timestamps,
 * PostgreSQL: booleans and Dates).
 */
import { EMAIL_CLASSES, EMAIL_OUTCOMES, PRIORITIES, TICKET_STATUSES } from './inputs';
import type { MessageIdClash, NotificationRecord, SubjectCandidate, TicketMove } from '../../ports/ledger';
import type { ThreadEntry } from './thread-match';
import type {
  Comment,
  EmailClass,
  EmailOutcomeRecord,
  EmailRecord,
  ScanStatus,
  StoredAttachment,
  Ticket,
  TicketPriority,
  TicketStatus,
  TicketWithComments,
} from './types';

export type Row = Record<string, unknown>;

const SCAN_STATUSES: readonly string[] = ['clean', 'infected', 'skipped', 'unscannable'] satisfies ScanStatus[];

function column(row: Row, name: string): unknown {
  if (!(name in row)) throw new Error(`ticket store row has no column ${name}`);
  return row[name];
}

function text(row: Row, name: string): string {
  const value = column(row, name);
  if (typeof value !== 'string') throw new Error(`ticket store column ${name} is not text`);
  return value;
}

function nullableText(row: Row, name: string): string | null {
  const value = column(row, name);
  return value === null ? null : text(row, name);
}

function integer(row: Row, name: string): number {
  const value = column(row, name);
  const n = typeof value === 'bigint' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error(`ticket store column ${name} is not an integer`);
  return n;
}

function flag(row: Row, name: string): boolean {
  const value = column(row, name);
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1) return value === 1;
  throw new Error(`ticket store column ${name} is not a boolean`);
}

export function timestamp(row: Row, name: string): string {
  const value = column(row, name);
  if (value instanceof Date) return value.toISOString();
  return text(row, name);
}

/** A JSON array of strings stored as text (tags, evidence, aggregated extra queues). */
function stringList(row: Row, name: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text(row, name));
  } catch {
    throw new Error(`ticket store column ${name} is not JSON`);
  }
  if (!Array.isArray(parsed) || !parsed.every((v: unknown): v is string => typeof v === 'string')) {
    throw new Error(`ticket store column ${name} is not a list of strings`);
  }
  return parsed;
}

function oneOf<T extends string>(row: Row, name: string, allowed: readonly string[]): T {
  const value = text(row, name);
  if (!allowed.includes(value)) throw new Error(`ticket store column ${name} has unexpected value ${value}`);
  return value as T;
}

export function toTicket(row: Row): Ticket {
  return {
    id: text(row, 'id'),
    number: integer(row, 'number'),
    subject: text(row, 'subject'),
    requester: text(row, 'requester'),
    queue: text(row, 'queue'),
    status: oneOf<TicketStatus>(row, 'status', TICKET_STATUSES),
    priority: oneOf<TicketPriority>(row, 'priority', PRIORITIES),
    tags: stringList(row, 'tags'),
    // Sorted here because neither backend's aggregate promises an order.
    extraQueues: stringList(row, 'extra_queues').sort(),
    linkedTicketId: nullableText(row, 'linked_ticket_id'),
    created: timestamp(row, 'created'),
    updated: timestamp(row, 'updated'),
  };
}

export function toEmail(row: Row): EmailRecord & { created: string; updated: string } {
  return {
    workflowId: text(row, 'workflow_id'),
    messageId: nullableText(row, 'message_id'),
    queue: text(row, 'queue'),
    sender: nullableText(row, 'sender'),
    subject: text(row, 'subject'),
    emailClass: nullableText(row, 'email_class') === null ? null : oneOf<EmailClass>(row, 'email_class', EMAIL_CLASSES),
    evidence: stringList(row, 'evidence'),
    outcome: oneOf<EmailOutcomeRecord>(row, 'outcome', EMAIL_OUTCOMES),
    reason: nullableText(row, 'reason'),
    ticketId: nullableText(row, 'ticket_id'),
    ...(nullableText(row, 'raw_sha256') === null ? {} : { rawSha256: nullableText(row, 'raw_sha256') }),
    created: timestamp(row, 'created'),
    updated: timestamp(row, 'updated'),
  };
}

export function toMessageIdClash(row: Row): MessageIdClash {
  return {
    workflowId: text(row, 'workflow_id'),
    otherWorkflowId: text(row, 'other_workflow_id'),
    messageId: text(row, 'message_id'),
    created: timestamp(row, 'created'),
  };
}

export function toTicketMove(row: Row): TicketMove & { created: string } {
  return {
    ticketId: text(row, 'ticket_id'),
    fromQueue: text(row, 'from_queue'),
    toQueue: text(row, 'to_queue'),
    workflowId: text(row, 'workflow_id'),
    by: text(row, 'moved_by'),
    created: timestamp(row, 'created'),
  };
}

export function toNotification(row: Row): NotificationRecord {
  return {
    key: text(row, 'key'),
    ticketId: nullableText(row, 'ticket_id'),
    target: text(row, 'target'),
    kind: text(row, 'kind'),
    ref: nullableText(row, 'ref'),
    created: timestamp(row, 'created'),
    resolved: column(row, 'resolved') === null ? null : timestamp(row, 'resolved'),
  };
}

export function toAttachment(row: Row): StoredAttachment {
  return {
    id: text(row, 'id'),
    filename: text(row, 'filename'),
    contentType: text(row, 'content_type'),
    size: integer(row, 'size'),
    sha256: text(row, 'sha256'),
    storageKey: nullableText(row, 'storage_key'),
    scanStatus: oneOf<ScanStatus>(row, 'scan_status', SCAN_STATUSES),
    scanDetail: nullableText(row, 'scan_detail'),
    contentId: nullableText(row, 'content_id'),
    inline: flag(row, 'inline'),
  };
}

/** `attachmentRows` must carry a comment_id column and be in position order. */
export function toComment(row: Row, attachmentRows: Row[]): Comment {
  const id = text(row, 'id');
  return {
    id,
    ticketId: text(row, 'ticket_id'),
    messageId: text(row, 'message_id'),
    author: text(row, 'author'),
    text: text(row, 'text'),
    html: nullableText(row, 'html'),
    internal: flag(row, 'internal'),
    created: timestamp(row, 'created'),
    attachments: attachmentRows.filter((a) => text(a, 'comment_id') === id).map(toAttachment),
  };
}

export function toTicketWithComments(ticketRow: Row, commentRows: Row[], attachmentRows: Row[]): TicketWithComments {
  return { ...toTicket(ticketRow), comments: commentRows.map((c) => toComment(c, attachmentRows)) };
}

/** A `SELECT COUNT(*) AS n` row (cast to a 32-bit integer where the dialect would say bigint). */
/** A claim's answer: NULL while its request is in flight. */
export function toClaimAnswer(row: Row): { answer: string | null } {
  return { answer: nullableText(row, 'answer') };
}

export function toCount(row: Row | undefined): number {
  if (!row) throw new Error('count query returned no row');
  return integer(row, 'n');
}

export function toUndeliverable(row: Row): { address: string; reason: string; since: string; expires: string } {
  return { address: text(row, 'address'), reason: text(row, 'reason'), since: timestamp(row, 'created'), expires: timestamp(row, 'expires') };
}

export function toSentAcknowledgement(row: Row): { ticketId: string; recipient: string; state: 'reserved' | 'sent' } {
  return { ticketId: text(row, 'ticket_id'), recipient: text(row, 'recipient'), state: oneOf(row, 'state', ['reserved', 'sent']) };
}

/** A thread_index row joined with its ticket's number (column `number`). */
export function toThreadEntry(row: Row): ThreadEntry {
  return {
    messageId: text(row, 'message_id'),
    ticketId: text(row, 'ticket_id'),
    ticketNumber: integer(row, 'number'),
    queue: text(row, 'queue'),
  };
}

export function toSubjectCandidate(row: Row): SubjectCandidate {
  return { ticketId: text(row, 'ticket_id'), ticketNumber: integer(row, 'number'), lastAt: timestamp(row, 'last_at') };
}
