import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ErrorType, TypedError } from '../../src/domain/errors';
import {
  classifyHttpStatus,
  HelpdeskHttp,
  MAX_VENDOR_MESSAGE_CHARS,
  parseRetryAfter,
  type HttpMetricsHook,
  type HttpRequestRecord,
} from '../../src/adapters/helpdesks/http';
import { connectorMetrics, registry } from '../../src/metrics';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

describe('helpdesk HTTP client', () => {
  let server: Server;
  let base: string;
  let handler: Handler = (_req, _body, res) => res.end();
  const open = new Set<ServerResponse>();

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        open.add(res);
        res.on('close', () => open.delete(res));
        handler(req, Buffer.concat(chunks), res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const res of open) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function recorder(): HttpMetricsHook & { records: HttpRequestRecord[]; waits: (number | undefined)[] } {
    const records: HttpRequestRecord[] = [];
    const waits: (number | undefined)[] = [];
    return { records, waits, request: (r) => records.push(r), rateLimited: (_c, ms) => waits.push(ms) };
  }

  function reply(status: number, body: unknown, headers: Record<string, string> = {}): Handler {
    return (_req, _body, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };
  }

  async function failure(client: HelpdeskHttp, operation = 'create_ticket'): Promise<TypedError> {
    try {
      await client.json('POST', '/api/v2/tickets', operation, { ticket: {} });
    } catch (error) {
      assert.ok(error instanceof TypedError, `a TypedError, got ${String(error)}`);
      return error;
    }
    assert.fail('the request was expected to fail');
  }

  test('a JSON request carries the auth headers and the parsed answer comes back', async () => {
    let seen: { auth?: string; type?: string; body?: string; url?: string } = {};
    handler = (req, body, res) => {
      seen = { auth: req.headers.authorization, type: req.headers['content-type'], body: body.toString(), url: req.url };
      reply(201, { ticket: { id: 7 } })(req, body, res);
    };
    const metrics = recorder();
    const client = new HelpdeskHttp({ connector: 'zd', baseUrl: `${base}/`, headers: () => ({ authorization: 'Bearer tok-123456' }), metrics });
    const answer = await client.json('POST', '/api/v2/tickets', 'create_ticket', { ticket: { subject: 'x' } }, { query: { a: 'b c', skip: undefined } });
    assert.equal(answer.status, 201);
    assert.deepEqual(answer.body, { ticket: { id: 7 } });
    assert.equal(seen.auth, 'Bearer tok-123456');
    assert.equal(seen.type, 'application/json');
    assert.equal(seen.body, '{"ticket":{"subject":"x"}}');
    assert.equal(seen.url, '/api/v2/tickets?a=b+c');
    assert.equal(metrics.records.length, 1);
    assert.equal(metrics.records[0]?.status, 201);
    assert.equal(metrics.records[0]?.errorType, undefined);
    assert.equal(metrics.records[0]?.operation, 'create_ticket');
  });

  test('a 429 with Retry-After in seconds is RemoteRateLimited with that delay, and counts as a rate-limit wait', async () => {
    handler = reply(429, { error: 'TooManyRequests' }, { 'retry-after': '7' });
    const metrics = recorder();
    const error = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, metrics }));
    assert.equal(error.type, ErrorType.RemoteRateLimited);
    assert.equal(error.retryAfterMs, 7000);
    assert.deepEqual(metrics.waits, [7000]);
    assert.equal(metrics.records[0]?.errorType, ErrorType.RemoteRateLimited);
  });

  test('a 503 with an HTTP-date Retry-After is rate limited until that date; a 503 without one is unavailable', async () => {
    const now = Date.parse('2026-12-07T10:00:00Z');
    handler = reply(503, 'down', { 'retry-after': 'Mon, 07 Dec 2026 10:00:30 GMT' });
    const limited = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, now: () => now }));
    assert.equal(limited.type, ErrorType.RemoteRateLimited);
    assert.equal(limited.retryAfterMs, 30_000);
    handler = reply(503, 'down');
    const down = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base }));
    assert.equal(down.type, ErrorType.RemoteUnavailable);
    assert.equal(down.retryAfterMs, undefined);
  });

  test('401 and 403 are credentials errors; 422 is a refusal carrying the vendor message with secrets masked and cut short', async () => {
    for (const status of [401, 403]) {
      handler = reply(status, { error: 'Couldn\'t authenticate you' });
      assert.equal((await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base }))).type, ErrorType.RemoteCredentials);
    }
    const secret = 'sekret-token-value';
    handler = reply(422, {
      error: 'RecordInvalid',
      description: `Record validation errors for ${secret} Bearer abc.def`,
      details: { requester: [{ description: 'x'.repeat(2000) }] },
    });
    const error = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, secrets: [secret] }));
    assert.equal(error.type, ErrorType.RemoteRejected);
    assert.match(error.message, /^zd create_ticket: HTTP 422: RecordInvalid; Record validation errors/);
    assert.ok(!error.message.includes(secret), 'the secret is masked');
    assert.ok(!error.message.includes('abc.def'), 'a bearer token is masked');
    assert.ok(error.message.length < MAX_VENDOR_MESSAGE_CHARS + 100, 'the message is truncated');
  });

  test('other 5xx are unavailable; a status the connector calls transient (409) is too; 404 can be expected', async () => {
    handler = reply(500, 'oops');
    assert.equal((await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base }))).type, ErrorType.RemoteUnavailable);
    handler = reply(409, { error: 'conflict' });
    assert.equal((await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base }))).type, ErrorType.RemoteRejected);
    assert.equal((await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, transientStatuses: [409] }))).type, ErrorType.RemoteUnavailable);
    handler = reply(404, { error: 'RecordNotFound' });
    const found = await new HelpdeskHttp({ connector: 'zd', baseUrl: base }).request({ method: 'GET', path: '/x', operation: 'get', expect: [404] });
    assert.equal(found.status, 404);
  });

  test('a hanging server is a timeout (unavailable), and a refused connection is unavailable', async () => {
    handler = () => undefined;
    const metrics = recorder();
    const started = Date.now();
    const error = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, timeoutMs: 200, metrics }));
    assert.equal(error.type, ErrorType.RemoteUnavailable);
    assert.match(error.message, /no answer within 200 ms/);
    assert.ok(Date.now() - started < 10_000);
    assert.equal(metrics.records[0]?.status, null);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: `http://127.0.0.1:${port}` }));
    assert.equal(refused.type, ErrorType.RemoteUnavailable);
  });

  test('an answer past the size cap is refused rather than buffered', async () => {
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ big: 'y'.repeat(10_000) }));
    };
    const error = await failure(new HelpdeskHttp({ connector: 'zd', baseUrl: base, maxResponseBytes: 1000 }));
    assert.equal(error.type, ErrorType.RemoteRejected);
  });

  test('multipart sends fields and files as form-data parts', async () => {
    let seen = '';
    let type = '';
    handler = (req, body, res) => {
      seen = body.toString('latin1');
      type = String(req.headers['content-type']);
      reply(200, { ok: true })(req, body, res);
    };
    const client = new HelpdeskHttp({ connector: 'jira', baseUrl: base });
    await client.multipart('POST', '/attach', 'attach', {
      fields: [['comment', 'hi']],
      files: [{ field: 'file', filename: 'a.pdf', contentType: 'application/pdf', data: new Uint8Array([37, 80, 68, 70]) }],
    }, { headers: { 'x-atlassian-token': 'no-check' } });
    assert.match(type, /^multipart\/form-data; boundary=/);
    assert.match(seen, /name="comment"\r\n\r\nhi/);
    assert.match(seen, /name="file"; filename="a.pdf"\r\nContent-Type: application\/pdf\r\n\r\n%PDF/);
  });
});

test('Retry-After parses delay-seconds and HTTP-dates, and ignores junk or past dates', () => {
  const now = Date.parse('2026-12-07T10:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(' 3 ', now), 3000);
  assert.equal(parseRetryAfter('0', now), undefined);
  assert.equal(parseRetryAfter('-4', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
  assert.equal(parseRetryAfter('Mon, 07 Dec 2026 10:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('Mon, 07 Dec 2026 09:59:00 GMT', now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('status classes follow the contract table: 429/503+Retry-After limited, 5xx/408 unavailable, 401/403 credentials, 4xx rejected', () => {
  assert.deepEqual(classifyHttpStatus(429, null), { type: ErrorType.RemoteRateLimited, retryAfterMs: undefined });
  assert.equal(classifyHttpStatus(503, '5').type, ErrorType.RemoteRateLimited);
  assert.equal(classifyHttpStatus(502, '5').type, ErrorType.RemoteUnavailable);
  assert.equal(classifyHttpStatus(408, null).type, ErrorType.RemoteUnavailable);
  assert.equal(classifyHttpStatus(401, null).type, ErrorType.RemoteCredentials);
  assert.equal(classifyHttpStatus(403, null).type, ErrorType.RemoteCredentials);
  for (const status of [400, 404, 413, 415, 422]) assert.equal(classifyHttpStatus(status, null).type, ErrorType.RemoteRejected, String(status));
});

test('the Prometheus hook counts requests, errors by class, latency and rate-limit waits per connector', async () => {
  const hook: HttpMetricsHook = connectorMetrics;
  connectorMetrics.prime('unit-zd');
  hook.request({ connector: 'unit-zd', operation: 'create_ticket', status: 201, seconds: 0.05 });
  hook.request({ connector: 'unit-zd', operation: 'create_ticket', status: 429, errorType: ErrorType.RemoteRateLimited, seconds: 0.01 });
  hook.rateLimited('unit-zd', 7000);
  const text = await registry.metrics();
  assert.ok(text.includes('helpdesk_connector_requests_total{connector="unit-zd",operation="create_ticket",outcome="ok"} 1'));
  assert.ok(text.includes('helpdesk_connector_errors_total{connector="unit-zd",type="RemoteRateLimited"} 1'));
  assert.ok(text.includes('helpdesk_connector_errors_total{connector="unit-zd",type="RemoteCredentials"} 0'));
  assert.ok(text.includes('helpdesk_connector_rate_limit_waits_total{connector="unit-zd"} 1'));
  assert.ok(text.includes('helpdesk_connector_rate_limit_wait_seconds_total{connector="unit-zd"} 7'));
  assert.ok(text.includes('helpdesk_connector_request_duration_seconds_count{connector="unit-zd"} 2'));
});
