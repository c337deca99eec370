/**
 * Operating Mailgate: the JSON logs carry the workflow id on every line about an email and never a
 * secret; SIGTERM drains the API (the request in flight is answered, new connections are refused)
 * and the worker (a rolling restart loses and doubles nothing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { signatureHeaders } from '../../src/api/signing';
import { readJsonLogs, startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { assertOneTicketAndAcknowledgementEach, postCustomerEmails, settled } from '../helpers/pipeline';
import { eventually, unique } from '../helpers/stack';

/** A POST whose body is sent in two halves, so the test can act between them. */
function splitPost(url: string, raw: Buffer): { sendRest: () => void; answer: Promise<{ status: number; body: string; connection: string | undefined }> } {
  const headers = { 'content-type': 'message/rfc822', 'content-length': String(raw.length), ...signatureHeaders((process.env.INGRESS_SECRETS ?? '').split(',')[0]!, raw) };
  const request = http.request(`${url}/v1/inbound/mime`, { method: 'POST', headers });
  const answer = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body, connection: response.headers.connection }));
    });
    request.on('error', reject);
  });
  const half = Math.floor(raw.length / 2);
  request.write(raw.subarray(0, half));
  return { sendRest: () => request.end(raw.subarray(half)), answer };
}

describe('operating Mailgate', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('every worker line about an email carries its workflow id; the API logs the id it started; no secret is logged', async () => {
    const id = unique('logs');
    const raw = await compose({
      from: `${id}@customer.example`,
      to: 'support@mailgate.local',
      subject: `Logged ${id}`,
      messageId: `<${id}@c.example>`,
      text: 'Please look at the attached log.',
      attachments: [{ filename: 'app.log', content: 'started\nstopped\n' }],
    });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202);
    const workflowId = posted.body.emails![0]!.workflowId;
    const view = await settled(app.url, workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');

    const worker = await eventually('the finished line in the worker log', async () => {
      const read = readJsonLogs(app.logDir, 'worker');
      return read.lines.some((l) => l.msg === 'email finished' && l.workflowId === workflowId) ? read : undefined;
    });
    const about = worker.lines.filter((l) => l.workflowId === workflowId);
    const messages = about.map((l) => l.msg);
    for (const expected of ['email received', 'attachments scanned', 'ticket recorded', 'acknowledgement sent', 'email finished']) {
      assert.ok(messages.includes(expected), `the worker logs "${expected}" with the workflow id (got ${JSON.stringify(messages)})`);
    }
    const finished = about.find((l) => l.msg === 'email finished')!;
    assert.equal(finished.outcome, 'ticket_created');
    assert.equal(finished.ticketId, view.state?.ticketId);
    // Lines from workflow and activity code (ours and the SDK's) all say which email they are about.
    const emailLines = worker.lines.filter((l) => l.sdkComponent === 'workflow' || l.sdkComponent === 'activity');
    assert.ok(emailLines.length >= 5);
    for (const line of emailLines) assert.equal(typeof line.workflowId, 'string', `a ${line.sdkComponent} line without a workflow id: ${JSON.stringify(line)}`);
    for (const line of worker.lines) {
      assert.equal(typeof line.time, 'string');
      assert.match(line.level, /^(debug|info|warn|error)$/);
      assert.equal(line.process, 'worker');
    }

    const api = readJsonLogs(app.logDir, 'api');
    const accepted = api.lines.find((l) => l.msg === 'inbound email accepted' && JSON.stringify(l.emails).includes(workflowId));
    assert.ok(accepted, 'the API logs the workflow id it started');

    const secrets = [
      ...(process.env.INGRESS_SECRETS ?? '').split(','),
      process.env.ADMIN_TOKEN,
      process.env.MAILGATE_SIGNING_KEY,
      process.env.S3_SECRET_ACCESS_KEY,
      process.env.PG_PASSWORD,
      // Short values (the test profile's database password) also occur as ordinary words.
    ].filter((s): s is string => typeof s === 'string' && s.length >= 16);
    assert.ok(secrets.length >= 4, 'the test environment has secrets to look for');
    assert.ok(!worker.text.includes('taskToken'), 'activity task tokens (they complete activities) are not logged');
    for (const secret of secrets) {
      assert.ok(!worker.text.includes(secret), 'no secret in the worker log');
      assert.ok(!api.text.includes(secret), 'no secret in the API log');
    }
  });

  test('SIGTERM drains the API: the request in flight is answered 202, new connections are refused, the process exits 0', async () => {
    const id = unique('drain');
    const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Drained ${id}`, messageId: `<${id}@c.example>`, text: 'x'.repeat(64 * 1024) });
    const inFlight = splitPost(app.url, raw);
    // The server has the request's first half when the signal arrives.
    await new Promise((r) => setTimeout(r, 300));
    const exit = app.stopApi('SIGTERM');
    await eventually('the API to start draining', async () => (readJsonLogs(app.logDir, 'api').lines.some((l) => l.msg === 'api draining') ? true : undefined));
    const refused = await fetch(`${app.url}/healthz`).then(
      () => 'answered',
      (error: Error & { cause?: { code?: string } }) => error.cause?.code ?? error.message,
    );
    assert.equal(refused, 'ECONNREFUSED', 'a draining API accepts no new connections');
    inFlight.sendRest();
    const answer = await inFlight.answer;
    assert.equal(answer.status, 202, `the request in flight is answered: ${answer.body}`);
    assert.equal(answer.connection, 'close', 'and its connection is closed after the answer');
    assert.deepEqual(await exit, { code: 0, signal: null });
    const api = readJsonLogs(app.logDir, 'api');
    assert.ok(api.lines.some((l) => l.msg === 'api draining' && l.signal === 'SIGTERM'));
    assert.ok(api.lines.some((l) => l.msg === 'api stopped'));

    await app.startApi();
    const workflowId = (JSON.parse(answer.body) as { emails: { workflowId: string }[] }).emails[0]!.workflowId;
    const view = await settled(app.url, workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');
  });

  test('a rolling restart of the worker under load (new one up, old one SIGTERMed) loses and doubles nothing', async () => {
    const total = 24;
    let rolled: Promise<{ code: number | null; signal: string | null }> | undefined;
    const { customers, workflowIds } = await postCustomerEmails(app.url, {
      run: unique('roll'),
      count: total,
      subject: 'Rolling',
      attachmentLines: 5000,
      after: (i) => {
        if (i === total / 3) rolled = app.rollWorker();
      },
    });
    assert.deepEqual(await rolled, { code: 0, signal: null }, 'the old worker drained and exited cleanly');
    const stopped = readJsonLogs(app.logDir, 'worker-1');
    assert.ok(stopped.lines.some((l) => l.msg === 'worker stopped'), 'the old worker logged its stop');

    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 120_000)));
    assert.deepEqual(new Set(views.map((v) => v.state?.outcome)), new Set(['ticket_created']));
    await assertOneTicketAndAcknowledgementEach(app.url, customers);
  });
});
