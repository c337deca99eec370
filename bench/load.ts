/**
 * Mailgate's cost per email against the bare engine, in one run, on one Temporal server. Needs the
 * system running (`make up`, with the per-source ingress limit raised so the limiter is not what is
 * measured: INGRESS_RATE_PER_MINUTE=1000000 INGRESS_RATE_BURST=100000 make up).
 *
 *   npm run bench                      compare: the bare shape, then Mailgate, for small mail and for
 *                                      mail with an attachment (and the bare small shape started and
 *                                      listed as an email is, to tell the list's engine cost from the
 *                                      steps'); throughput, latency, CPU seconds per
 *                                      email of every service (/proc), object-store requests per email,
 *                                      and time to ticket at a steady 5 emails/s
 *   npm run bench -- --burst 2000      as fast as one client can post: tickets, 503s, time to drain
 *   npm run bench -- --soak 20000 --rate 20   worker RSS sampled at a steady rate (a CSV beside it)
 *   npm run bench -- --big 10 --size 25       10 concurrent 25 MB mails: the worker's RSS at the edge
 *
 * The bare shape (bench/bare-shape.ts) runs on a worker process of its own (bench/bare-worker.ts)
 * with the Mailgate worker's options, so the two differ only in what their activities and workflow do.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import MailComposer from 'nodemailer/lib/mail-composer';
import { authorizedFetch } from '../src/api/signing';
import { loadConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal-connection';
import { EmailSenderKey, EmailStatusKey, EmailSubjectKey, RecipientQueueKey } from '../src/workflows/search-attributes';
import type { ProcessInboundEmailInput } from '../src/workflows/types';
import { emailStartDetails, emailSummary } from '../src/workflows/user-metadata';
import { spawnBareWorker } from './bare-worker-process';
import { ATTACHMENT_EMAIL_SHAPE, SMALL_EMAIL_SHAPE, type ShapeStep } from './bare-shape';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '32' },
    attachments: { type: 'string', default: '100' },
    'latency-count': { type: 'string', default: '100' },
    'latency-rate': { type: 'string', default: '5' },
    burst: { type: 'string' },
    soak: { type: 'string' },
    rate: { type: 'string', default: '20' },
    big: { type: 'string' },
    size: { type: 'string', default: '25' },
  },
});

const config = loadConfig();
const apiUrl = `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}`;
const workerMetricsUrl = `http://${process.env.WORKER_METRICS_HOST ?? '127.0.0.1'}:${process.env.WORKER_METRICS_PORT ?? '9464'}/metrics`;
const api = authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' });
const run = Date.now().toString(36);
const dataDir = process.env.MAILGATE_DATA_DIR ?? path.resolve(__dirname, '../../.data/default');
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (text = '') => process.stdout.write(`${text}\n`);

// --- measuring ---------------------------------------------------------------------------------

const SERVICES = ['temporal', 'worker', 'api', 's3', 'smtp', 'clamd.real', 'postgres'] as const;
const LABEL: Record<string, string> = { 'clamd.real': 'clamd', smtp: 'maildev', s3: 'seaweedfs', bare: 'bare worker' };

function pidOf(service: string): number | null {
  try {
    return Number(readFileSync(path.join(dataDir, 'run', `${service}.pid`), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

function rssMb(pid: number | null): number {
  if (pid === null) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

type CpuSnapshot = Map<string, number>;
function snapshot(extra: Record<string, number | null> = {}): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const service of SERVICES) snap.set(service, cpuSeconds(pidOf(service)));
  for (const [name, pid] of Object.entries(extra)) snap.set(name, cpuSeconds(pid));
  return snap;
}

/** CPU milliseconds per item of every service that used any, between two snapshots. */
function cpuPerItem(before: CpuSnapshot, after: CpuSnapshot, items: number): Map<string, number> {
  const per = new Map<string, number>();
  for (const [name, start] of before) {
    const used = (after.get(name) ?? Number.NaN) - start;
    if (Number.isFinite(used) && used > 0) per.set(name, (used * 1000) / items);
  }
  return per;
}

function percentile(samples: number[], q: number): number {
  const sorted = samples.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Waits until a process's CPU use stops growing (an acknowledgement still sending, a GC). */
async function settle(pid: number | null): Promise<void> {
  let last = cpuSeconds(pid);
  for (let i = 0; i < 30; i++) {
    await sleep(500);
    const now = cpuSeconds(pid);
    if (!(now - last > 0.01)) return;
    last = now;
  }
}

async function objectStoreRequests(): Promise<number> {
  let total = 0;
  for (const url of [workerMetricsUrl, `${apiUrl}/metrics`]) {
    const text = await (await fetch(url)).text();
    for (const match of text.matchAll(/^mailgate_object_store_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) total += Number(match[1]);
  }
  return total;
}

// --- what is sent ------------------------------------------------------------------------------

/** A sender of its own per email, at a domain of its own: no per-sender or per-domain limit is what gets measured. */
function sender(tag: string, i: number): string {
  return `ann@${tag}${i}-${run}.customer-example.com`;
}

async function email(i: number, tag: string, attachmentBytes = 0): Promise<Buffer> {
  return new MailComposer({
    from: sender(tag, i),
    to: 'support@mailgate.local',
    subject: `bench ${run} ${tag} ${i}`,
    messageId: `<bench.${run}.${tag}.${i}@customer.example>`,
    text: 'Hello,\n\nthe export to our accounting system stopped on Monday. Could you have a look?\n\nThanks,\nAnn',
    attachments: attachmentBytes > 0 ? [{ filename: `report-${i}.pdf`, content: randomBytes(attachmentBytes) }] : [],
  })
    .compile()
    .build();
}

interface Sent {
  workflowId: string;
  postedAt: number;
  acceptMs: number;
  retries: number;
}

/** POSTs one email, waiting out 503/429 answers as their Retry-After says (counted as retries). */
async function post(body: Buffer): Promise<Sent> {
  const postedAt = Date.now();
  const begin = performance.now();
  for (let retries = 0; ; retries++) {
    // A saturated API may answer 503 before reading a large body and close the connection under it:
    // the client sees a reset, and, like a sending MTA, tries again a second later.
    const response = await api(`${apiUrl}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: new Uint8Array(body) }).catch(() => null);
    if (response === null) {
      await sleep(1000);
      continue;
    }
    const json = (await response.json().catch(() => ({}))) as { emails?: { workflowId: string }[] };
    if (response.status === 202 && json.emails?.[0]) return { workflowId: json.emails[0].workflowId, postedAt, acceptMs: performance.now() - begin, retries };
    if (response.status !== 503 && response.status !== 429) throw new Error(`the ingress answered ${response.status}: ${JSON.stringify(json)}`);
    await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
  }
}

async function closedLoop(n: number, concurrency: number, one: (i: number) => Promise<number>): Promise<{ seconds: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) latencies.push(await one(next++));
    }),
  );
  return { seconds: (performance.now() - begin) / 1000, latencies };
}

async function openLoop(n: number, rate: number, one: (i: number) => Promise<number>): Promise<number[]> {
  const begin = performance.now();
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const wait = begin + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      return one(i);
    }),
  );
}

// --- the two systems -----------------------------------------------------------------------------

interface Harness {
  client: Client;
  bare: ChildProcess;
  bareQueue: string;
}

async function startBare(client: Client): Promise<Harness> {
  const bareQueue = `bench-bare-${run}`;
  const bare = await spawnBareWorker(bareQueue);
  return { client, bare, bareQueue };
}

async function bareOne(h: Harness, shape: readonly ShapeStep[], id: string): Promise<number> {
  const begin = performance.now();
  await h.client.workflow.execute('bareEmailShape', { taskQueue: h.bareQueue, workflowId: id, args: [shape] });
  return performance.now() - begin;
}

/**
 * The bare shape started and listed as an email is (bareEmailShapeListed): the start's attributes,
 * and the summary and details the ingress writes (src/ingress/start-email-workflow.ts), from the
 * same functions, for an input of a small email's size.
 */
async function bareListedOne(h: Harness, shape: readonly ShapeStep[], id: string): Promise<number> {
  const queue = 'support@mailgate.local';
  const headline = { subject: `bench ${id}`, from: `ann@${id}.customer-example.com` };
  const sha = '0'.repeat(64);
  const input: ProcessInboundEmailInput = {
    rawKey: `raw/${sha}`,
    rawSha256: sha,
    rawSize: 1024,
    recipient: queue,
    queue,
    idempotencyKey: sha,
    envelopeFrom: headline.from,
    receivedAt: new Date().toISOString(),
  };
  const begin = performance.now();
  await h.client.workflow.execute('bareEmailShapeListed', {
    taskQueue: h.bareQueue,
    workflowId: id,
    args: [shape],
    typedSearchAttributes: [
      { key: RecipientQueueKey, value: queue },
      { key: EmailStatusKey, value: 'received' },
      { key: EmailSubjectKey, value: headline.subject },
      { key: EmailSenderKey, value: headline.from },
    ],
    staticSummary: emailSummary(headline, queue),
    staticDetails: emailStartDetails(id, headline, input),
    memo: { contentSha256: sha },
  });
  return performance.now() - begin;
}

async function mailgateOne(h: Harness, body: Buffer): Promise<number> {
  const begin = performance.now();
  const sent = await post(body);
  const state = (await h.client.workflow.getHandle(sent.workflowId).result()) as { outcome?: string };
  if (state.outcome !== 'ticket_created') throw new Error(`email ${sent.workflowId} ended ${String(state.outcome)}, not with a ticket`);
  return performance.now() - begin;
}

interface Phase {
  label: string;
  perSecond: number;
  latencies: number[];
  cpu: Map<string, number>;
}

async function measure(label: string, n: number, h: Harness, one: (i: number) => Promise<number>): Promise<Phase> {
  await Promise.all([settle(pidOf('worker')), settle(h.bare.pid ?? null), settle(pidOf('temporal'))]);
  const before = snapshot({ bare: h.bare.pid ?? null });
  const { seconds, latencies } = await closedLoop(n, Number(values.concurrency), one);
  await Promise.all([settle(pidOf('worker')), settle(h.bare.pid ?? null)]);
  const cpu = cpuPerItem(before, snapshot({ bare: h.bare.pid ?? null }), n);
  return { label, perSecond: n / seconds, latencies, cpu };
}

function report(phases: Phase[]): void {
  const names = [...new Set(phases.flatMap((p) => [...p.cpu.keys()]))];
  out(`${'run'.padEnd(34)}${'per s'.padStart(8)}${'p50 ms'.padStart(9)}${'p95 ms'.padStart(9)}   CPU ms per email: ${names.map((n) => LABEL[n] ?? n).join(', ')}`);
  for (const p of phases) {
    const cpu = names.map((n) => (p.cpu.get(n) ?? 0).toFixed(1)).join(', ');
    const total = [...p.cpu.values()].reduce((a, b) => a + b, 0);
    out(`${p.label.padEnd(34)}${p.perSecond.toFixed(1).padStart(8)}${percentile(p.latencies, 0.5).toFixed(0).padStart(9)}${percentile(p.latencies, 0.95).toFixed(0).padStart(9)}   ${cpu} (all ${total.toFixed(1)})`);
  }
}

// --- modes -------------------------------------------------------------------------------------

async function compare(h: Harness): Promise<void> {
  const n = Number(values.count);
  const m = Number(values.attachments);
  out(`building ${n} small emails and ${m} with a 100 KB attachment…`);
  const small = await Promise.all(Array.from({ length: n }, (_, i) => email(i, 's')));
  const withFile = await Promise.all(Array.from({ length: m }, (_, i) => email(i, 'a', 100 * 1024)));
  // Warm both workers (bundles loaded, connections open) before anything is measured.
  await closedLoop(20, 10, (i) => bareOne(h, SMALL_EMAIL_SHAPE, `bare-${run}-warm-${i}`));
  await closedLoop(10, 5, async (i) => mailgateOne(h, await email(i, 'warm')));

  const storeBefore = await objectStoreRequests();
  const mailgateSmall = await measure('Mailgate, small', n, h, (i) => mailgateOne(h, small[i]!));
  const storePerSmall = ((await objectStoreRequests()) - storeBefore) / n;
  const bareSmall = await measure('bare shape, small', n, h, (i) => bareOne(h, SMALL_EMAIL_SHAPE, `bare-${run}-s-${i}`));
  const bareListed = await measure('bare shape + the email list\'s data', n, h, (i) => bareListedOne(h, SMALL_EMAIL_SHAPE, `bare-${run}-l-${i}`));
  // --attachments 0 or --latency-count 0 leave their part out (no rows of zeros and NaN).
  const fileBefore = await objectStoreRequests();
  const mailgateFile = m > 0 ? await measure('Mailgate, 100 KB attachment', m, h, (i) => mailgateOne(h, withFile[i]!)) : null;
  const storePerFile = ((await objectStoreRequests()) - fileBefore) / m;
  const bareFile = m > 0 ? await measure('bare shape, attachment', m, h, (i) => bareOne(h, ATTACHMENT_EMAIL_SHAPE, `bare-${run}-a-${i}`)) : null;

  out();
  out(`${n} small emails and ${m} with an attachment, ${values.concurrency} in flight (closed loop: each POST, then its workflow's result)`);
  report([bareSmall, bareListed, mailgateSmall, ...(bareFile && mailgateFile ? [bareFile, mailgateFile] : [])]);
  const workerMs = mailgateSmall.cpu.get('worker') ?? Number.NaN;
  out();
  out(`small mail: Mailgate sustains ${((100 * mailgateSmall.perSecond) / bareSmall.perSecond).toFixed(0)} % of the bare shape (target ≥ 80 %)`);
  out(`small mail: worker CPU ${workerMs.toFixed(1)} ms per email against the bare worker's ${(bareSmall.cpu.get('bare') ?? Number.NaN).toFixed(1)} ms (target ≤ 15 ms)`);
  out(`object-store requests per email: ${storePerSmall.toFixed(2)} small (target ≤ 2)${m > 0 ? `, ${storePerFile.toFixed(2)} with an attachment` : ''}`);
  if (bareFile && mailgateFile) out(`attachment mail: Mailgate sustains ${((100 * mailgateFile.perSecond) / bareFile.perSecond).toFixed(0)} % of the bare shape`);

  // Time to ticket at a steady rate: from the POST to the ticket's own creation time.
  const k = Number(values['latency-count']);
  const rate = Number(values['latency-rate']);
  if (k === 0) return;
  const steady = await Promise.all(Array.from({ length: k }, (_, i) => email(i, 't')));
  const bareSteady = await openLoop(k, rate, (i) => bareOne(h, SMALL_EMAIL_SHAPE, `bare-${run}-t-${i}`));
  const toTicket = await openLoop(k, rate, async (i) => {
    const sent = await post(steady[i]!);
    await h.client.workflow.getHandle(sent.workflowId).result();
    const page = (await (await api(`${apiUrl}/v1/tickets?requester=${encodeURIComponent(sender('t', i))}`)).json()) as { tickets?: { created: string }[] };
    return Date.parse(page.tickets?.[0]?.created ?? '') - sent.postedAt;
  });
  out(`time to ticket at ${rate} emails/s (${k}): p50 ${percentile(toTicket, 0.5).toFixed(0)} ms, p95 ${percentile(toTicket, 0.95).toFixed(0)} ms (target p95 ≤ 1000 ms); bare shape start to end p50 ${percentile(bareSteady, 0.5).toFixed(0)} ms, p95 ${percentile(bareSteady, 0.95).toFixed(0)} ms`);
}

async function burst(h: Harness, n: number): Promise<void> {
  out(`building ${n} emails…`);
  const bodies = await Promise.all(Array.from({ length: n }, (_, i) => email(i, 'b')));
  const begin = performance.now();
  let retries = 0;
  let lastAccepted = 0;
  const sent: Sent[] = [];
  // One client, as fast as it can: 64 connections, each posting its next email as soon as it is answered.
  await closedLoop(n, 64, async (i) => {
    const s = await post(bodies[i]!);
    retries += s.retries;
    sent[i] = s;
    lastAccepted = performance.now();
    return s.acceptMs;
  });
  const results = await Promise.all(sent.map((s) => h.client.workflow.getHandle(s.workflowId).result() as Promise<{ outcome?: string; ticketId?: string | null }>));
  const drained = performance.now();
  const tickets = new Set(results.filter((r) => r.outcome === 'ticket_created').map((r) => r.ticketId));
  out(`burst of ${n}: all accepted in ${((lastAccepted - begin) / 1000).toFixed(1)} s (${retries} answers 503/429 with Retry-After, waited out), ` + `drained ${((drained - lastAccepted) / 1000).toFixed(1)} s after the last accept; ${tickets.size} distinct tickets, ${results.length - tickets.size} emails without one of their own`);
}

/** The worker's V8 heap in use (MB), from its /metrics (prom-client's default process metrics). */
async function workerHeapMb(): Promise<number> {
  try {
    const text = await (await fetch(workerMetricsUrl)).text();
    return Number(/^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text)?.[1] ?? Number.NaN) / 1024 / 1024;
  } catch {
    return Number.NaN;
  }
}

async function soak(h: Harness, n: number, rate: number): Promise<void> {
  const worker = pidOf('worker');
  const samples: [number, number, number, number][] = [];
  const begin = Date.now();
  let done = 0;
  const sample = async () => samples.push([(Date.now() - begin) / 1000, done, rssMb(worker), await workerHeapMb()]);
  const sampler = setInterval(() => void sample(), 5000);
  const pending: Promise<unknown>[] = [];
  await openLoop(n, rate, async (i) => {
    const s = await post(await email(i, 'soak'));
    pending.push(h.client.workflow.getHandle(s.workflowId).result().then(() => (done += 1)));
    return 0;
  });
  await Promise.all(pending);
  clearInterval(sampler);
  await sample();
  const csv = path.join(dataDir, `soak-${run}.csv`);
  writeFileSync(csv, `seconds,emails_done,worker_rss_mb,worker_heap_used_mb\n${samples.map((s) => s.map((v) => v.toFixed(1)).join(',')).join('\n')}\n`);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  const points = [0.1, 0.25, 0.5, 0.75, 1];
  out(`soak of ${n} at ${rate}/s: ${done} done in ${((Date.now() - begin) / 1000).toFixed(0)} s; samples every 5 s in ${csv}`);
  out(`worker RSS (MB) at 10/25/50/75/100 % of the run: ${points.map((q) => at(q)[2].toFixed(0)).join(' / ')} (max ${Math.max(...samples.map((s) => s[2])).toFixed(0)})`);
  out(`worker heap used (MB) at the same points: ${points.map((q) => at(q)[3].toFixed(0)).join(' / ')}`);
}

async function big(h: Harness, n: number, mb: number): Promise<void> {
  const worker = pidOf('worker');
  const apiPid = pidOf('api');
  const bodies = await Promise.all(Array.from({ length: n }, (_, i) => email(i, 'big', mb * 1024 * 1024)));
  global.gc?.();
  await settle(worker);
  const before = rssMb(worker);
  const apiBefore = rssMb(apiPid);
  let peak = before;
  let apiPeak = apiBefore;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(worker) || 0);
    apiPeak = Math.max(apiPeak, rssMb(apiPid) || 0);
  }, 50);
  const { seconds } = await closedLoop(n, n, (i) => mailgateOne(h, bodies[i]!));
  clearInterval(sampler);
  out(`${n} concurrent ${mb} MB emails: ${seconds.toFixed(1)} s; worker RSS ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak (+${(peak - before).toFixed(0)} MB, ${((peak - before) / n).toFixed(0)} MB per email); API +${(apiPeak - apiBefore).toFixed(0)} MB`);
}

async function main(): Promise<void> {
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const h = await startBare(client);
  try {
    if (values.burst) await burst(h, Number(values.burst));
    else if (values.soak) await soak(h, Number(values.soak), Number(values.rate));
    else if (values.big) await big(h, Number(values.big), Number(values.size));
    else await compare(h);
  } finally {
    h.bare.kill('SIGTERM');
    await once(h.bare, 'exit');
    await connection.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
