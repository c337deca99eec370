/**
 * ServiceNow's own twist on the shared status classes (../http-errors.ts): its 403 also means "a
 * business rule or data policy refused this" (REST API response codes reference), which is the
 * data's fault, not the credentials'. Such a 403 parks the email with ServiceNow's message as a
 * RemoteRejected instead of raising a credentials alert.
 */
import { ErrorType, TypedError } from '../../../domain/errors';

const POLICY_REFUSAL = /Data Policy Exception|Operation Failed|business rule/i;

export function reclassifyServiceNow(error: unknown): unknown {
  if (error instanceof TypedError && error.type === ErrorType.RemoteCredentials && /HTTP 403/.test(error.message) && POLICY_REFUSAL.test(error.message)) {
    return new TypedError(ErrorType.RemoteRejected, error.message, { cause: error });
  }
  return error;
}
