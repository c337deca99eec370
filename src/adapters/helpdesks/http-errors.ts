/**
 * HTTP answer → Mailgate error type, shared by every helpdesk connector (HELPDESK-CONTRACTS.md §8):
 *   429, and 503 with Retry-After  → RemoteRateLimited, `retryAfterMs` from the header
 *   other 5xx, 408, network, timeout → RemoteUnavailable (Temporal's backoff)
 *   401, 403                        → RemoteCredentials (parks and alerts)
 *   other 4xx                       → RemoteRejected (parks with the vendor's message)
 * A connector may list extra statuses it knows to be transient (Zendesk's 409 concurrent update).
 */
import { ErrorType } from '../../domain/errors';

/** The longest vendor message carried into an error (and so into the parked email's record). */
export const MAX_VENDOR_MESSAGE_CHARS = 500;

/**
 * Retry-After (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds or an HTTP-date.
 * Undefined when absent, unparsable or not in the future.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return seconds > 0 && Number.isFinite(seconds) ? seconds * 1000 : undefined;
  }
  // An HTTP-date always names a weekday and GMT; Date.parse accepts IMF-fixdate and the obsolete forms.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  const ms = at - now;
  return ms > 0 ? ms : undefined;
}

export interface StatusClass {
  type: ErrorType;
  retryAfterMs?: number;
}

/** The error type of a non-2xx answer. `transient` lists extra statuses the vendor documents as retryable. */
export function classifyHttpStatus(
  status: number,
  retryAfter: string | null,
  options: { now?: number; transient?: readonly number[] } = {},
): StatusClass {
  const retryAfterMs = parseRetryAfter(retryAfter, options.now);
  if (status === 429) return { type: ErrorType.RemoteRateLimited, retryAfterMs };
  if (status === 503 && retryAfterMs !== undefined) return { type: ErrorType.RemoteRateLimited, retryAfterMs };
  if (status >= 500 || status === 408 || options.transient?.includes(status)) return { type: ErrorType.RemoteUnavailable };
  if (status === 401 || status === 403) return { type: ErrorType.RemoteCredentials };
  if (status >= 400) return { type: ErrorType.RemoteRejected };
  // 1xx/3xx reaching us (fetch follows redirects) is a protocol surprise; retrying may see a sane answer.
  return { type: ErrorType.RemoteUnavailable };
}

/**
 * The vendor's own words from an error body, in the shapes the four vendors use: Zendesk
 * `{error, description, details}`, Jira `{errorMessages[], errors{}}` / JSM `{errorMessage}`,
 * Freshdesk `{description, errors[{field,message}]}`, ServiceNow `{error:{message,detail}}`; else the text.
 */
export function vendorMessage(body: unknown, text: string): string {
  if (body !== null && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const parts: string[] = [];
    const push = (v: unknown): void => {
      if (typeof v === 'string' && v.trim() !== '') parts.push(v.trim());
      else if (v !== undefined && v !== null && typeof v === 'object') parts.push(JSON.stringify(v));
    };
    if (b.error !== null && typeof b.error === 'object' && !Array.isArray(b.error)) {
      const e = b.error as Record<string, unknown>;
      push(e.message);
      push(e.detail);
    } else push(b.error);
    push(b.errorMessage);
    if (Array.isArray(b.errorMessages)) for (const m of b.errorMessages) push(m);
    push(b.message);
    push(b.description);
    if (b.errors !== undefined && !(typeof b.errors === 'object' && b.errors !== null && Object.keys(b.errors).length === 0)) push(b.errors);
    push(b.details);
    if (parts.length > 0) return parts.join('; ');
  }
  return text.trim();
}

/** `message` with every secret replaced, credentials-looking tokens masked, and cut to MAX_VENDOR_MESSAGE_CHARS. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  out = out.replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]');
  // Control characters (CR/LF included) would forge lines in logs and the parked record.
  out = [...out].map((c) => (c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? ' ' : c)).join('');
  return out.length > MAX_VENDOR_MESSAGE_CHARS ? `${out.slice(0, MAX_VENDOR_MESSAGE_CHARS)}…` : out;
}
