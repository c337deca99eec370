/**
 * What the integration tests need to reach the real local stack started by `make test`
 * (scripts/test runs `scripts/stack up infra` with the test profile and exports its configuration).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';

// The SDK logs every worker state change at INFO; tests only want warnings and errors.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** The repository root, from dist/test/helpers/. */
export const ROOT = path.resolve(__dirname, '../../..');

export const config: Config = loadConfig(process.env);

export const temporalBinary = path.join(ROOT, '.tools/venv/bin/temporal');

/** Starts or stops services of the local stack for real, as an operator would: scripts/stack. */
export async function stack(action: 'up' | 'down', service: string): Promise<void> {
  await promisify(execFile)(path.join(ROOT, 'scripts/stack'), [action, service], { env: process.env, timeout: 180_000 });
}

/** The stack's PostgreSQL database, as a DATABASE_URL. */
export function postgresUrl(): string {
  return `postgres://${process.env.PG_USER}:${encodeURIComponent(process.env.PG_PASSWORD ?? '')}@127.0.0.1:${process.env.PG_PORT}/${process.env.PG_DATABASE}`;
}

/** A name unique to this test run, for task queues, keys and addresses. */
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}
