/**
 * The time-to-ticket benchmark (bench/time-to-ticket.ts) runs past the rules' new-ticket limit per
 * sender (20 an hour), because each email has its own sender, and a wait that cannot end stops at
 * its timeout with an error naming what it waited for.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort, startApp, type RunningApp } from '../helpers/app';
import { ROOT, unique } from '../helpers/stack';

const BENCH = path.join(ROOT, 'dist/bench/time-to-ticket.js');

function bench(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BENCH, ...args], { env: { ...process.env, ...env }, timeout: 180_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

describe('the time-to-ticket benchmark', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('25 small emails in a row all become tickets: one sender each, so the per-sender limit of 20 is never hit', async () => {
    const run = await bench(['--url', app.url, '--small', '25', '--large', '0', '--timeout', '60']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /small email, POST to ticket: n=25 p50=\d+ ms/);
  });

  test('with no worker to make the ticket, the run stops at its timeout and says which email it waited for', async () => {
    // An API alone on its own task queue: the workflow starts, nothing runs it.
    const port = await freePort();
    const api: ChildProcess = spawn(process.execPath, [path.join(ROOT, 'dist/src/api/server.js')], {
      env: { ...app.env, API_PORT: String(port), TEMPORAL_TASK_QUEUE: unique('no-worker') },
      stdio: 'ignore',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
        assert.ok(Date.now() < deadline, 'the API did not answer /healthz within 30 s');
        await new Promise((r) => setTimeout(r, 200));
      }
      const started = Date.now();
      const run = await bench(['--url', url, '--small', '1', '--large', '0', '--timeout', '3']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^timed out after 3 s waiting for the ticket of inbound-email\/\S+ \(email from bench-\S+-small-0@customer\.example; last state: /);
      assert.ok(Date.now() - started < 30_000, 'the timeout bounds the run');
    } finally {
      api.kill('SIGTERM');
    }
  });
});
