/**
 * SMTP and HTTP ingress side by side, in one run, against a running Mailgate (`make up`, or
 * `scripts/stack up api mx` on a running infra stack): the same small emails, the same number of
 * concurrent senders, closed loop (each sender sends its next email when the last is answered).
 * Reports, per ingress, the accept latency (HTTP: request to 202; SMTP: MAIL FROM to the 250 after
 * DATA, over a reused connection) at p50/p95/p99 and the sustained accepted emails a second.
 *   scripts/with-env node dist/bench/ingress-smtp.js [--count 300] [--concurrency 8]
 * Both ingresses limit one client address: raise the limits for the run, or they are what gets
 * measured (INGRESS_RATE_PER_MINUTE=100000 INGRESS_RATE_BURST=100000 SMTP_INGRESS_MESSAGES_PER_MINUTE=100000
 * SMTP_INGRESS_CONNECTIONS_PER_MINUTE=100000 scripts/stack up api mx). A worker running meanwhile
 * competes for the CPU with what is measured: its load is part of the numbers, say so beside them.
 */
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import nodemailer from 'nodemailer';
import { authorizedFetch } from '../src/api/signing';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}` },
    'smtp-host': { type: 'string', default: process.env.SMTP_INGRESS_HOST ?? '127.0.0.1' },
    'smtp-port': { type: 'string', default: process.env.SMTP_INGRESS_PORT ?? '2525' },
    count: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '8' },
  },
});
const count = Number(values.count);
const concurrency = Number(values.concurrency);
if (!(Number.isSafeInteger(count) && count > 0 && Number.isSafeInteger(concurrency) && concurrency > 0)) {
  throw new Error('--count and --concurrency must be positive integers');
}
const run = Date.now().toString(36);

interface Result {
  ingress: string;
  latencies: number[];
  failures: Map<string, number>;
  seconds: number;
}

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function email(kind: string, i: number): Promise<Buffer> {
  return new MailComposer({
    from: `bench-${run}-${kind}-${i}@customer.example`,
    to: 'support@mailgate.local',
    subject: `ingress bench ${run} ${kind} ${i}`,
    messageId: `<bench.${run}.${kind}.${i}@customer.example>`,
    text: 'Ingress benchmark email: a short question about an order.\n'.repeat(10),
  })
    .compile()
    .build();
}

/** `send` for emails 0..count-1 from `concurrency` senders; the time and outcome of each. */
async function drive(ingress: string, send: (i: number, raw: Buffer) => Promise<string | null>): Promise<Result> {
  const raws = await Promise.all(Array.from({ length: count }, (_, i) => email(ingress, i)));
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = process.hrtime.bigint();
        const failure = await send(i, raws[i]!).catch((error: unknown) => (error instanceof Error ? error.message.slice(0, 80) : String(error)));
        if (failure === null) latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        else failures.set(failure, (failures.get(failure) ?? 0) + 1);
      }
    }),
  );
  return { ingress, latencies, failures, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function main(): Promise<void> {
  const api = authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' });
  const http = await drive('http', async (_i, raw) => {
    const response = await api(`${values.url}/v1/inbound/mime`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822', 'x-envelope-to': 'support@mailgate.local' },
      body: raw,
    });
    await response.arrayBuffer();
    return response.status === 202 ? null : `HTTP ${response.status}`;
  });
  const transport = nodemailer.createTransport({
    host: values['smtp-host'],
    port: Number(values['smtp-port']),
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: concurrency,
    maxMessages: Infinity,
  });
  const smtp = await drive('smtp', async (i, raw) => {
    try {
      await transport.sendMail({ envelope: { from: `bench-${run}-smtp-${i}@customer.example`, to: ['support@mailgate.local'] }, raw });
      return null;
    } catch (error) {
      const code = (error as { responseCode?: number }).responseCode;
      return code ? `SMTP ${code}` : `SMTP ${(error as Error).message.slice(0, 60)}`;
    }
  });
  transport.close();

  const lines = [`ingress benchmark: ${count} emails per ingress, ${concurrency} concurrent senders, closed loop`];
  lines.push(`${'ingress'.padEnd(8)} ${'accepted'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'emails/s'.padStart(9)}  failures`);
  for (const r of [http, smtp]) {
    const failed = [...r.failures].map(([why, n]) => `${n}× ${why}`).join(', ') || 'none';
    lines.push(
      `${r.ingress.padEnd(8)} ${String(r.latencies.length).padStart(8)} ${percentile(r.latencies, 0.5).toFixed(1).padStart(8)} ${percentile(r.latencies, 0.95).toFixed(1).padStart(8)} ${percentile(r.latencies, 0.99).toFixed(1).padStart(8)} ${(r.latencies.length / r.seconds).toFixed(1).padStart(9)}  ${failed}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ingress-smtp: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
