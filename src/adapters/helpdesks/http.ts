/**
 * The one HTTP client every helpdesk connector uses: plain `fetch` with a per-request timeout, and
 * NO retries of its own. Temporal owns retrying: a 429 or a 503 with Retry-After becomes a
 * RemoteRateLimited TypedError whose `retryAfterMs` src/activities/failures.ts turns into the
 * activity's next retry delay; a library retrying underneath would double the wait and the load.
 *
 * Every non-2xx answer, network error and timeout is a TypedError (http-errors.ts); the vendor's
 * message is carried (truncated, with the configured secrets and any Authorization-looking token
 * masked) so a parked email says why. Response bodies are read up to a cap: a misbehaving or hostile
 * endpoint cannot make the worker buffer gigabytes.
 *
 * Metrics go through a hook (`HttpMetricsHook`) so this file imports no process state; the worker
 * passes the Prometheus one (src/metrics.ts `connectorMetrics`).
 */
import { ErrorType, TypedError } from '../../domain/errors';
import { classifyHttpStatus, scrub, vendorMessage } from './http-errors';

export { classifyHttpStatus, parseRetryAfter, vendorMessage, scrub, MAX_VENDOR_MESSAGE_CHARS } from './http-errors';

/** Default per-request timeout: long enough for an upload of a few MB, short of an activity's timeout. */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Default cap on a response body; helpdesk answers are a few KB, a search page a few hundred. */
export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** One finished request, for the per-connector metrics. `errorType` is absent on success. */
export interface HttpRequestRecord {
  connector: string;
  /** A short fixed name from the connector (`create_ticket`), never a URL: bounded label values. */
  operation: string;
  status: number | null;
  errorType?: ErrorType;
  seconds: number;
}

export interface HttpMetricsHook {
  request(record: HttpRequestRecord): void;
  /** The remote side asked us to wait `retryAfterMs` (the wait itself is Temporal's next retry delay). */
  rateLimited(connector: string, retryAfterMs: number | undefined): void;
}

export const NO_METRICS: HttpMetricsHook = { request: () => undefined, rateLimited: () => undefined };

export interface HelpdeskHttpOptions {
  /** The connector's configured name, for metrics and error messages. */
  connector: string;
  /** Base URL; request paths are appended to it (`https://acme.zendesk.com`). */
  baseUrl: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Headers on every request, typically Authorization; called per request so a token can rotate. */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Values that must never appear in an error message (tokens, passwords, signing keys). */
  secrets?: readonly string[];
  /** Statuses the vendor documents as transient besides 5xx/408 (Zendesk 409). */
  transientStatuses?: readonly number[];
  metrics?: HttpMetricsHook;
  /**
   * Extra headers computed from the exact request (an HMAC over method, path, query and body bytes:
   * the generic REST connector). Only for string and byte bodies; multipart cannot be signed here.
   */
  sign?: (request: { method: string; url: URL; body: Uint8Array }) => Record<string, string>;
  /** Injected for tests; the global fetch by default. */
  fetch?: typeof fetch;
  /** Injected for tests (HTTP-date Retry-After); Date.now by default. */
  now?: () => number;
}

export type QueryValue = string | number | boolean | undefined;

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path (and no query) below the base URL, e.g. `/api/v2/tickets`. */
  path: string;
  operation: string;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Serialised as JSON with Content-Type application/json. */
  json?: unknown;
  /** A raw body (an upload), sent with the given headers' Content-Type. */
  body?: Uint8Array | Blob | FormData | string;
  /** Statuses returned to the caller instead of thrown (404 for "find" calls). */
  expect?: readonly number[];
  /** Overrides the client's timeout for this request. */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null when the body is empty or not JSON. */
  body: unknown;
  text: string;
}

export class HelpdeskHttp {
  readonly connector: string;
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly metrics: HttpMetricsHook;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly options: HelpdeskHttpOptions) {
    this.connector = options.connector;
    this.base = new URL(options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`);
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS, 'timeoutMs');
    this.maxBytes = positive(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, 'maxResponseBytes');
    this.metrics = options.metrics ?? NO_METRICS;
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
  }

  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(path.replace(/^\//, ''), this.base);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  /** Sends one request; a 2xx (or a status in `expect`) resolves, anything else throws a TypedError. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const started = performance.now();
    const record = (status: number | null, errorType?: ErrorType): void =>
      this.metrics.request({ connector: this.connector, operation: req.operation, status, errorType, seconds: (performance.now() - started) / 1000 });
    const headers: Record<string, string> = { accept: 'application/json', ...(await this.options.headers?.()), ...req.headers };
    let body: RequestInit['body'];
    if (req.json !== undefined) {
      body = JSON.stringify(req.json);
      headers['content-type'] = 'application/json';
    } else if (req.body !== undefined) body = req.body;
    const url = this.url(req.path, req.query);
    if (this.options.sign) {
      if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) throw new Error('HelpdeskHttp: only string and byte bodies can be signed');
      const bytes = body === undefined ? new Uint8Array() : typeof body === 'string' ? Buffer.from(body) : body;
      Object.assign(headers, this.options.sign({ method: req.method, url, body: bytes }));
    }
    const timeoutMs = req.timeoutMs ?? this.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    let truncated: boolean;
    try {
      response = await this.fetchImpl(url, { method: req.method, headers, body, signal, redirect: 'error' });
      ({ text, truncated } = await readCapped(response, this.maxBytes));
    } catch (error) {
      record(null, ErrorType.RemoteUnavailable);
      const reason = signal.aborted ? `no answer within ${timeoutMs} ms` : networkReason(error);
      throw new TypedError(ErrorType.RemoteUnavailable, `${this.connector} ${req.operation}: ${scrub(reason, this.secrets())}`, { cause: error });
    }
    const parsed = parseJson(text);
    if ((response.status >= 200 && response.status < 300) || req.expect?.includes(response.status)) {
      if (truncated) {
        record(response.status, ErrorType.RemoteRejected);
        throw new TypedError(ErrorType.RemoteRejected, `${this.connector} ${req.operation}: answer larger than ${this.maxBytes} bytes`);
      }
      record(response.status);
      return { status: response.status, headers: response.headers, body: parsed, text };
    }
    const { type, retryAfterMs } = classifyHttpStatus(response.status, response.headers.get('retry-after'), {
      now: this.now(),
      transient: this.options.transientStatuses,
    });
    record(response.status, type);
    if (type === ErrorType.RemoteRateLimited) this.metrics.rateLimited(this.connector, retryAfterMs);
    const said = scrub(vendorMessage(parsed, text), this.secrets());
    throw new TypedError(type, `${this.connector} ${req.operation}: HTTP ${response.status}${said ? `: ${said}` : ''}`, { retryAfterMs });
  }

  /** JSON in, JSON out. */
  async json(method: HttpRequest['method'], path: string, operation: string, json?: unknown, extra: Partial<HttpRequest> = {}): Promise<HttpResponse> {
    return this.request({ ...extra, method, path, operation, json });
  }

  /**
   * multipart/form-data: fields as text parts, files as file parts (the part name per vendor:
   * `file` for Jira, `attachments[]` for Freshdesk). fetch writes the boundary itself.
   */
  async multipart(
    method: 'POST' | 'PUT',
    path: string,
    operation: string,
    parts: { fields?: [string, string][]; files?: { field: string; filename: string; contentType: string; data: Uint8Array }[] },
    extra: Partial<HttpRequest> = {},
  ): Promise<HttpResponse> {
    const form = new FormData();
    for (const [name, value] of parts.fields ?? []) form.append(name, value);
    for (const file of parts.files ?? []) form.append(file.field, new Blob([file.data], { type: file.contentType }), file.filename);
    return this.request({ ...extra, method, path, operation, body: form });
  }

  private secrets(): readonly string[] {
    return this.options.secrets ?? [];
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new Error(`HelpdeskHttp: ${name} must be a positive number`);
  return value;
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** The body as text, at most `max` bytes; past that the stream is cancelled and the text cut. */
async function readCapped(response: Response, max: number): Promise<{ text: string; truncated: boolean }> {
  if (response.body === null) return { text: '', truncated: false };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = max - total;
    if (value.byteLength > room) {
      chunks.push(value.subarray(0, room));
      total = max;
      truncated = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return { text: Buffer.concat(chunks, total).toString('utf8'), truncated };
}
