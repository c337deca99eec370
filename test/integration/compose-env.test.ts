/**
 * The worker and the API start with exactly the environment docker-compose.yml gives them, and
 * their compose healthchecks pass. No Docker engine runs here, so the test does what Compose and
 * the image would: the env file is the one scripts/compose-env writes, the compose file is rendered
 * by test/helpers/compose.ts (checked against `docker-compose config` in
 * test/unit/compose-render.test.ts), the image's ENV comes from the Dockerfile, and each service's
 * own `command` and healthcheck `test` run from the repository root (the image's /app holds the
 * same dist/ and config/rules.json).
 *
 * The one substitution: compose service addresses become the loopback test stack's. A service name
 * with its container port (temporal:7233, http://seaweedfs:8333, clamav 3310, postgres:5432,
 * maildev 1025) becomes the stack's address, and the address a container listens on (0.0.0.0 with
 * API_PORT 3000, WORKER_METRICS_PORT 9464, TEMPORAL_METRICS_PORT 9465) becomes 127.0.0.1 with a
 * free port, since the processes share the host's network instead of one each. The stack's
 * credentials and a task queue of the test's own are given as Compose's shell environment, which
 * wins over the env file as it does for `docker compose`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/app';
import { dockerfileEnv, durationMs, loadCompose, serviceEnvironment, type ComposeProject, type Env } from '../helpers/compose';
import { config, ROOT, unique } from '../helpers/stack';

const scratch = mkdtempSync(path.join(tmpdir(), 'mailgate-compose-env-'));
const ENV_FILE = path.join(scratch, 'compose.env');

function run(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env: options.env, timeout: options.timeoutMs ?? 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

/** host:port of the test stack for each compose service address. */
function stackAddresses(): { temporal: string; s3: string; clamd: { host: string; port: string }; postgres: string; smtp: { host: string; port: string } } {
  const env = process.env;
  return {
    temporal: config.temporal.address,
    s3: config.s3.endpoint ?? assert.fail('the test stack has no S3_ENDPOINT'),
    clamd: { host: config.clamd.host, port: String(config.clamd.port) },
    postgres: `127.0.0.1:${env.PG_PORT ?? assert.fail('PG_PORT is not set (run under scripts/with-env)')}`,
    smtp: { host: config.smtp.host, port: String(config.smtp.port) },
  };
}

/** The one substitution (see the header): compose service addresses to loopback ones. */
function toLoopback(env: Env, ports: { api: number; metrics: number; temporalMetrics: number }): { env: Env; replaced: string[] } {
  const stack = stackAddresses();
  const out: Env = { ...env };
  const replaced: string[] = [];
  const swap = (name: string, from: string, to: string): void => {
    const value = out[name];
    if (value === undefined || !value.includes(from)) return;
    out[name] = value.split(from).join(to);
    replaced.push(name);
  };
  const pair = (hostVar: string, portVar: string, from: [string, string], to: [string, string]): void => {
    if (out[hostVar] !== from[0] || out[portVar] !== from[1]) return;
    [out[hostVar], out[portVar]] = to;
    replaced.push(hostVar, portVar);
  };
  swap('TEMPORAL_ADDRESS', 'temporal:7233', stack.temporal);
  swap('S3_ENDPOINT', 'http://seaweedfs:8333', stack.s3);
  swap('DATABASE_URL', '@postgres:5432/', `@${stack.postgres}/`);
  pair('CLAMD_HOST', 'CLAMD_PORT', ['clamav', '3310'], [stack.clamd.host, stack.clamd.port]);
  pair('SMTP_HOST', 'SMTP_PORT', ['maildev', '1025'], [stack.smtp.host, stack.smtp.port]);
  pair('API_HOST', 'API_PORT', ['0.0.0.0', '3000'], ['127.0.0.1', String(ports.api)]);
  pair('WORKER_METRICS_HOST', 'WORKER_METRICS_PORT', ['0.0.0.0', '9464'], ['127.0.0.1', String(ports.metrics)]);
  if (out.TEMPORAL_METRICS_PORT === '9465') {
    out.TEMPORAL_METRICS_PORT = String(ports.temporalMetrics);
    replaced.push('TEMPORAL_METRICS_PORT');
  }
  return { env: out, replaced };
}

interface Started {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

/** Runs a service's compose `command` (node from PATH is this node) with `env` only, from the repository root. */
function startService(project: ComposeProject, name: string, env: Env): Started {
  const command = project.services[name]?.command;
  assert.ok(Array.isArray(command) && command.every((c) => typeof c === 'string'), `${name} has a command list`);
  const [program, ...args] = command as string[];
  assert.equal(program, 'node', `${name} runs node`);
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return {
    child,
    output: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 45_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

async function waitForLog(service: Started, line: string, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!service.output().includes(line)) {
    if (service.child.exitCode !== null) assert.fail(`${what} exited with ${service.child.exitCode} at once:\n${service.output().slice(-3000)}`);
    if (Date.now() > deadline) assert.fail(`${what} did not log ${line} within ${timeoutMs} ms:\n${service.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Runs a service's healthcheck `test` as Docker would inside the container (same environment),
 * every second until it exits 0, for at most start_period + retries × interval. Each run is bounded
 * by the healthcheck's timeout.
 */
async function healthy(project: ComposeProject, name: string, env: Env): Promise<void> {
  const check = project.services[name]?.healthcheck;
  assert.ok(check !== null && typeof check === 'object' && !Array.isArray(check), `${name} has a healthcheck`);
  const testCommand = check.test;
  assert.ok(Array.isArray(testCommand) && testCommand[0] === 'CMD', `${name}'s healthcheck is an exec (CMD) list`);
  const [, program, ...args] = testCommand as string[];
  assert.equal(program, 'node', `${name}'s healthcheck runs node, which the image has`);
  const timeoutMs = durationMs(String(check.timeout ?? '30s'));
  const budget = durationMs(String(check.start_period ?? '0s')) + Number(check.retries ?? 3) * durationMs(String(check.interval ?? '30s'));
  const deadline = Date.now() + budget;
  let last = { code: -1, stdout: '', stderr: '' };
  while (Date.now() < deadline) {
    last = await run(process.execPath, args, { env, timeoutMs });
    if (last.code === 0) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  assert.fail(`${name}'s healthcheck did not pass within ${budget} ms (last exit ${last.code}) ${last.stderr}`);
}

describe('the worker and the API with the environment docker-compose.yml gives them', () => {
  let project: ComposeProject;
  const started: Started[] = [];
  const envs: Record<string, Env> = {};
  const ports = { api: 0, metrics: 0, temporalMetrics: 0 };

  before(async () => {
    const generated = await run(path.join(ROOT, 'scripts/compose-env'), [ENV_FILE], { env: { PATH: process.env.PATH } });
    assert.equal(generated.code, 0, generated.stderr);
    const stackEnv = process.env;
    project = loadCompose(path.join(ROOT, 'docker-compose.yml'), {
      envFile: ENV_FILE,
      shell: {
        S3_ACCESS_KEY_ID: config.s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: config.s3.secretAccessKey,
        S3_BUCKET: config.s3.bucket,
        PG_USER: stackEnv.PG_USER ?? assert.fail('PG_USER is not set'),
        PG_PASSWORD: stackEnv.PG_PASSWORD ?? assert.fail('PG_PASSWORD is not set'),
        PG_DATABASE: stackEnv.PG_DATABASE ?? assert.fail('PG_DATABASE is not set'),
        TEMPORAL_TASK_QUEUE: unique('compose'),
      },
    });
    Object.assign(ports, { api: await freePort(), metrics: await freePort(), temporalMetrics: await freePort() });
    const image = dockerfileEnv(path.join(ROOT, 'Dockerfile'));
    for (const name of ['worker', 'api']) {
      const { env, replaced } = toLoopback(serviceEnvironment(project, name), ports);
      for (const variable of ['TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'DATABASE_URL', 'CLAMD_HOST', 'SMTP_HOST', 'API_HOST', 'WORKER_METRICS_HOST']) {
        assert.ok(replaced.includes(variable), `${name}: ${variable} held no compose service address to map (${env[variable]})`);
      }
      // What the container has: the image's ENV under the compose environment; PATH for `node`.
      envs[name] = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...image, ...env };
    }
  });

  after(async () => {
    await Promise.all(started.map((s) => s.stop()));
    rmSync(scratch, { recursive: true, force: true });
  });

  test('the env file scripts/compose-env writes holds every secret compose requires, and the image runs in production mode', () => {
    for (const name of ['worker', 'api']) {
      const env = envs[name]!;
      for (const secret of ['INGRESS_SECRETS', 'ADMIN_TOKEN', 'MAILGATE_SIGNING_KEY']) assert.match(env[secret] ?? '', /^[0-9a-f]{64}$/, `${name} ${secret}`);
      assert.equal(env.NODE_ENV, 'production', 'the Dockerfile sets NODE_ENV');
    }
  });

  test('the worker starts, and its compose healthcheck (/healthz on the metrics port) passes', async () => {
    const worker = startService(project, 'worker', envs.worker!);
    started.push(worker);
    await waitForLog(worker, '"msg":"worker running"', 'the worker', 120_000);
    await healthy(project, 'worker', envs.worker!);
    const health = (await (await fetch(`http://127.0.0.1:${ports.metrics}/healthz`)).json()) as { status: string; temporal: string; taskQueue: string };
    assert.equal(health.status, 'running');
    assert.equal(health.temporal, 'ok');
    assert.equal(health.taskQueue, envs.worker!.TEMPORAL_TASK_QUEUE);
  });

  test('the API starts, and its compose healthcheck (/readyz: Temporal, object store, clamd, database) passes', async () => {
    const api = startService(project, 'api', envs.api!);
    started.push(api);
    await waitForLog(api, '"msg":"api listening"', 'the API', 60_000);
    await healthy(project, 'api', envs.api!);
    const ready = (await (await fetch(`http://127.0.0.1:${ports.api}/readyz`)).json()) as { status: string; checks: Record<string, string> };
    assert.deepEqual(ready, { status: 'ready', checks: { temporal: 'ok', objectStore: 'ok', clamd: 'ok', database: 'ok' } });
  });

  test('the admin token and ingress secret from the env file are the ones the API checks', async () => {
    const tickets = await fetch(`http://127.0.0.1:${ports.api}/v1/tickets`, { headers: { authorization: `Bearer ${envs.api!.ADMIN_TOKEN}` } });
    assert.equal(tickets.status, 200);
    const refused = await fetch(`http://127.0.0.1:${ports.api}/v1/tickets`, { headers: { authorization: 'Bearer local-development-admin-token' } });
    assert.equal(refused.status, 401);
  });

  test('without INGRESS_SECRETS and ADMIN_TOKEN (the compose file before) the API exits at once and names both', async () => {
    const { INGRESS_SECRETS: _ingress, ADMIN_TOKEN: _admin, ...without } = envs.api!;
    const api = startService(project, 'api', { ...without, API_PORT: String(await freePort()) });
    const code = await new Promise<number | null>((resolve) => api.child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(api.output(), /invalid configuration \(2 variables\): INGRESS_SECRETS is required; ADMIN_TOKEN is required/);
  });

  test('the worker stopped, its /healthz says so and the healthcheck fails', async () => {
    const worker = started[0]!;
    await worker.stop();
    const check = project.services.worker?.healthcheck as { test: string[] };
    const result = await run(process.execPath, check.test.slice(2), { env: envs.worker!, timeoutMs: 10_000 });
    assert.notEqual(result.code, 0, 'the healthcheck passed with no worker');
  });
});
