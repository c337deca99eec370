/**
 * Identifiers and normalization shared by both backends. Ticket and comment ids are derived from
 * their idempotency keys, so a retried insert collides on the primary key instead of duplicating.
 */
import { createHash, randomUUID } from 'node:crypto';

function digest(...parts: string[]): string {
  // NUL cannot occur in a Message-ID or an origin key, so joined parts cannot be confused.
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);
}

export function ticketIdFor(originKey: string): string {
  return `t_${digest(originKey)}`;
}

export function commentIdFor(ticketId: string, messageId: string): string {
  return `c_${digest(ticketId, messageId)}`;
}

export function newAttachmentId(): string {
  return `a_${randomUUID().replaceAll('-', '')}`;
}

/** Addresses are compared case-insensitively, so they are stored lower-cased. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** ISO-8601 UTC with milliseconds: sorts as text in SQLite and round-trips exactly through timestamptz(3). */
export function now(): string {
  return new Date().toISOString();
}

/** Ticket numbers are positive 32-bit integers (PostgreSQL `integer`); anything else names no ticket. */
export function isTicketNumber(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 2_147_483_647;
}
