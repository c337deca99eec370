/** An assert.rejects predicate: the error is a TypedError of `type`, and `check` holds for it. */
import assert from 'node:assert/strict';
import { TypedError, type ErrorType } from '../../src/domain/errors';

export function typed(type: ErrorType, check: (error: TypedError) => void = () => undefined): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof TypedError, `expected a TypedError, got ${String(error)}`);
    assert.equal(error.type, type, error.message);
    check(error);
    return true;
  };
}
