/**
 * Issue 12, class 3, through the real API: nothing is decoded before authentication. A request's
 * signature headers are judged before its body is read; its wire bytes are read under the cap and
 * authenticated; only then is its Content-Encoding undone, with the cap on the decoded bytes. What
 * the API decoded is read from its own counter, helpdesk_ingress_decoded_bytes_total, so "nothing
 * was inflated" is measured, not inferred from the status.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { signatureHeaders } from '../../src/api/signing';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, postMime } from '../helpers/mail';
import { settled, ticket } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

const MIB = 1024 * 1024;
const CAP = 2 * MIB;
const SECRET = (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '';
/** 64 MiB of zeros: 64 KiB on the wire, 32 times the cap once inflated. */
const BOMB = gzipSync(Buffer.alloc(64 * MIB), { level: 9 });

async function decodedBytes(app: RunningApp): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  return [...text.matchAll(/^helpdesk_ingress_decoded_bytes_total\{coding="[a-z]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function post(app: RunningApp, body: Buffer, headers: Record<string, string>): Promise<{ status: number; reason: string }> {
  const response = await fetch(`${app.url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...headers }, body: new Uint8Array(body) });
  const text = await response.text();
  return { status: response.status, reason: text.startsWith('{') ? ((JSON.parse(text) as { reason?: string }).reason ?? '') : text };
}

async function email(subject: string): Promise<Buffer> {
  return compose({ from: `${unique('c')}@customer.example`, to: 'support@mailgate.local', subject, text: `hello ${subject}`, messageId: `<${unique('dec')}@customer.example>` });
}

/** A request written by hand: headers (a Content-Length may lie), then body chunks until the answer comes or `maxBytes` are sent. */
/**
 * `status` 0 with `reset`: the server cut the connection while the client was still writing, before
 * its answer could be read (the kernel's reset can overtake the 413 on loopback).
 */
function handWritten(app: RunningApp, headers: Record<string, string>, chunk: Buffer | null, maxBytes: number): Promise<{ status: number; sent: number; reset?: boolean }> {
  return new Promise((resolve, reject) => {
    const url = new URL(app.url);
    let sent = 0;
    let answered = false;
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/inbound/mime', headers: { 'content-type': 'message/rfc822', ...headers } }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, sent });
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, sent, reset: true });
      else reject(error);
    });
    req.flushHeaders();
    const pump = (): void => {
      if (answered || chunk === null) return;
      if (sent >= maxBytes) {
        req.end();
        return;
      }
      sent += chunk.length;
      if (req.write(chunk)) setImmediate(pump);
      else req.once('drain', pump);
    };
    pump();
  });
}

describe('nothing is decoded before authentication', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAX_MESSAGE_BYTES: String(CAP), MAX_ATTACHMENT_BYTES: String(MIB), INGRESS_RATE_BURST: '1200' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('a gzip bomb without credentials, or with missing, stale or malformed ones, is refused 401 and nothing is inflated', async () => {
    const before = await decodedBytes(app);
    const now = Math.floor(Date.now() / 1000);
    const variants: Array<[string, Record<string, string>]> = [
      ['no credentials', {}],
      ['timestamp only', { 'x-mailgate-timestamp': String(now) }],
      ['signature only', { 'x-mailgate-signature': `v1=${'a'.repeat(64)}` }],
      ['stale timestamp', { 'x-mailgate-timestamp': String(now - 3600), 'x-mailgate-signature': `v1=${'a'.repeat(64)}` }],
      ['future timestamp', { 'x-mailgate-timestamp': String(now + 3600), 'x-mailgate-signature': `v1=${'a'.repeat(64)}` }],
      ['malformed signature', { 'x-mailgate-timestamp': String(now), 'x-mailgate-signature': 'v1=not-hex' }],
      ['admin token instead', { authorization: `Bearer ${process.env.ADMIN_TOKEN ?? ''}` }],
    ];
    for (const [name, headers] of variants) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        const answer = await post(app, BOMB, { 'content-encoding': encoding, ...headers });
        assert.equal(answer.status, 401, `${name}, ${encoding}: ${answer.reason}`);
      }
    }
    assert.equal(await decodedBytes(app), before, 'not one byte was decoded');
  });

  test('an unauthenticated request declaring a huge body is refused 401 on its headers, without waiting for the body', async () => {
    const answer = await handWritten(app, { 'content-encoding': 'gzip', 'content-length': String(10 * 1024 * MIB) }, null, 0);
    assert.equal(answer.status, 401);
  });

  test('fresh signature headers with a wrong signature are refused 401 before decoding, whatever the coding', async () => {
    const before = await decodedBytes(app);
    const raw = await email('wrong signature');
    const wrongSecret = 'not-the-ingress-secret-at-all-00';
    const cases: Array<[string, Buffer, Record<string, string>]> = [
      ['bomb, wrong secret', BOMB, signatureHeaders(wrongSecret, BOMB)],
      ['bomb, signature of other bytes', BOMB, signatureHeaders(SECRET, raw)],
      ['gzip, signed over the decoded bytes instead of the wire', gzipSync(raw), signatureHeaders(SECRET, raw)],
      ['br, wrong secret', brotliCompressSync(raw), signatureHeaders(wrongSecret, brotliCompressSync(raw))],
    ];
    for (const [name, body, headers] of cases) {
      const answer = await post(app, body, { 'content-encoding': name.startsWith('br') ? 'br' : 'gzip', ...headers });
      assert.equal(answer.status, 401, `${name}: ${answer.reason}`);
      assert.match(answer.reason, /signature does not match/);
    }
    assert.equal(await decodedBytes(app), before, 'not one byte was decoded');
  });

  test('an authenticated body that decodes past the cap is refused 413, the decoder stopped within a chunk of the cap', async () => {
    for (const [encoding, body] of [
      ['gzip', BOMB],
      ['deflate', deflateSync(Buffer.alloc(16 * MIB))],
      ['br', brotliCompressSync(Buffer.alloc(16 * MIB))],
    ] as const) {
      const before = await decodedBytes(app);
      const answer = await post(app, body, { 'content-encoding': encoding, ...signatureHeaders(SECRET, body) });
      assert.equal(answer.status, 413, `${encoding}: ${answer.reason}`);
      const decoded = (await decodedBytes(app)) - before;
      assert.ok(decoded > CAP && decoded <= CAP + 64 * 1024, `${encoding}: decoded ${decoded} bytes for a cap of ${CAP}`);
    }
  });

  test('unknown and stacked codings are refused 415 once authenticated, and nothing is decoded', async () => {
    const before = await decodedBytes(app);
    const body = gzipSync(await email('unknown coding'));
    const now = Date.now();
    for (const [i, encoding] of ['compress', 'zstd', 'x-bzip2', 'gzip, br', 'gzip, gzip', 'deflate, gzip'].entries()) {
      // A signature is good once: each request signs with its own second.
      const answer = await post(app, body, { 'content-encoding': encoding, ...signatureHeaders(SECRET, body, now - i * 1000) });
      assert.equal(answer.status, 415, `${encoding}: ${answer.reason}`);
    }
    assert.equal(await decodedBytes(app), before);
  });

  test('a corrupt or truncated authenticated gzip body is refused 400', async () => {
    const whole = gzipSync(await email('corrupt'));
    for (const body of [whole.subarray(0, whole.length - 10), Buffer.from('definitely not gzip')]) {
      const answer = await post(app, body, { 'content-encoding': 'gzip', ...signatureHeaders(SECRET, body) });
      assert.equal(answer.status, 400, answer.reason);
    }
  });

  test('a Content-Length over the cap is refused 413 before a byte of the body is sent', async () => {
    const now = Math.floor(Date.now() / 1000);
    const answer = await handWritten(app, { 'content-length': String(CAP + 1), 'x-mailgate-timestamp': String(now), 'x-mailgate-signature': `v1=${'a'.repeat(64)}` }, null, 0);
    assert.deepEqual(answer, { status: 413, sent: 0 });
  });

  test('a chunked body is refused 413 as it passes the wire cap, not when it ends', async () => {
    const now = Math.floor(Date.now() / 1000);
    const headers = { 'transfer-encoding': 'chunked', 'x-mailgate-timestamp': String(now), 'x-mailgate-signature': `v1=${'a'.repeat(64)}` };
    // The sender would go on to 64 MiB; the answer must come while it is still sending.
    const answer = await handWritten(app, headers, Buffer.alloc(64 * 1024, 0x61), 64 * MIB);
    // The 413, or (a race on loopback) the connection cut while the client still wrote: either way
    // the server stopped the body early, which is what this test is about.
    assert.ok(answer.status === 413 || answer.reset === true, `answered ${answer.status}`);
    assert.ok(answer.sent < 16 * MIB, `the answer came after ${answer.sent} bytes`);
  });

  test('unauthenticated bodies held at once are bounded per process: past the budget a sender gets 503 with Retry-After, not a buffer', async () => {
    const now = Math.floor(Date.now() / 1000);
    const plausible = { 'x-mailgate-timestamp': String(now), 'x-mailgate-signature': `v1=${'a'.repeat(64)}` };
    // Chunked bodies that never end: each reserves a whole wire cap; the budget is four caps.
    const url = new URL(app.url);
    const hanging = Array.from({ length: 4 }, () => {
      const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/inbound/mime', headers: { 'content-type': 'message/rfc822', 'transfer-encoding': 'chunked', ...plausible } });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1024, 0x61));
      return req;
    });
    await new Promise((r) => setTimeout(r, 500));
    const raw = await email('budget');
    const refused = await fetch(`${app.url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...plausible }, body: new Uint8Array(raw) });
    assert.equal(refused.status, 503, await refused.text());
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    for (const req of hanging) req.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const afterwards = await post(app, raw, plausible);
    assert.equal(afterwards.status, 401, 'the budget is released when those connections go');
  });

  test('compressed valid emails (gzip, x-gzip, deflate, br), signed over the wire bytes, are accepted 202 and become tickets', async () => {
    for (const [encoding, compress] of [['gzip', gzipSync], ['x-gzip', gzipSync], ['deflate', deflateSync], ['br', brotliCompressSync]] as const) {
      const raw = await email(`compressed ${encoding}`);
      const posted = await postMime(app.url, compress(raw), { 'content-encoding': encoding });
      assert.equal(posted.status, 202, `${encoding}: ${JSON.stringify(posted.body)}`);
      const view = await settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
      assert.equal(view.state?.outcome, 'ticket_created', encoding);
      const created = await ticket(app.url, view.state!.ticketId!);
      assert.equal(created.subject, `compressed ${encoding}`);
      assert.match(created.comments[0]!.text, new RegExp(`hello compressed ${encoding}`));
    }
  });

  test('admin endpoints check the token before any body and take no compressed body', async () => {
    const path = `${app.url}/v1/emails/inbound-email/${unique('none')}/discard`;
    const body = gzipSync(Buffer.from(JSON.stringify({ reason: 'x'.repeat(64 * 1024) })));
    const init = { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: new Uint8Array(body) };
    assert.equal((await fetch(path, init)).status, 401, 'no token');
    assert.equal((await apiFetch(path, init)).status, 415, 'with the token: compressed bodies are not taken');
  });
});

describe('the per-source rate bucket starts small', () => {
  let app: RunningApp;
  before(async () => {
    // The production defaults, explicitly (config/test.env raises the burst for the other suites).
    app = await startApp({ env: { INGRESS_RATE_PER_MINUTE: '1200', INGRESS_RATE_BURST: '60' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('a fresh source gets a burst of 60 (and what refills meanwhile), not 1,200, then 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    // Unauthenticated on purpose: a flood of refusals spends the bucket as much as anything.
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 100 }, () => fetch(`${app.url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: 'x' })));
    const seconds = (Date.now() - started) / 1000;
    for (const answer of answers) {
      statuses.push(answer.status);
      if (answer.status === 429) retryAfter = answer.headers.get('retry-after');
      await answer.arrayBuffer();
    }
    const refused = statuses.filter((s) => s === 401).length;
    const limited = statuses.filter((s) => s === 429).length;
    // The bucket refills at 20 a second: tokens that came back while the 100 were in flight count.
    assert.ok(refused >= 60 && refused <= 60 + Math.ceil(seconds * 20), `${refused} answered 401 in ${seconds} s`);
    assert.ok(limited > 0, 'the bucket ran dry: it did not start with 1,200');
    assert.equal(refused + limited, 100, JSON.stringify(statuses));
    assert.ok(Number(retryAfter) >= 1);
  });
});
