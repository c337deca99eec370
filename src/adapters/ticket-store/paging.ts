/**
 * Keyset pagination for ticket listings, newest first by (created, number). The cursor carries both
 * keys because numbers from a PostgreSQL sequence need not follow creation order under concurrency.
 */
import { InvalidTicketQueryError } from './errors';
import { TICKET_STATUSES } from './inputs';
import { normalizeAddress } from './keys';
import type { ListTicketsInput, Ticket, TicketPage, TicketStatus } from './types';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

export interface PageKey {
  created: string;
  number: number;
}

/** Larger limits are clamped to MAX_PAGE_SIZE; zero, negative or fractional ones are refused. */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new InvalidTicketQueryError(`limit must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(limit)}`);
  }
  return Math.min(limit, MAX_PAGE_SIZE);
}

export function encodeCursor(key: PageKey): string {
  return Buffer.from(JSON.stringify([key.created, key.number]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PageKey {
  const invalid = new InvalidTicketQueryError('cursor is not one returned by a previous page of this listing');
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw invalid;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw invalid;
  const [created, number]: unknown[] = parsed;
  if (typeof created !== 'string' || Number.isNaN(Date.parse(created)) || new Date(created).toISOString() !== created) {
    throw invalid;
  }
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) throw invalid;
  return { created, number };
}

/** A listing request validated and normalized, ready for either backend's query. */
export interface Listing {
  queue: string | null;
  requester: string | null;
  status: TicketStatus | null;
  limit: number;
  after: PageKey | null;
}

export function resolveListing(input: ListTicketsInput): Listing {
  // The HTTP layer may pass query strings through unchecked; a typo must not read as "no tickets".
  if (input.status !== undefined && !TICKET_STATUSES.includes(input.status)) {
    throw new InvalidTicketQueryError(`status must be one of ${TICKET_STATUSES.join(', ')}`);
  }
  return {
    queue: input.queue === undefined ? null : normalizeAddress(input.queue),
    requester: input.requester === undefined ? null : normalizeAddress(input.requester),
    status: input.status ?? null,
    limit: resolveLimit(input.limit),
    after: input.cursor === undefined ? null : decodeCursor(input.cursor),
  };
}

/** `tickets` were fetched with LIMIT limit + 1: the extra row only says another page exists. */
export function toPage(tickets: Ticket[], limit: number): TicketPage {
  const page = tickets.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = tickets.length > limit && last ? encodeCursor(last) : null;
  return { tickets: page, nextCursor };
}

/**
 * The page query for either dialect; `select` is the dialect's ticket SELECT (see ticket-select.ts)
 * and `placeholder(n)` renders the n-th (1-based) parameter. One extra row is fetched so `toPage`
 * can tell whether another page follows.
 */
export function listingQuery(
  listing: Listing,
  select: string,
  placeholder: (n: number) => string,
): { sql: string; params: (string | number)[] } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const filter = (condition: (...p: string[]) => string, ...values: (string | number)[]): void => {
    const names = values.map((v) => placeholder(params.push(v)));
    where.push(condition(...names));
  };
  if (listing.queue !== null) filter((p) => `queue = ${p}`, listing.queue);
  if (listing.requester !== null) filter((p) => `requester = ${p}`, listing.requester);
  if (listing.status !== null) filter((p) => `status = ${p}`, listing.status);
  if (listing.after !== null) {
    filter((c, n) => `(created, number) < (${c}, ${n})`, listing.after.created, listing.after.number);
  }
  const limit = placeholder(params.push(listing.limit + 1));
  const conditions = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return { sql: `${select} ${conditions} ORDER BY created DESC, number DESC LIMIT ${limit}`, params };
}
