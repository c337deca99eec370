import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { rethrowAsFailure } from '../../src/activities/failures';
import { ErrorType, TypedError } from '../../src/domain/errors';

function failureOf(error: unknown): ApplicationFailure {
  try {
    rethrowAsFailure(error);
  } catch (thrown) {
    assert.ok(thrown instanceof ApplicationFailure, 'a typed error becomes an ApplicationFailure');
    return thrown;
  }
  assert.fail('rethrowAsFailure always throws');
}

test('a remote Retry-After becomes the next retry delay, capped at an hour', () => {
  const limited = failureOf(new TypedError(ErrorType.RemoteRateLimited, '429 from the helpdesk', { retryAfterMs: 30_000 }));
  assert.equal(limited.type, ErrorType.RemoteRateLimited);
  assert.equal(limited.nonRetryable, false);
  assert.equal(limited.nextRetryDelay, 30_000);
  assert.equal(failureOf(new TypedError(ErrorType.RemoteRateLimited, 'x', { retryAfterMs: 9e9 })).nextRetryDelay, 3_600_000);
  for (const bad of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.equal(failureOf(new TypedError(ErrorType.RemoteRateLimited, 'x', { retryAfterMs: bad })).nextRetryDelay, undefined, String(bad));
  }
  assert.equal(failureOf(new TypedError(ErrorType.RemoteUnavailable, '503')).nextRetryDelay, undefined);
});

test('a remote refusal or a credentials error is permanent, an outage is not', () => {
  assert.equal(failureOf(new TypedError(ErrorType.RemoteRejected, '422 invalid requester')).nonRetryable, true);
  assert.equal(failureOf(new TypedError(ErrorType.RemoteCredentials, '401')).nonRetryable, true);
  assert.equal(failureOf(new TypedError(ErrorType.RemoteUnavailable, 'ECONNRESET')).nonRetryable, false);
});
