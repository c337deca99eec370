/**
 * The one HTTP call every notifier makes: JSON out, a timeout, no retries of its own (Temporal retries
 * the activity, honouring Retry-After through RemoteRateLimited's retryAfterMs). Errors name the
 * target, never its URL: a webhook URL is a credential.
 */
import { ErrorType, TypedError } from '../../domain/errors';

export const NOTIFY_TIMEOUT_MS = 10_000;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: unknown;
}

/** Retry-After in seconds or as an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

export async function postJson(target: string, url: string, body: unknown, options: { headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? NOTIFY_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'could not be reached';
    throw new TypedError(ErrorType.RemoteUnavailable, `notification target ${target} ${reason}`);
  }
  const text = await response.text().catch(() => '');
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Throws the typed error for a non-2xx answer; `detail` is the vendor's own words, kept short. */
export function failOnStatus(target: string, answer: HttpAnswer, detail: string): void {
  const { status } = answer;
  if (status >= 200 && status < 300) return;
  const said = `notification target ${target} answered ${status}${detail ? `: ${detail.slice(0, 300)}` : ''}`;
  const wait = retryAfterMs(answer.headers.get('retry-after'));
  if (status === 429 || (status === 503 && wait !== undefined)) throw new TypedError(ErrorType.RemoteRateLimited, said, { retryAfterMs: wait });
  if (status === 401 || status === 403) throw new TypedError(ErrorType.RemoteCredentials, said);
  if (status >= 500 || status === 408) throw new TypedError(ErrorType.RemoteUnavailable, said);
  throw new TypedError(ErrorType.RemoteRejected, said);
}
