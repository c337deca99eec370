/**
 * Turns an adapter error that carries one of Mailgate's error types into a Temporal
 * ApplicationFailure, so the retry policy can tell permanent from transient by `type`.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { NON_RETRYABLE_ERROR_TYPES, type ErrorType } from '../domain/errors';

export function rethrowAsFailure(error: unknown): never {
  if (error instanceof ApplicationFailure) throw error;
  const type = (error as { type?: unknown } | null)?.type;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof type === 'string') {
    throw ApplicationFailure.create({
      message,
      type,
      nonRetryable: NON_RETRYABLE_ERROR_TYPES.includes(type as ErrorType),
      // A remote side's Retry-After becomes Temporal's next retry delay: no busy loop, no retries of our own.
      nextRetryDelay: retryAfter(error),
      cause: error instanceof Error ? error : undefined,
    });
  }
  throw error;
}

/** A positive, finite `retryAfterMs` on the error (capped at one hour), else undefined (the policy's backoff). */
function retryAfter(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms > 0 ? Math.min(ms, 3_600_000) : undefined;
}
