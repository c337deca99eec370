/**
 * Debian's Postfix on loopback in front of Mailgate, in both ways an adopter with an MTA connects
 * it: relaying to Mailgate's MX (smtp transport), and piping to `mailgate deliver` (pipe transport).
 * Each time Mailgate is stopped or cannot store while mail arrives: Postfix keeps the messages
 * (connection refused, 451, exit 75), and once Mailgate is back every message arrives exactly once.
 * Real processes throughout: Postfix (test/helpers/postfix.ts), the compiled MX and API, the test
 * stack's Temporal and object store.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import { freePort, startApp, type RunningApp } from '../helpers/app';
import { compose } from '../helpers/mail';
import { withTemporal } from '../helpers/pipeline';
import { countStatus, startPostfix, type Postfix } from '../helpers/postfix';
import { eventually, ROOT, unique } from '../helpers/stack';

const MESSAGES = 3;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** The compiled MX (dist/src/smtp.js) on `port`, ready once it logs "smtp listening". */
async function startMx(port: number, env: Record<string, string>): Promise<{ child: ChildProcess; output: () => string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist/src/smtp.js')], {
    env: { ...(process.env as Record<string, string>), SMTP_INGRESS_PORT: String(port), SMTP_INGRESS_METRICS_PORT: '0', SMTP_INGRESS_HOSTNAME: 'mx.mailgate.test', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  await eventually('the MX to listen', async () => {
    if (child.exitCode !== null) throw new Error(`the MX exited:\n${output}`);
    return output.includes('"msg":"smtp listening"') ? true : undefined;
  }, 60_000);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { child, output: () => output, stop };
}

async function sendThroughPostfix(postfix: Postfix, to: string, tag: string): Promise<string[]> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: postfix.port, secure: false, ignoreTLS: true });
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const id = unique(`${tag}-${i}`);
    ids.push(id);
    const raw = await compose({ from: `${id}@customer.example`, to, subject: `Postfix ${id}`, messageId: `<${id}@c.example>`, text: `message ${i}` });
    const info = await transport.sendMail({ envelope: { from: `${id}@customer.example`, to: [to] }, raw });
    assert.match(info.response, /^250 /, 'Postfix took the message');
  }
  return ids;
}

/** Runs `wait`; when it fails, the error carries the mail log and what `logs` gives (Mailgate's side). */
async function withEvidence<T>(postfix: Postfix, logs: () => string, wait: () => Promise<T>): Promise<T> {
  try {
    return await wait();
  } catch (error) {
    throw new Error([(error as Error).message, '--- maillog', await postfix.maillog(), logs()].join('\n'), { cause: error });
  }
}

/** The tail of each process log in `logDir`. */
function logTails(logDir: string): string {
  return readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f} (tail)\n${readFileSync(path.join(logDir, f), 'utf8').split('\n').slice(-40).join('\n')}`)
    .join('\n');
}

/** Workflows started on `taskQueue`: one per message that arrived. */
function workflowsOn(taskQueue: string): Promise<string[]> {
  return withTemporal(async (client) => {
    const ids: string[] = [];
    for await (const w of client.workflow.list({ query: `TaskQueue = "${taskQueue}"` })) ids.push(w.workflowId);
    return ids;
  });
}

describe('Postfix relaying to the MX', () => {
  test('MX stopped, then unable to store (451), then back: Postfix keeps the messages, and each arrives exactly once', async () => {
    const mxPort = await freePort();
    const postfix = await startPostfix({ transport: `smtp:[127.0.0.1]:${mxPort}` });
    cleanups.push(() => postfix.stop());
    const to = 'support@mailgate.local';
    const taskQueue = unique('postfix-relay');
    const dataDir = await mkdtemp(path.join(tmpdir(), 'mailgate-mx-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const mxEnv = { TEMPORAL_TASK_QUEUE: taskQueue, DATABASE_URL: `sqlite:${path.join(dataDir, 'ledger.sqlite')}` };

    await sendThroughPostfix(postfix, to, 'relay');
    await eventually('connection refused deferrals', async () => (countStatus(await postfix.maillog(), to, 'deferred') >= MESSAGES ? true : undefined), 60_000);

    const broken = await startMx(mxPort, { ...mxEnv, S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    cleanups.push(broken.stop);
    await eventually('451 deferrals from the MX', async () => {
      const log = await postfix.maillog();
      return log.split('\n').filter((l) => l.includes('status=deferred') && l.includes('451 4.3.0')).length >= MESSAGES ? true : undefined;
    }, 90_000);
    assert.equal(countStatus(await postfix.maillog(), to, 'sent'), 0);
    await broken.stop();

    const mx = await startMx(mxPort, mxEnv);
    cleanups.push(mx.stop);
    await withEvidence(postfix, () => `--- the MX's output\n${mx.output()}`, () =>
      eventually('every message relayed', async () => (countStatus(await postfix.maillog(), to, 'sent') >= MESSAGES ? true : undefined), 240_000),
    );
    const log = await postfix.maillog();
    assert.equal(countStatus(log, to, 'sent'), MESSAGES);
    assert.equal(countStatus(log, to, 'bounced'), 0);
    assert.equal(mx.output().split('\n').filter((l) => l.includes('"msg":"smtp message accepted"')).length, MESSAGES, 'the MX accepted each once');
    const workflows = await eventually('the workflows to be listed', async () => {
      const ids = await workflowsOn(taskQueue);
      return ids.length >= MESSAGES ? ids : undefined;
    }, 30_000);
    assert.equal(new Set(workflows).size, MESSAGES, 'one workflow per message, none twice');
    await mx.stop();
    await withTemporal((client) => Promise.allSettled(workflows.map((id) => client.workflow.getHandle(id).terminate('postfix test finished'))));
  });
});

describe('Postfix piping to mailgate deliver', () => {
  test('API stopped (exit 75): Postfix keeps the messages; API back: each arrives exactly once', async () => {
    const app: RunningApp = await startApp();
    cleanups.push(() => app.stop());
    // The pipe runs as nobody with Postfix's bare environment: a wrapper carries what deliver needs.
    const bin = await mkdtemp(path.join(tmpdir(), 'mailgate-deliver-'));
    cleanups.push(() => rm(bin, { recursive: true, force: true }));
    await chmod(bin, 0o755);
    const wrapper = path.join(bin, 'deliver');
    const secret = (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '';
    await writeFile(
      wrapper,
      `#!/bin/sh\nINGRESS_SECRETS='${secret}' MAILGATE_API_URL='${app.url}' MAILGATE_DELIVER_TIMEOUT_SECONDS=20 exec '${process.execPath}' '${path.join(ROOT, 'dist/src/cli/mailgate.js')}' deliver "$@"\n`,
      { mode: 0o755 },
    );
    const postfix = await startPostfix({
      transport: 'mailgate:',
      services: [`mailgate   unix       -  n n - - pipe flags=q user=nobody argv=${wrapper} -f \${sender} -- \${recipient}`],
    });
    cleanups.push(() => postfix.stop());
    const to = 'billing@mailgate.local';

    await app.stopApi();
    await sendThroughPostfix(postfix, to, 'pipe');
    await eventually('exit 75 deferrals', async () => (countStatus(await postfix.maillog(), to, 'deferred') >= MESSAGES ? true : undefined), 60_000);
    assert.match(await postfix.maillog(), /mailgate deliver: no answer from/);
    assert.equal(countStatus(await postfix.maillog(), to, 'sent'), 0);

    await app.startApi();
    await withEvidence(postfix, () => logTails(app.logDir), () =>
      eventually('every message piped', async () => (countStatus(await postfix.maillog(), to, 'sent') >= MESSAGES ? true : undefined), 240_000),
    );
    const log = await postfix.maillog();
    assert.equal(countStatus(log, to, 'sent'), MESSAGES);
    assert.equal(countStatus(log, to, 'bounced'), 0);
    const workflows = await eventually('the workflows to be listed', async () => {
      const ids = await workflowsOn(app.taskQueue);
      return ids.length >= MESSAGES ? ids : undefined;
    }, 30_000);
    assert.equal(new Set(workflows).size, MESSAGES, 'one workflow per message, none twice');
  });
});
