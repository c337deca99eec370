/**
 * SMTP failure classification (RFC 5321 §4.2.1): 5yz is permanent, except 503 ("bad sequence of
 * commands"), which a fresh connection usually cures; 4yz and network errors are transient.
 */
import { ErrorType } from '../domain/errors';

interface SmtpLikeError {
  code?: string;
  responseCode?: number;
}

export function classifySmtpError(error: unknown): ErrorType {
  const e = (error ?? {}) as SmtpLikeError;
  const status = e.responseCode;
  if (typeof status === 'number' && status >= 500 && status < 600 && status !== 503) return ErrorType.SmtpRejected;
  if (e.code === 'EENVELOPE' && typeof status === 'number' && status >= 500 && status !== 503) return ErrorType.SmtpRejected;
  // An envelope nodemailer refuses before any server answers (no valid recipient) fails again on
  // every retry: permanent.
  if (e.code === 'EENVELOPE' && status === undefined) return ErrorType.SmtpRejected;
  return ErrorType.SmtpUnavailable;
}
