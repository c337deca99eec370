/**
 * scripts/cluster's answers that need no running cluster: what it refuses and what it reports when
 * nothing runs. The cluster itself is tested by `make test-cluster` (test/cluster/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `scripts/cluster ARGS` with a clean environment, a data folder of its own and an unused port range. */
function cluster(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const data = mkdtempSync(path.join(os.tmpdir(), 'mailgate-cluster-script-'));
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'scripts/cluster'),
      args,
      { env: { HOME: process.env.HOME ?? '/root', PATH: process.env.PATH ?? '/usr/bin:/bin', MAILGATE_DATA_DIR: data, CLUSTER_PORT_BASE: '39950', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        rmSync(data, { recursive: true, force: true });
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
      },
    );
  });
}

test('an unknown command gets the usage', async () => {
  const run = await cluster(['start']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /usage: scripts\/cluster up\|down\|status\|env\|restart NAME/);
});

test('env before the first up says to run up first instead of printing paths to certificates that do not exist', async () => {
  const run = await cluster(['env']);
  assert.equal(run.code, 1);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /no certificates yet: run scripts\/cluster up first/);
});

test('a port base that is not a usable port is refused by name', async () => {
  for (const base of ['abc', '80', '70000', '7350x']) {
    const run = await cluster(['status'], { CLUSTER_PORT_BASE: base });
    assert.equal(run.code, 1, base);
    assert.match(run.stderr, /CLUSTER_PORT_BASE must be a port between 1024 and 65520/, base);
  }
});

test('restart of a process the cluster does not have names the ones it has', async () => {
  const run = await cluster(['restart', 'history-3']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /unknown cluster process 'history-3' \(frontend history-1 history-2 matching worker postgres\)/);
});

test('status with nothing running lists every process as down and exits non-zero', async () => {
  const run = await cluster(['status']);
  assert.equal(run.code, 1);
  for (const name of ['frontend', 'history-1', 'history-2', 'matching', 'worker', 'postgres', 'health']) {
    assert.match(run.stdout, new RegExp(`^\\s+${name}\\s+down$`, 'm'), run.stdout);
  }
});

test('down with nothing running succeeds', async () => {
  const run = await cluster(['down']);
  assert.equal(run.code, 0, run.stderr);
});
