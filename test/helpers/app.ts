/**
 * Starts Mailgate's real worker and API processes against the test stack, each test suite with its
 * own task queue, API port and ticket database, and stops them again. The worker can be SIGKILLed
 * and restarted to test durability.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import { createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, unique } from './stack';

export interface AppOptions {
  /** `sqlite:<path>` or a postgres URL; default: a fresh SQLite file. */
  databaseUrl?: string;
  env?: Record<string, string>;
}

export interface RunningApp {
  url: string;
  taskQueue: string;
  env: Record<string, string>;
  logDir: string;
  killWorker(signal?: NodeJS.Signals): Promise<void>;
  startWorker(): Promise<void>;
  /** A rolling restart: a new worker starts, then the old one gets SIGTERM; resolves with its exit. */
  rollWorker(): Promise<Exit>;
  /** Sends the API a signal and resolves when it has exited. */
  stopApi(signal?: NodeJS.Signals): Promise<Exit>;
  startApi(): Promise<void>;
  /** The running worker's and API's process ids (for CPU read from /proc by the benchmarks). */
  pids(): { worker?: number; api?: number };
  /** Sends a signal to the running API and worker (SIGHUP: reload the rules). */
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${buffer.slice(-2000)}`)), timeoutMs);
    const onData = (data: Buffer): void => {
      buffer += data.toString();
      if (pattern.test(buffer)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready:\n${buffer.slice(-2000)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<Exit> {
  const exit = (): Exit => ({ code: child.exitCode, signal: child.signalCode });
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(exit()) : new Promise((r) => child.once('exit', () => r(exit())));
}

export async function startApp(options: AppOptions = {}): Promise<RunningApp> {
  const name = unique('app');
  const logDir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'test-apps', name);
  mkdirSync(logDir, { recursive: true });
  const port = await freePort();
  const taskQueue = unique('mailgate-test');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    TEMPORAL_TASK_QUEUE: taskQueue,
    API_PORT: String(port),
    API_HOST: '127.0.0.1',
    DATABASE_URL: options.databaseUrl ?? `sqlite:${path.join(logDir, 'tickets.sqlite')}`,
    LOG_LEVEL: 'info',
    // Several workers run at once (and a restarted one overlaps its predecessor): any free port.
    WORKER_METRICS_PORT: '0',
    TEMPORAL_METRICS_PORT: '0',
    ...options.env,
  };
  let worker: ChildProcess | undefined;
  let workerStarts = 0;
  const spawnLogged = (script: string, label: string): ChildProcess => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/src', script)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(path.join(logDir, `${label}.log`), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    return child;
  };
  const startWorker = async (): Promise<void> => {
    workerStarts += 1;
    worker = spawnLogged('worker.js', `worker-${workerStarts}`);
    await waitForLine(worker, /"msg":"worker running"/, 'worker');
  };
  await startWorker();
  let api: ChildProcess | undefined;
  let apiStarts = 0;
  const startApi = async (): Promise<void> => {
    apiStarts += 1;
    api = spawnLogged('api/server.js', `api-${apiStarts}`);
    await waitForLine(api, /"msg":"api listening"/, 'api');
  };
  await startApi();
  return {
    url: `http://127.0.0.1:${port}`,
    taskQueue,
    env,
    logDir,
    startWorker,
    startApi,
    async killWorker(signal: NodeJS.Signals = 'SIGKILL') {
      if (!worker) return;
      worker.kill(signal);
      await exited(worker);
      worker = undefined;
    },
    async rollWorker() {
      const old = worker;
      await startWorker();
      if (!old) return { code: null, signal: null };
      old.kill('SIGTERM');
      return exited(old);
    },
    async stopApi(signal: NodeJS.Signals = 'SIGTERM') {
      const current = api;
      api = undefined;
      if (!current) return { code: null, signal: null };
      current.kill(signal);
      return exited(current);
    },
    pids() {
      return { worker: worker?.pid, api: api?.pid };
    },
    signal(signal: NodeJS.Signals) {
      for (const child of [api, worker]) child?.kill(signal);
    },
    async stop() {
      const stopping = [api, worker].filter((c): c is ChildProcess => c !== undefined);
      for (const child of stopping) child.kill('SIGTERM');
      await Promise.race([
        Promise.all(stopping.map(exited)),
        new Promise((r) => setTimeout(r, 15_000)),
      ]);
      for (const child of stopping) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

export type LogLine = Record<string, unknown> & { msg: string; level: string };

/**
 * The JSON log lines of the app's processes whose log file names start with `prefix` ('worker',
 * 'api', '' for all), and their raw text. Fails on a line that is not JSON.
 */
export function readJsonLogs(logDir: string, prefix = ''): { lines: LogLine[]; text: string } {
  const files = readdirSync(logDir).filter((f) => f.startsWith(prefix) && f.endsWith('.log'));
  const text = files.map((f) => readFileSync(path.join(logDir, f), 'utf8')).join('');
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return assert.fail(`a log line in ${logDir} is not JSON: ${l.slice(0, 200)}`);
      }
    });
  return { lines, text };
}
