/**
 * Time from POST to ticket through a running Mailgate (default: `make up` on 127.0.0.1:3000):
 * N emails one at a time, small and with a large attachment, printing p50/p95/max.
 *   scripts/with-env node dist/bench/time-to-ticket.js [--small N] [--large N] [--large-mb MB] [--timeout SECONDS]
 *
 * Every email comes from its own sender: the rules' new-ticket limit per sender (20 an hour) would
 * otherwise suppress the 21st and no ticket would ever come. Every wait is bounded (--timeout, 60 s
 * per email by default) and a timeout says what it waited for and what the email's state was.
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
    timeout: { type: 'string', default: '60' },
  },
});
const timeoutMs = Number(values.timeout) * 1000;
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('--timeout must be a positive number of seconds');
const base = values.url;
const fetch = authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' });
const run = `${Date.now().toString(36)}`;

/** `fetch` that gives up after the time left until `deadline`, saying what it was doing. */
async function fetchBefore(deadline: number, what: string, url: string, init?: RequestInit): Promise<Response> {
  const left = deadline - performance.now();
  if (left <= 0) throw new Error(`timed out after ${values.timeout} s ${what}`);
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(Math.ceil(left)) });
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) throw new Error(`timed out after ${values.timeout} s ${what}`);
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

interface EmailState {
  state?: { ticketId?: string | null; step?: string; outcome?: string; reasons?: string[] };
}

async function timeOne(index: number, attachmentBytes: number): Promise<{ postMs: number; ticketMs: number }> {
  const sender = `bench-${run}-${attachmentBytes > 0 ? 'large' : 'small'}-${index}@customer.example`;
  const raw = await new MailComposer({
    from: sender,
    to: 'support@mailgate.local',
    subject: `bench ${run} ${index}`,
    messageId: `<bench.${run}.${index}.${attachmentBytes}@customer.example>`,
    text: 'Benchmark email.',
    attachments: attachmentBytes > 0 ? [{ filename: 'data.bin', content: randomBytes(attachmentBytes) }] : [],
  })
    .compile()
    .build();
  const started = performance.now();
  const deadline = started + timeoutMs;
  const response = await fetchBefore(deadline, `waiting for the API's answer to POST /v1/inbound/mime (email from ${sender})`, `${base}/v1/inbound/mime`, {
    method: 'POST',
    headers: { 'content-type': 'message/rfc822' },
    body: new Uint8Array(raw),
  });
  const postMs = performance.now() - started;
  if (response.status !== 202) throw new Error(`POST /v1/inbound/mime answered ${response.status} (email from ${sender}): ${await response.text()}`);
  const { emails } = (await response.json()) as { emails: { workflowId: string }[] };
  const workflowId = emails[0]!.workflowId;
  let last: EmailState['state'];
  for (;;) {
    const what = `waiting for the ticket of ${workflowId} (email from ${sender}; last state: ${last ? JSON.stringify(last) : 'none yet'})`;
    const answer = await fetchBefore(deadline, what, `${base}/v1/emails/${workflowId}`);
    last = ((await answer.json()) as EmailState).state;
    if (last?.ticketId) return { postMs, ticketMs: performance.now() - started };
    // A finished email without a ticket will never get one: say so now instead of at the timeout.
    if (last?.outcome && !['pending', 'ticket_created', 'comment_added'].includes(last.outcome)) {
      throw new Error(`${workflowId} (email from ${sender}) ended ${last.outcome} without a ticket: ${JSON.stringify(last.reasons ?? [])}`);
    }
    if (performance.now() >= deadline) throw new Error(`timed out after ${values.timeout} s ${what}`);
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
