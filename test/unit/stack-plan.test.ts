/**
 * `make up` (scripts/stack up all) starts PostgreSQL only when the configuration uses it, and says
 * why when it does not. Checked through `scripts/stack plan`, which prints the services `up` would
 * start from the same function `up` uses, without starting anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');
const PG_PORT = '5999';

interface Plan {
  code: number;
  services: string[];
  stderr: string;
}

/** `scripts/stack plan ARGS` with a clean environment plus `env` (a variable set here beats the config files). */
function plan(args: string[], env: Record<string, string>): Promise<Plan> {
  return new Promise((resolve) => {
    execFile(
      path.join(ROOT, 'scripts/stack'),
      ['plan', ...args],
      { env: { HOME: process.env.HOME ?? '/root', PATH: process.env.PATH ?? '/usr/bin:/bin', PG_PORT, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, services: stdout.split('\n').filter(Boolean), stderr });
      },
    );
  });
}

test('with the SQLite store (the default) `up all` leaves PostgreSQL out and says why and how to start it', async () => {
  const run = await plan(['all'], { MAILGATE_PROFILE: 'default', DATABASE_URL: 'sqlite:.data/default/mailgate.sqlite', STACK_POSTGRES: 'auto' });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.services, ['temporal', 's3', 'clamd', 'smtp', 'worker', 'api', 'mx']);
  assert.match(run.stderr, /postgres is not started: the ticket store is SQLite .*`scripts\/stack up postgres` starts it anyway/);
});

test('a DATABASE_URL naming the local cluster starts PostgreSQL with the rest, before the app', async () => {
  for (const host of ['127.0.0.1', 'localhost']) {
    const run = await plan(['all'], { MAILGATE_PROFILE: 'default', DATABASE_URL: `postgres://mailgate:pw@${host}:${PG_PORT}/mailgate`, STACK_POSTGRES: 'auto' });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.services, ['temporal', 's3', 'clamd', 'postgres', 'smtp', 'worker', 'api', 'mx'], host);
    assert.doesNotMatch(run.stderr, /postgres is not started/);
  }
});

test('a DATABASE_URL naming another PostgreSQL server does not start the local one, and the password is not printed', async () => {
  const run = await plan(['infra'], { MAILGATE_PROFILE: 'default', DATABASE_URL: 'postgres://mailgate:s3cret-pw@db.example.com:5432/mailgate', STACK_POSTGRES: 'auto' });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.services, ['temporal', 's3', 'clamd', 'smtp']);
  assert.match(run.stderr, /DATABASE_URL names the PostgreSQL server at db\.example\.com:5432, not the local cluster \(127\.0\.0\.1:5999\)/);
  assert.doesNotMatch(run.stderr, /s3cret-pw/);
});

test('the test profile starts PostgreSQL with the infrastructure (STACK_POSTGRES=always), since the store suites run on both databases', async () => {
  const run = await plan(['infra'], { MAILGATE_PROFILE: 'test' });
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.services, ['temporal', 's3', 'clamd', 'postgres', 'smtp']);
  assert.match(run.stderr, /postgres is started although the ticket store is SQLite .*: STACK_POSTGRES=always/);
});

test('postgres named on its own always starts; a wrong STACK_POSTGRES or service is refused', async () => {
  const alone = await plan(['postgres'], { MAILGATE_PROFILE: 'default', DATABASE_URL: 'sqlite:x.sqlite', STACK_POSTGRES: 'auto' });
  assert.deepEqual(alone.services, ['postgres']);
  assert.equal(alone.stderr, '');
  const wrong = await plan(['all'], { MAILGATE_PROFILE: 'default', STACK_POSTGRES: 'sometimes' });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /STACK_POSTGRES must be auto or always/);
  const unknown = await plan(['nope'], { MAILGATE_PROFILE: 'default' });
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown service 'nope'/);
});
