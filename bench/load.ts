/**
 * Load benchmark against a running Mailgate (`make up`): N emails posted at a fixed rate (open
 * loop), small ones or a mix with attachments, reporting webhook latency, time to ticket, sustained
 * throughput, the peak RSS of the API and worker and the worker's CPU seconds per email (/proc). The
 * same run times a bare express POST handler on this machine, so numbers from a noisy machine can be
 * compared by their ratio.
 *   scripts/with-env node dist/bench/load.js --rate 20 --count 400 [--mix small|attachments]
 * One client sends everything, so above 20 emails/s run the API with the per-source limit raised
 * (INGRESS_RATE_PER_MINUTE=100000 INGRESS_RATE_BURST=100000 scripts/stack up api), or the limiter is what gets measured.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';
import MailComposer from 'nodemailer/lib/mail-composer';
import { authorizedFetch } from '../src/api/signing';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}` },
    rate: { type: 'string', default: '20' },
    count: { type: 'string', default: '200' },
    mix: { type: 'string', default: 'small' },
  },
});
const rate = Number(values.rate);
const count = Number(values.count);
const api = authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' });
const run = Date.now().toString(36);
const dataDir = process.env.MAILGATE_DATA_DIR ?? path.resolve(__dirname, '../../.data/default');

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function line(label: string, samples: number[]): string {
  return `${label.padEnd(34)} p50 ${percentile(samples, 0.5).toFixed(1).padStart(8)} ms  p95 ${percentile(samples, 0.95).toFixed(1).padStart(8)} ms  p99 ${percentile(samples, 0.99).toFixed(1).padStart(8)} ms  (n=${samples.length})`;
}

function attachmentSize(i: number): number {
  if (values.mix !== 'attachments') return 0;
  // A mix: most mail small, some documents, a few large files, one 25 MB per 100.
  if (i % 100 === 99) return 25 * 1024 * 1024;
  if (i % 20 === 7) return 2 * 1024 * 1024;
  if (i % 5 === 2) return 100 * 1024;
  return 0;
}

async function build(i: number): Promise<Buffer> {
  const size = attachmentSize(i);
  return new MailComposer({
    from: `bench-${run}-${i}@customer.example`,
    to: 'support@mailgate.local',
    subject: `bench ${run} ${i}`,
    messageId: `<bench.${run}.${i}@customer.example>`,
    text: 'Benchmark email.',
    attachments: size > 0 ? [{ filename: `data-${i}.bin`, content: randomBytes(size) }] : [],
  })
    .compile()
    .build();
}

function rssKb(pidFile: string, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const pid = readFileSync(path.join(dataDir, 'run', pidFile), 'utf8').trim();
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds (user + system) a process of the stack has used so far, from /proc/<pid>/stat. */
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
function cpuSeconds(pidFile: string): number {
  try {
    const pid = readFileSync(path.join(dataDir, 'run', pidFile), 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return Number.NaN;
  }
}

/** Waits until the worker's CPU use stops growing (acknowledgements finish after the tickets). */
async function workerIdle(): Promise<number> {
  let last = cpuSeconds('worker.pid');
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSeconds('worker.pid');
    if (!(now - last > 0.02)) return now;
    last = now;
  }
  return last;
}

async function drive(url: string, bodies: Buffer[], fetcher: typeof fetch): Promise<{ latencies: number[]; started: number[]; ids: (string | null)[]; errors: number }> {
  const latencies: number[] = [];
  const started: number[] = [];
  const ids: (string | null)[] = [];
  let errors = 0;
  const t0 = performance.now();
  await Promise.all(
    bodies.map(async (body, i) => {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const begin = performance.now();
      started[i] = Date.now();
      const response = await fetcher(url, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: new Uint8Array(body) });
      const json = (await response.json().catch(() => ({}))) as { emails?: { workflowId: string }[] };
      latencies[i] = performance.now() - begin;
      if (response.status !== 202) errors += 1;
      ids[i] = json.emails?.[0]?.workflowId ?? null;
    }),
  );
  return { latencies, started, ids, errors };
}

async function baseline(bodies: Buffer[]): Promise<number[]> {
  const app = express();
  app.post('/v1/inbound/mime', express.raw({ type: 'message/rfc822', limit: '60mb' }), (_req, res) => {
    res.status(202).json({ emails: [] });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as AddressInfo;
  const { latencies } = await drive(`http://127.0.0.1:${port}/v1/inbound/mime`, bodies, fetch);
  server.close();
  return latencies;
}

async function main(): Promise<void> {
  process.stdout.write(`building ${count} emails (${values.mix})…\n`);
  const bodies: Buffer[] = [];
  for (let i = 0; i < count; i++) bodies.push(await build(i));
  const bare = await baseline(bodies);

  const workerBefore = rssKb('worker.pid', 'VmRSS');
  let workerPeak = workerBefore;
  let apiPeak = rssKb('api.pid', 'VmRSS');
  const sampler = setInterval(() => {
    workerPeak = Math.max(workerPeak, rssKb('worker.pid', 'VmRSS') || 0);
    apiPeak = Math.max(apiPeak, rssKb('api.pid', 'VmRSS') || 0);
  }, 100);

  const workerCpuBefore = await workerIdle();
  const started = Date.now();
  const result = await drive(`${values.url}/v1/inbound/mime`, bodies, api);
  // Time to ticket: the ticket's own creation time against the moment its POST began.
  const ticketAt: number[] = [];
  const deadline = Date.now() + 10 * 60_000;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    for (;;) {
      const response = await api(`${values.url}/v1/tickets?requester=${encodeURIComponent(`bench-${run}-${i}@customer.example`)}`);
      const page = (await response.json()) as { tickets?: { created: string }[] };
      if (response.status === 429) {
        await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      if (!page.tickets) throw new Error(`the ticket query answered ${response.status}: ${JSON.stringify(page)}`);
      if (page.tickets[0]) {
        ticketAt[i] = Date.parse(page.tickets[0].created);
        break;
      }
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  clearInterval(sampler);
  const workerCpu = (await workerIdle()) - workerCpuBefore;
  const lastTicket = Math.max(...ticketAt.filter(Number.isFinite));
  const tickets = ticketAt.filter(Number.isFinite).length;
  const toTicket = ticketAt.map((t, i) => t - result.started[i]!).filter(Number.isFinite);

  process.stdout.write(`\n${count} emails at ${rate}/s (${values.mix}); ${result.errors} non-202 answers; ${tickets} tickets\n`);
  process.stdout.write(`${line('bare express POST (baseline)', bare)}\n`);
  process.stdout.write(`${line('Mailgate webhook (POST → 202)', result.latencies)}\n`);
  process.stdout.write(`${line('time to ticket', toTicket)}\n`);
  process.stdout.write(
    `webhook / baseline ratio: p50 ${(percentile(result.latencies, 0.5) / percentile(bare, 0.5)).toFixed(1)}×, p99 ${(percentile(result.latencies, 0.99) / percentile(bare, 0.99)).toFixed(1)}×\n`,
  );
  process.stdout.write(`sustained: ${(tickets / ((lastTicket - started) / 1000)).toFixed(1)} emails/s from the first POST to the last ticket\n`);
  process.stdout.write(
    `RSS: worker ${(workerBefore / 1024).toFixed(0)} MB before, ${(workerPeak / 1024).toFixed(0)} MB peak (+${((workerPeak - workerBefore) / 1024).toFixed(0)} MB); api peak ${(apiPeak / 1024).toFixed(0)} MB\n`,
  );
  process.stdout.write(`worker CPU: ${workerCpu.toFixed(2)} s for ${count} emails = ${((workerCpu / count) * 1000).toFixed(1)} ms per email (user + system, /proc)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
