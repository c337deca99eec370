/**
 * Time from POST to ticket through a running Mailgate (default: `make up` on 127.0.0.1:3000):
 * N emails one at a time, small and with a large attachment, printing p50/p95/max.
 *   scripts/with-env node dist/bench/time-to-ticket.js [--small N] [--large N] [--large-mb MB]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { authorizedFetch } from '../src/api/signing';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}` },
    small: { type: 'string', default: '20' },
    large: { type: 'string', default: '3' },
    'large-mb': { type: 'string', default: '20' },
  },
});
const base = values.url;
const fetch = authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' });
const run = `${Date.now().toString(36)}`;

async function timeOne(index: number, attachmentBytes: number): Promise<{ postMs: number; ticketMs: number }> {
  const raw = await new MailComposer({
    from: `bench-${run}@customer.example`,
    to: 'support@mailgate.local',
    subject: `bench ${run} ${index}`,
    messageId: `<bench.${run}.${index}.${attachmentBytes}@customer.example>`,
    text: 'Benchmark email.',
    attachments: attachmentBytes > 0 ? [{ filename: 'data.bin', content: randomBytes(attachmentBytes) }] : [],
  })
    .compile()
    .build();
  const started = performance.now();
  const response = await fetch(`${base}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: new Uint8Array(raw) });
  const postMs = performance.now() - started;
  if (response.status !== 202) throw new Error(`POST answered ${response.status}`);
  const { emails } = (await response.json()) as { emails: { workflowId: string }[] };
  const workflowId = emails[0]!.workflowId;
  for (;;) {
    const state = (await (await fetch(`${base}/v1/emails/${workflowId}`)).json()) as { state?: { ticketId?: string | null } };
    if (state.state?.ticketId) return { postMs, ticketMs: performance.now() - started };
    await new Promise((r) => setTimeout(r, 10));
  }
}

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return `${label}: n=${sorted.length} p50=${at(0.5).toFixed(0)} ms p95=${at(0.95).toFixed(0)} ms max=${sorted.at(-1)!.toFixed(0)} ms`;
}

async function main(): Promise<void> {
  const small: { postMs: number; ticketMs: number }[] = [];
  for (let i = 0; i < Number(values.small); i++) small.push(await timeOne(i, 0));
  const large: { postMs: number; ticketMs: number }[] = [];
  for (let i = 0; i < Number(values.large); i++) large.push(await timeOne(i, Number(values['large-mb']) * 1024 * 1024));
  if (small.length > 0) {
    process.stdout.write(`${summary('small email, POST (202)', small.map((s) => s.postMs))}\n`);
    process.stdout.write(`${summary('small email, POST to ticket', small.map((s) => s.ticketMs))}\n`);
  }
  if (large.length > 0) {
    process.stdout.write(`${summary(`${values['large-mb']} MB attachment, POST (202)`, large.map((s) => s.postMs))}\n`);
    process.stdout.write(`${summary(`${values['large-mb']} MB attachment, POST to ticket`, large.map((s) => s.ticketMs))}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
