/**
 * Ticket store failures, classified so callers can tell transient from permanent: only an
 * unreachable or overloaded database is worth retrying; constraint violations and bad input are not.
 */
import { ErrorType } from '../../domain/errors';

/** The database could not be reached, dropped the connection, or stayed locked. Transient. */
export class TicketStoreUnavailableError extends Error {
  readonly type = ErrorType.DatabaseUnavailable;
  override readonly name = 'TicketStoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A comment, status change or queue note was addressed to a ticket that does not exist. Permanent:
 * typed like any input the store refuses (an unknown linked ticket is one too), because an error
 * without a type reaches Temporal as retryable and the activity would retry a missing ticket until
 * its budget ran out instead of parking at once.
 */
export class TicketNotFoundError extends Error {
  override readonly name = 'TicketNotFoundError';
  readonly type = ErrorType.InvalidTicketInput;

  constructor(readonly ticketId: string) {
    super(`ticket ${ticketId} does not exist`);
  }
}

/** A listing request the store cannot serve (limit out of range, cursor not ours). Permanent. */
export class InvalidTicketQueryError extends Error {
  override readonly name = 'InvalidTicketQueryError';
}

/**
 * A write the store refuses before touching the database (too many or too long tags, an unknown
 * priority, a timestamp that is not a date, a linked ticket that does not exist). Permanent.
 */
export class InvalidTicketInputError extends Error {
  override readonly name = 'InvalidTicketInputError';
  /** Retrying the same input cannot help: a permanent failure (src/domain/errors.ts). */
  readonly type = 'InvalidTicketInput';
}

interface CodedError {
  code?: unknown;
  errcode?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** Socket-level failures seen from node:net while connecting to or talking with PostgreSQL. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN']);

/**
 * SQLSTATEs meaning "the server is not there for you right now" (PostgreSQL appendix A): class 08
 * connection exceptions, 57P01..57P03 shutdown / restart / not yet accepting, 53300 too many
 * connections.
 */
const PG_UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** node-postgres reports a dropped socket and its own timeouts with these messages and no code. */
const PG_UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
];

export function isPostgresUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as CodedError;
  if (typeof e.code === 'string') {
    if (NETWORK_CODES.has(e.code) || PG_UNAVAILABLE_STATES.has(e.code) || e.code.startsWith('08')) return true;
  }
  // Node's happy-eyeballs connect rejects with an AggregateError holding one error per address.
  if (Array.isArray(e.errors) && e.errors.some(isPostgresUnavailable)) return true;
  return typeof e.message === 'string' && PG_UNAVAILABLE_MESSAGES.some((m) => (e.message as string).startsWith(m));
}

/** SQLITE_BUSY (5) and its extended codes (BUSY_RECOVERY 261, BUSY_SNAPSHOT 517, BUSY_TIMEOUT 773). */
export function isSqliteBusy(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as CodedError;
  return e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' && (e.errcode & 0xff) === 5;
}
