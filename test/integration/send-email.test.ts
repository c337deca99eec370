/**
 * scripts/send-email as an MTA's delivery hook: exit 0 only when the API accepted (202), 75
 * (EX_TEMPFAIL, the MTA retries) on 5xx, 429, a timeout or a refused connection, 65 (EX_DATAERR,
 * the MTA bounces) on a permanent refusal, and one line on stderr saying which. Against real API
 * processes (one with the object store at a closed loopback port, so it answers 503, and a
 * one-request rate limit, so it answers 429), a closed port, and a loopback server that never answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { ROOT, unique } from '../helpers/stack';

const SCRIPT = path.join(ROOT, 'scripts/send-email');
const scratch = mkdtempSync(path.join(tmpdir(), 'mailgate-send-email-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sendEmail(file: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(SCRIPT, [file], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

/** One line on stderr, matching `pattern`. */
function oneLine(run: Run, pattern: RegExp): void {
  const lines = run.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${run.stderr}`);
  assert.match(lines[0] ?? '', pattern);
}

interface Api {
  port: number;
  stop(): Promise<void>;
}

/** The real API process (dist/src/api/server.js) on a free port, with `env` over the test profile's. */
async function startApi(env: Record<string, string>): Promise<Api> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/server.js')], {
    env: {
      ...process.env,
      API_HOST: '127.0.0.1',
      API_PORT: String(port),
      TEMPORAL_TASK_QUEUE: unique('send-email'),
      DATABASE_URL: `sqlite:${path.join(scratch, `${unique('api')}.sqlite`)}`,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API did not log "api listening" within 30 s:\n${output}`)), 30_000);
    child.stdout?.on('data', (data: Buffer) => {
      output += data.toString();
      if (output.includes('"msg":"api listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (data: Buffer) => (output += data.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the API exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function emailFile(name: string): Promise<string> {
  const id = unique(name);
  const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `send-email ${name}`, messageId: `<${id}@customer.example>`, text: 'Hello.' });
  const file = path.join(scratch, `${id}.eml`);
  writeFileSync(file, raw);
  return file;
}

describe('scripts/send-email exits as an MTA hook must', () => {
  let api: Api;
  let failing: Api;
  before(async () => {
    api = await startApi({ MAX_MESSAGE_BYTES: String(64 * 1024) });
    // The object store at a port nothing listens on: the ingress answers 503 (it cannot store).
    // One request a minute: the second is 429.
    failing = await startApi({ S3_ENDPOINT: `http://127.0.0.1:${await freePort()}`, INGRESS_RATE_PER_MINUTE: '1', INGRESS_RATE_BURST: '1' });
  });
  after(async () => {
    await Promise.all([api?.stop(), failing?.stop()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  test('202 accepted: exit 0, the answer on stdout, nothing on stderr; a second delivery (duplicate) too', async () => {
    const file = await emailFile('accepted');
    const run = await sendEmail(file, { API_PORT: String(api.port) });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const answer = JSON.parse(run.stdout) as { emails: { status: string }[] };
    assert.equal(answer.emails[0]?.status, 'accepted');
    // A later delivery of the same file, as an MTA's retry comes: signed in another second, so this
    // checks the duplicate answer, not the ingress's handling of a byte-identical replayed request.
    await new Promise((r) => setTimeout(r, 1100));
    const again = await sendEmail(file, { API_PORT: String(api.port) });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { emails: { status: string }[] }).emails[0]?.status, 'duplicate');
  });

  test('400 not an email: exit 65 (EX_DATAERR) with the API\'s reason', async () => {
    // Prose without headers is mail (issue 14, class 1); an HTML page is plainly not.
    const file = path.join(scratch, 'page.eml');
    writeFileSync(file, '<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n');
    const run = await sendEmail(file, { API_PORT: String(api.port) });
    assert.equal(run.code, 65);
    assert.equal(run.stdout, '');
    oneLine(run, /^send-email: refused permanently with 400: \S/);
  });

  test('401 a wrong signing secret: exit 75, the MTA keeps the mail while the operator fixes the hook', async () => {
    const run = await sendEmail(await emailFile('unsigned'), { API_PORT: String(api.port), INGRESS_SECRETS: 'not-the-configured-ingress-secret' });
    assert.equal(run.code, 75);
    oneLine(run, /^send-email: authentication refused with 401.*INGRESS_SECRETS/);
  });

  test('413 over the size cap: exit 65', async () => {
    const id = unique('large');
    const file = path.join(scratch, `${id}.eml`);
    writeFileSync(file, await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: 'large', messageId: `<${id}@c.example>`, text: 'x'.repeat(200 * 1024) }));
    const run = await sendEmail(file, { API_PORT: String(api.port) });
    assert.equal(run.code, 65);
    oneLine(run, /^send-email: refused permanently with 413/);
  });

  test('503 (the API cannot store the message), then 429 (rate limited): exit 75 (EX_TEMPFAIL) both times', async () => {
    const unavailable = await sendEmail(await emailFile('unavailable'), { API_PORT: String(failing.port) });
    assert.equal(unavailable.code, 75, unavailable.stderr);
    oneLine(unavailable, /^send-email: answered 503: .*retry later$/);
    const limited = await sendEmail(await emailFile('limited'), { API_PORT: String(failing.port) });
    assert.equal(limited.code, 75, limited.stderr);
    oneLine(limited, /^send-email: answered 429.*retry later$/);
  });

  test('a refused connection (nothing listens on the port): exit 75', async () => {
    const run = await sendEmail(await emailFile('refused'), { API_PORT: String(await freePort()) });
    assert.equal(run.code, 75);
    oneLine(run, /^send-email: connection refused by http:\/\/127\.0\.0\.1:\d+\/v1\/inbound\/mime: retry later$/);
  });

  test('a server that accepts the connection and never answers: exit 75 once the timeout runs out', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const run = await sendEmail(await emailFile('slow'), { API_PORT: String(port), SEND_EMAIL_TIMEOUT_SECONDS: '2' });
      assert.equal(run.code, 75);
      oneLine(run, /^send-email: no answer from .* within 2s: retry later$/);
      assert.ok(Date.now() - started < 15_000, 'the timeout bounds the wait');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  test('an unreadable file or no secret: the hook says so and does not claim delivery', async () => {
    const missing = await sendEmail(path.join(scratch, 'no-such.eml'), { API_PORT: String(api.port) });
    assert.equal(missing.code, 66);
    oneLine(missing, /^send-email: cannot read /);
    const noSecret = await sendEmail(await emailFile('no-secret'), { API_PORT: String(api.port), INGRESS_SECRETS: '' });
    assert.equal(noSecret.code, 78);
    oneLine(noSecret, /INGRESS_SECRETS is not set/);
  });
});
