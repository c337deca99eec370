/**
 * The ingress contract: what is refused and how, and that nothing is half-done when the object
 * store is down (stopped for real, then started again).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, ticket, withTemporal } from '../helpers/pipeline';
import { eventually, stack, unique } from '../helpers/stack';
import { signatureHeaders } from '../../src/api/signing';

const ROTATED_SECRET = 'the-next-ingress-secret-after-rotation';

async function rawPost(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; reason: string }> {
  const response = await fetch(`${url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...headers }, body });
  return { status: response.status, reason: ((await response.json()) as { reason?: string }).reason ?? '' };
}

describe('the inbound MIME endpoint', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({
      env: { MAX_MESSAGE_BYTES: String(1024 * 1024), MAX_ATTACHMENT_BYTES: String(100 * 1024), REQUEST_TIMEOUT_SECONDS: '3', INGRESS_SECRETS: `${process.env.INGRESS_SECRETS},${ROTATED_SECRET}` },
    });
  });
  after(async () => {
    await app?.stop();
  });

  test('an empty body and a body that is plainly not mail are refused with 400 and a reason; prose without headers is mail', async () => {
    const empty = await postMime(app.url, '');
    assert.equal(empty.status, 400);
    assert.match(empty.body.reason ?? '', /empty/);
    const page = await postMime(app.url, '<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n');
    assert.equal(page.status, 400);
    assert.equal(page.body.error, 'not_an_email');
    assert.match(page.body.reason ?? '', /HTML page/);
    // Issue 14, class 1: a body without headers is mail; without an envelope it has no recipient.
    const prose = await postMime(app.url, 'hello, this is not an email at all\n\nreally');
    assert.equal(prose.status, 422);
    assert.equal(prose.body.error, 'no_recipient');
  });

  test('a body that is not message/rfc822 is refused with 415', async () => {
    const response = await apiFetch(`${app.url}/v1/inbound/mime`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"subject":"hi"}',
    });
    assert.equal(response.status, 415);
  });

  test('a message over the configured size cap is refused with 413', async () => {
    const raw = await compose({ from: 'a@customer.example', to: 'support@mailgate.local', subject: 'big', text: 'x'.repeat(1100 * 1024) });
    const response = await postMime(app.url, raw);
    assert.equal(response.status, 413);
    assert.equal(response.body.error, 'too_large');
  });

  test('recipients outside the inbound domains are refused with 422; headers decide when no envelope is given', async () => {
    const raw = await compose({ from: 'a@customer.example', to: 'someone@elsewhere.example', subject: 'wrong', text: 'x' });
    const byHeader = await postMime(app.url, raw);
    assert.equal(byHeader.status, 422);
    const byEnvelope = await postMime(app.url, raw, { 'x-envelope-to': 'billing@other.example' });
    assert.equal(byEnvelope.status, 422);
    assert.match(JSON.stringify(byEnvelope.body), /billing@other\.example/);
  });

  test('X-Envelope-To decides the recipients: one workflow per recipient, each its own ticket', async () => {
    const id = unique('envelope');
    const raw = await compose({ from: `${id}@customer.example`, to: 'sales@mailgate.local', subject: `Two queues ${id}`, messageId: `<${id}@c.example>`, text: 'x' });
    const response = await postMime(app.url, raw, { 'x-envelope-to': 'Support@Mailgate.local, billing@mailgate.local', 'x-envelope-from': `${id}@customer.example` });
    assert.equal(response.status, 202);
    assert.deepEqual(response.body.emails?.map((e) => [e.recipient, e.status]), [
      ['support@mailgate.local', 'accepted'],
      ['billing@mailgate.local', 'accepted'],
    ]);
    const [a, b] = response.body.emails!;
    assert.notEqual(a!.workflowId, b!.workflowId);
    const views = await Promise.all([settled(app.url, a!.workflowId), settled(app.url, b!.workflowId)]);
    const queues = await Promise.all(views.map(async (v) => (await ticket(app.url, v.state!.ticketId!)).queue));
    assert.deepEqual(queues, ['support@mailgate.local', 'billing@mailgate.local']);
  });

  test('an attachment over the per-attachment cap is stripped, the ticket stays and says what was removed and why', async () => {
    const id = unique('cap');
    const raw = await compose({
      from: `${id}@customer.example`,
      to: 'support@mailgate.local',
      subject: `Big and small ${id}`,
      messageId: `<${id}@c.example>`,
      text: 'two files',
      attachments: [
        { filename: 'small.txt', content: 'small file' },
        { filename: 'big.bin', content: Buffer.alloc(300 * 1024, 7) },
      ],
    });
    const view = await settled(app.url, (await postMime(app.url, raw)).body.emails![0]!.workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');
    const t = await ticket(app.url, view.state!.ticketId!);
    const files = t.comments[0]!.attachments;
    assert.ok(files.find((f) => f.filename === 'small.txt')?.link);
    const big = files.find((f) => f.filename === 'big.bin');
    assert.equal(big?.link, null);
    assert.equal(big?.scanStatus, 'skipped');
    const note = t.comments.find((c) => c.internal);
    assert.match(note?.text ?? '', /"big\.bin" was removed: larger than the 102400-byte attachment limit/);
  });

  test('a client that does not finish sending its request within the request timeout is cut off with 408', async () => {
    const { port } = new URL(app.url);
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        // Fresh, well-formed signature headers: without them the request is refused 401 on its
        // headers at once (trust-decode.test.ts), and the slow body is never waited for.
        const signed = `X-Mailgate-Timestamp: ${Math.floor(Date.now() / 1000)}\r\nX-Mailgate-Signature: v1=${'a'.repeat(64)}\r\n`;
        socket.write(`POST /v1/inbound/mime HTTP/1.1\r\nHost: x\r\nContent-Type: message/rfc822\r\n${signed}Content-Length: 100000\r\n\r\nFrom: slow`);
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(), 20_000);
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.ok(Date.now() - started < 15_000, 'cut off by the 3 s timeout, not by the test');
  });

  test('the email state endpoint answers 404 for an unknown workflow', async () => {
    const { status } = await getJson(`${app.url}/v1/emails/inbound-email/${'0'.repeat(64)}`);
    assert.equal(status, 404);
  });

  test('with the object store stopped the ingress answers 503 with Retry-After and starts no workflow; afterwards the retry succeeds once', async () => {
    const id = unique('outage');
    const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Outage ${id}`, messageId: `<${id}@c.example>`, text: 'x' });
    await stack('down', 's3');
    let during;
    let ready;
    try {
      during = await postMime(app.url, raw);
      ready = await getJson<{ checks: Record<string, string> }>(`${app.url}/readyz`);
    } finally {
      await stack('up', 's3');
    }
    assert.equal(during.status, 503);
    assert.ok(Number(during.retryAfter) > 0);
    assert.equal(ready.status, 503);
    assert.match(ready.body.checks.objectStore ?? '', /^down/);
    const started = await withTemporal(async (client) => {
      const found = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = "${app.taskQueue}" AND ExecutionStatus = "Running"` })) found.push(w);
      return found.length;
    });
    assert.equal(started, 0, 'no workflow may start while the raw message cannot be stored');

    const retry = await postMime(app.url, raw);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.emails?.[0]?.status, 'accepted');
    const again = await postMime(app.url, raw);
    assert.equal(again.body.emails?.[0]?.status, 'duplicate');
    const view = await settled(app.url, retry.body.emails![0]!.workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');
    const ok = await getJson<{ status: string }>(`${app.url}/readyz`);
    assert.equal(ok.status, 200);
  });
  test('with Temporal stopped the ingress answers 503 with Retry-After; after the restart the retry is accepted and processed once', async () => {
    const id = unique('temporal-outage');
    const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Engine down ${id}`, messageId: `<${id}@c.example>`, text: 'x' });
    await stack('down', 'temporal');
    let during;
    try {
      during = await postMime(app.url, raw);
    } finally {
      await stack('up', 'temporal');
    }
    assert.equal(during.status, 503);
    assert.ok(Number(during.retryAfter) > 0);
    // A sender retries after Retry-After; the API's connection to Temporal reconnects with backoff.
    const retry = await eventually('the retry to be accepted', async () => {
      const response = await postMime(app.url, raw);
      if (response.status === 202) return response;
      await new Promise((r) => setTimeout(r, 1_000));
      return undefined;
    }, 60_000);
    assert.equal(retry.status, 202);
    assert.equal(retry.body.emails?.[0]?.status, 'accepted');
    const view = await settled(app.url, retry.body.emails![0]!.workflowId, 120_000);
    assert.equal(view.state?.outcome, 'ticket_created');
  });

  test('with clamd stopped an email waits in the scan step and completes once clamd is back', async () => {
    const id = unique('clamd-outage');
    const raw = await compose({
      from: `${id}@customer.example`,
      to: 'support@mailgate.local',
      subject: `Scanner down ${id}`,
      messageId: `<${id}@c.example>`,
      text: 'x',
      attachments: [{ filename: 'report.txt', content: 'quarterly numbers' }],
    });
    await stack('down', 'clamd');
    let waiting = '';
    try {
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202, 'the ingress does not need clamd to accept mail');
      waiting = posted.body.emails![0]!.workflowId;
      const stuck = await eventually('the email to wait in the scan step', async () => {
        const { body } = await getJson<{ state: { step: string } | null }>(`${app.url}/v1/emails/${waiting}`);
        return body.state?.step === 'scanning' ? body : undefined;
      });
      assert.equal(stuck.state?.step, 'scanning');
      await new Promise((r) => setTimeout(r, 3_000));
    } finally {
      await stack('up', 'clamd');
    }
    const view = await settled(app.url, waiting, 120_000);
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.equal(view.state?.attachments[0]?.status, 'clean');
  });
  test('ingress requests must be signed: missing, wrong, stale and future signatures are refused with 401 and a reason', async () => {
    const body = (await compose({ from: 'a@customer.example', to: 'support@mailgate.local', subject: 'signed?', messageId: `<${unique('sig')}@c.example>`, text: 'x' })).toString();
    const secret = (process.env.INGRESS_SECRETS ?? '').split(',')[0]!;
    const unsigned = await rawPost(app.url, body, {});
    assert.equal(unsigned.status, 401);
    assert.match(unsigned.reason, /missing x-mailgate-timestamp/);
    const wrong = await rawPost(app.url, body, signatureHeaders('not-the-secret-at-all-0000', body));
    assert.equal(wrong.status, 401);
    assert.match(wrong.reason, /does not match/);
    const tampered = await rawPost(app.url, body.replace('signed?', 'changed'), signatureHeaders(secret, body));
    assert.equal(tampered.status, 401);
    for (const offset of [-6 * 60_000, 6 * 60_000]) {
      const skewed = await rawPost(app.url, body, signatureHeaders(secret, body, Date.now() + offset));
      assert.equal(skewed.status, 401);
      assert.match(skewed.reason, /outside the allowed window of 300 s/);
    }
  });

  test('a signed request is accepted once; its byte-identical retry is answered as a duplicate; a refused one stays refused; a rotated secret signs too', async () => {
    const body = (await compose({ from: 'a@customer.example', to: 'support@mailgate.local', subject: 'once', messageId: `<${unique('once')}@c.example>`, text: 'x' })).toString();
    const headers = signatureHeaders((process.env.INGRESS_SECRETS ?? '').split(',')[0]!, body);
    const post = (): Promise<Response> => fetch(`${app.url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822', ...headers }, body });
    const first = await post();
    assert.equal(first.status, 202);
    const accepted = (await first.json()) as { emails: { workflowId: string; status: string }[] };
    const retry = await post();
    assert.equal(retry.status, 202);
    const again = (await retry.json()) as { emails: { workflowId: string; status: string }[]; retry?: boolean };
    assert.deepEqual(again.emails.map((e) => [e.workflowId, e.status]), accepted.emails.map((e) => [e.workflowId, 'duplicate']));
    assert.equal(again.retry, true);
    const nowhere = (await compose({ from: 'a@customer.example', to: 'someone@elsewhere.example', subject: 'nowhere', messageId: `<${unique('nowhere')}@c.example>`, text: 'x' })).toString();
    const nowhereHeaders = signatureHeaders((process.env.INGRESS_SECRETS ?? '').split(',')[0]!, nowhere);
    assert.equal((await rawPost(app.url, nowhere, nowhereHeaders)).status, 422);
    const replay = await rawPost(app.url, nowhere, nowhereHeaders);
    assert.equal(replay.status, 401);
    assert.match(replay.reason, /replay/);
    const rotated = (await compose({ from: 'a@customer.example', to: 'support@mailgate.local', subject: 'rotated', messageId: `<${unique('rot')}@c.example>`, text: 'x' })).toString();
    assert.equal((await rawPost(app.url, rotated, signatureHeaders(ROTATED_SECRET, rotated))).status, 202);
  });

  test('admin endpoints need the admin token; the ingress secret is not one', async () => {
    const none = await fetch(`${app.url}/v1/tickets`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${app.url}/v1/tickets`, { headers: { authorization: `Bearer ${ROTATED_SECRET}` } });
    assert.equal(wrong.status, 401);
    assert.equal((await apiFetch(`${app.url}/v1/tickets`)).status, 200);
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200, 'health needs no credential');
  });
});

describe('the per-source rate limit', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { INGRESS_RATE_PER_MINUTE: '5' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('past the limit a source gets 429 with Retry-After, and nothing it sent is processed', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const raw = await compose({ from: 'flood@customer.example', to: 'support@mailgate.local', subject: `n${i}`, messageId: `<${unique('rl')}@c.example>`, text: 'x' });
      const response = await postMime(app.url, raw);
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.retryAfter;
    }
    assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429, 429]);
    assert.ok(Number(retryAfter) >= 1);
  });
});
