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
      cause: error instanceof Error ? error : undefined,
    });
  }
  throw error;
}
