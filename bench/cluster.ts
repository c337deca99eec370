/**
 * The Temporal cluster (scripts/cluster) against the dev server, in one run on one machine: the bare
 * engine shape (bench/bare-shape.ts), Mailgate with one worker and with two workers on the cluster,
 * and the bare shape and Mailgate with one worker on the dev server. Per run: emails/s with a closed
 * loop, latency, time to ticket at a steady rate, and CPU milliseconds per email of every process
 * (/proc; PostgreSQL as its whole process tree), so that capacity for N machines can be computed.
 * Needs the stack's infrastructure and the cluster running; `scripts/bench-cluster` starts both:
 *   scripts/bench-cluster [--count 300] [--concurrency 24] [--steady 60] [--rate 4]
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import MailComposer from 'nodemailer/lib/mail-composer';
import { loadConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal-connection';
import { startApp, type RunningApp } from '../test/helpers/app';
import { spawnBareWorker } from './bare-worker-process';
import { apiFetch } from '../test/helpers/mail';
import { postgresUrl, ROOT } from '../test/helpers/stack';
import { SMALL_EMAIL_SHAPE } from './bare-shape';
import { pidFile, postmasterPid, processCpu, treeCpu } from './proc-cpu';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '24' },
    steady: { type: 'string', default: '60' },
    rate: { type: 'string', default: '4' },
    'dev-server': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const COUNT = Number(values.count);
const CONCURRENCY = Number(values.concurrency);
const STEADY = Number(values.steady);
const RATE = Number(values.rate);
const run = Date.now().toString(36);
const dataDir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/default');
const clusterDir = path.join(dataDir, 'cluster');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const out = (text = ''): boolean => process.stdout.write(`${text}\n`);

const CLUSTER_SERVICES = ['frontend', 'history-1', 'history-2', 'matching', 'worker'] as const;

/** The TEMPORAL_* settings `scripts/cluster env` prints for Mailgate. */
function clusterEnv(): Record<string, string> {
  const text = execFileSync(path.join(ROOT, 'scripts/cluster'), ['env'], { encoding: 'utf8', env: process.env });
  return Object.fromEntries(text.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

interface Target {
  name: string;
  env: Record<string, string>;
  /** The engine's processes: name -> CPU seconds so far. */
  engine: () => Record<string, number>;
}

const shared = (): Record<string, number> => ({
  'ticket pg': treeCpu(postmasterPid(dataDir)),
  seaweedfs: processCpu(pidFile(path.join(dataDir, 'run/s3.pid'))),
  clamd: processCpu(pidFile(path.join(dataDir, 'run/clamd.real.pid'))),
  maildev: processCpu(pidFile(path.join(dataDir, 'run/smtp.pid'))),
});

const clusterTarget = (): Target => ({
  name: 'cluster',
  env: clusterEnv(),
  engine: () => ({
    ...Object.fromEntries(CLUSTER_SERVICES.map((s) => [`t:${s}`, processCpu(pidFile(path.join(clusterDir, 'run', `${s}.pid`)))])),
    't:postgres': treeCpu(postmasterPid(clusterDir)),
  }),
});

const devTarget = (): Target => ({
  name: 'dev server',
  env: {},
  engine: () => ({ 't:dev server': processCpu(pidFile(path.join(dataDir, 'run/temporal.pid'))) }),
});

interface Measured {
  label: string;
  perSecond: number;
  p50: number;
  p95: number;
  toTicketP50: number;
  toTicketP95: number;
  /** CPU ms per email, by process. */
  cpu: Map<string, number>;
}

function percentile(samples: number[], q: number): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function closedLoop(n: number, concurrency: number, one: (i: number) => Promise<number>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const begin = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) latencies.push(await one(next++));
  }));
  return { seconds: (performance.now() - begin) / 1000, latencies };
}

async function openLoop(n: number, rate: number, one: (i: number) => Promise<number>): Promise<number[]> {
  const begin = performance.now();
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const wait = begin + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    return one(i);
  }));
}

async function email(tag: string, i: number): Promise<{ sender: string; raw: Buffer }> {
  const sender = `ann@${tag}${i}-${run}.customer-example.com`;
  const raw = await new MailComposer({
    from: sender,
    to: 'support@mailgate.local',
    subject: `cluster bench ${run} ${tag} ${i}`,
    messageId: `<cluster-bench.${run}.${tag}.${i}@customer.example>`,
    text: 'Hello,\n\nthe export to our accounting system stopped on Monday. Could you have a look?\n\nThanks,\nAnn',
  }).compile().build();
  return { sender, raw };
}

/** POSTs one email like a sending MTA: a 503/429 or a reset is tried again a second later. */
async function post(url: string, raw: Buffer): Promise<{ workflowId: string; postedAt: number }> {
  const postedAt = Date.now();
  for (;;) {
    const response = await apiFetch(`${url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: new Uint8Array(raw) }).catch(() => null);
    const json = response ? ((await response.json().catch(() => ({}))) as { emails?: { workflowId: string }[] }) : {};
    if (response?.status === 202 && json.emails?.[0]) return { workflowId: json.emails[0].workflowId, postedAt };
    if (response && response.status !== 503 && response.status !== 429) throw new Error(`the ingress answered ${response.status}: ${JSON.stringify(json)}`);
    await sleep(1000);
  }
}

class Meter {
  private before: Record<string, number> = {};
  constructor(private readonly sample: () => Record<string, number>) {}
  start(): void {
    this.before = this.sample();
  }
  perItem(n: number): Map<string, number> {
    const after = this.sample();
    const per = new Map<string, number>();
    for (const [name, start] of Object.entries(this.before)) {
      const used = (after[name] ?? Number.NaN) - start;
      if (Number.isFinite(used)) per.set(name, (used * 1000) / n);
    }
    return per;
  }
}

async function startBare(env: Record<string, string>, queue: string): Promise<ChildProcess> {
  return spawnBareWorker(queue, env);
}

async function measureBare(target: Target, client: Client): Promise<Measured> {
  const queue = `bench-bare-${target.name.replace(/\W/g, '')}-${run}`;
  const bare = await startBare(target.env, queue);
  const one = async (id: string): Promise<number> => {
    const begin = performance.now();
    await client.workflow.execute('bareEmailShape', { taskQueue: queue, workflowId: id, args: [SMALL_EMAIL_SHAPE] });
    return performance.now() - begin;
  };
  try {
    await closedLoop(20, 10, (i) => one(`bare-${run}-${queue}-warm-${i}`));
    await sleep(2_000);
    const meter = new Meter(() => ({ ...target.engine(), ...shared(), 'bare worker': processCpu(bare.pid) }));
    meter.start();
    const { seconds, latencies } = await closedLoop(COUNT, CONCURRENCY, (i) => one(`bare-${run}-${queue}-${i}`));
    const cpu = meter.perItem(COUNT);
    const steady = await openLoop(STEADY, RATE, (i) => one(`bare-${run}-${queue}-steady-${i}`));
    return { label: `${target.name}: bare shape`, perSecond: COUNT / seconds, p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), toTicketP50: percentile(steady, 0.5), toTicketP95: percentile(steady, 0.95), cpu };
  } finally {
    bare.kill('SIGTERM');
    await once(bare, 'exit');
  }
}

async function measureMailgate(target: Target, client: Client, apps: RunningApp[], tag: string): Promise<Measured> {
  const urls = apps.map((a) => a.url);
  const one = async (raw: Buffer, i: number): Promise<number> => {
    const begin = performance.now();
    const sent = await post(urls[i % urls.length]!, raw);
    const state = (await client.workflow.getHandle(sent.workflowId).result()) as { outcome?: string };
    if (state.outcome !== 'ticket_created') throw new Error(`email ${sent.workflowId} ended ${String(state.outcome)}`);
    return performance.now() - begin;
  };
  const warm = await Promise.all(Array.from({ length: 10 }, (_, i) => email(`${tag}w`, i)));
  await closedLoop(10, 5, (i) => one(warm[i]!.raw, i));
  const bodies = await Promise.all(Array.from({ length: COUNT }, (_, i) => email(tag, i)));
  const steadyBodies = await Promise.all(Array.from({ length: STEADY }, (_, i) => email(`${tag}t`, i)));
  await sleep(2_000);
  const meter = new Meter(() => {
    const sample: Record<string, number> = { ...target.engine(), ...shared(), 'mailgate worker': 0, api: 0 };
    for (const app of apps) {
      const { worker, api } = app.pids();
      sample['mailgate worker']! += processCpu(worker);
      sample.api! += processCpu(api);
    }
    return sample;
  });
  meter.start();
  const { seconds, latencies } = await closedLoop(COUNT, CONCURRENCY, (i) => one(bodies[i]!.raw, i));
  await sleep(1_000);
  const cpu = meter.perItem(COUNT);
  // Time to ticket at a steady rate: from the POST to the ticket's own creation time.
  const toTicket = await openLoop(STEADY, RATE, async (i) => {
    const { sender, raw } = steadyBodies[i]!;
    const sent = await post(urls[i % urls.length]!, raw);
    await client.workflow.getHandle(sent.workflowId).result();
    const page = (await (await apiFetch(`${urls[0]}/v1/tickets?requester=${encodeURIComponent(sender)}`)).json()) as { tickets?: { created: string }[] };
    return Date.parse(page.tickets?.[0]?.created ?? '') - sent.postedAt;
  });
  const workers = apps.length;
  return { label: `${target.name}: Mailgate, ${workers} worker${workers > 1 ? 's' : ''}`, perSecond: COUNT / seconds, p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), toTicketP50: percentile(toTicket, 0.5), toTicketP95: percentile(toTicket, 0.95), cpu };
}

async function measureTarget(target: Target, workerCounts: number[]): Promise<Measured[]> {
  const temporal = loadConfig({ ...process.env, ...target.env }).temporal;
  const connection = await Connection.connect(temporalConnectionOptions(temporal));
  const client = new Client({ connection, namespace: temporal.namespace });
  const results: Measured[] = [];
  const apps: RunningApp[] = [];
  try {
    out(`${target.name}: bare shape…`);
    results.push(await measureBare(target, client));
    out(line(results.at(-1)!));
    const queue = `bench-cluster-${target.name.replace(/\W/g, '')}-${run}`;
    const env = { ...target.env, TEMPORAL_TASK_QUEUE: queue, INGRESS_RATE_PER_MINUTE: '1000000', INGRESS_RATE_BURST: '100000' };
    for (const workers of workerCounts) {
      while (apps.length < workers) apps.push(await startApp({ databaseUrl: postgresUrl(), env }));
      out(`${target.name}: Mailgate with ${workers} worker(s)…`);
      results.push(await measureMailgate(target, client, apps, `${target.name.slice(0, 1)}${workers}`));
      out(line(results.at(-1)!));
    }
  } finally {
    await Promise.all(apps.map((a) => a.stop()));
    await connection.close();
  }
  return results;
}

/** A process that did not take part in a run (the dev server in a cluster run) shows as '-'. */
const ms = (v: number | undefined): string => (v !== undefined && Number.isFinite(v) ? v.toFixed(1) : '-');

function line(r: Measured): string {
  return `| ${r.label} | ${r.perSecond.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p95.toFixed(0)} | ${r.toTicketP50.toFixed(0)} / ${r.toTicketP95.toFixed(0)} |`;
}

function report(rows: Measured[]): void {
  out();
  out(`${COUNT} small emails per run, ${CONCURRENCY} in flight (closed loop: POST, then the workflow's result); time to ticket: ${STEADY} at ${RATE}/s`);
  out('| run | emails/s | p50 ms | p95 ms | time to ticket p50 / p95 ms |');
  out('|---|---|---|---|---|');
  for (const r of rows) out(line(r));
  const names = [...new Set(rows.flatMap((r) => [...r.cpu.keys()]))].filter((n) => rows.some((r) => (r.cpu.get(n) ?? 0) > 0.05));
  out();
  out('CPU milliseconds per email, by process (t: = the Temporal engine)');
  out(`| run | ${names.join(' | ')} | engine | all |`);
  out(`|---|${names.map(() => '---|').join('')}---|---|`);
  for (const r of rows) {
    const engine = [...r.cpu].filter(([n]) => n.startsWith('t:')).reduce((a, [, v]) => a + v, 0);
    const all = [...r.cpu.values()].filter(Number.isFinite).reduce((a, b) => a + b, 0);
    out(`| ${r.label} | ${names.map((n) => ms(r.cpu.get(n))).join(' | ')} | ${engine.toFixed(1)} | ${all.toFixed(1)} |`);
  }
}

/** Cores per role for a load, from one run's CPU per email (README "Capacity for N machines"). */
function capacity(r: Measured, load = 100, utilisation = 0.7): void {
  const sum = (names: string[]): number => names.reduce((a, n) => a + (r.cpu.get(n) ?? 0), 0);
  const roles: [string, number][] = [
    ['Temporal services (frontend + history + matching + worker)', sum(CLUSTER_SERVICES.map((s) => `t:${s}`))],
    ["Temporal's PostgreSQL", sum(['t:postgres'])],
    ['Mailgate workers', sum(['mailgate worker'])],
    ['Mailgate APIs', sum(['api'])],
    ['ticket PostgreSQL', sum(['ticket pg'])],
    ['object store', sum(['seaweedfs'])],
  ];
  out();
  out(`Capacity from "${r.label}": cores = emails/s × CPU s per email ÷ ${utilisation} utilisation`);
  out(`| role | CPU s per email | cores for ${load} emails/s |`);
  out('|---|---|---|');
  for (const [role, perEmailMs] of roles) out(`| ${role} | ${(perEmailMs / 1000).toFixed(3)} | ${((load * perEmailMs) / 1000 / utilisation).toFixed(1)} |`);
}

async function main(): Promise<void> {
  const rows = await measureTarget(clusterTarget(), [1, 2]);
  if (values['dev-server']) rows.push(...(await measureTarget(devTarget(), [1])));
  report(rows);
  capacity(rows[1]!);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
