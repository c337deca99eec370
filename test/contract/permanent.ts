/**
 * How a contract test recognizes a permanent failure: the error carries a `type` from
 * src/domain/errors.ts that activities never retry (rethrowAsFailure turns it into a non-retryable
 * ApplicationFailure). An error without a type is retried until the activity's budget runs out.
 */
import assert from 'node:assert/strict';
import { NON_RETRYABLE_ERROR_TYPES, type ErrorType } from '../../src/domain/errors';

export async function assertPermanentFailure(work: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(work, (error: unknown) => {
    const type = (error as { type?: unknown } | null)?.type;
    assert.ok(
      typeof type === 'string' && NON_RETRYABLE_ERROR_TYPES.includes(type as ErrorType),
      `${what}: expected an error with a permanent type, got ${String(error)} (type ${String(type)})`,
    );
    return true;
  });
}
