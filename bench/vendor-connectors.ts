/**
 * Ticket creation through the Jira Service Management, Freshdesk and ServiceNow connectors against
 * their loopback stand-ins, beside the built-in store (SQLite) in the same run: N new tickets (each a
 * first message with one clean file), C at a time; prints p50/p95 per ticket and tickets per second.
 *   node dist/bench/vendor-connectors.js [--tickets N] [--concurrency C] [--prism]
 * The stand-ins answer at once, so this measures the connectors' own calls and work, not a vendor's
 * latency; --prism adds Prism's validation in front of the Jira platform calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteTicketStore } from '../src/adapters/ticket-store';
import type { Helpdesk } from '../src/ports/helpdesk';
import { cleanReport, newComment, newTicket } from '../test/contract/helpdesk.contract';
import { freshdeskUnderTest } from '../test/stand-ins/freshdesk/harness';
import { jsmUnderTest } from '../test/stand-ins/jira-sm/harness';
import { serviceNowUnderTest } from '../test/stand-ins/servicenow/harness';

const { values } = parseArgs({ options: { tickets: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '4' }, prism: { type: 'boolean', default: false } } });
const tickets = Number(values.tickets);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(tickets) || tickets < 1 || !Number.isInteger(concurrency) || concurrency < 1) throw new Error('--tickets and --concurrency must be positive integers');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function measure(name: string, helpdesk: Helpdesk): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < tickets) {
        next += 1;
        const t0 = performance.now();
        await helpdesk.createTicket(newTicket({ comment: newComment({ attachments: [cleanReport] }) }));
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  console.log(`${name.padEnd(28)} p50 ${percentile(latencies, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(latencies, 95).toFixed(1).padStart(7)} ms   ${(tickets / seconds).toFixed(1).padStart(7)} tickets/s`);
}

async function main(): Promise<void> {
  console.log(`${tickets} tickets, ${concurrency} at a time, one clean file each`);
  const dir = mkdtempSync(join(tmpdir(), 'mailgate-bench-vendors-'));
  const store = createSqliteTicketStore(join(dir, 'tickets.sqlite'));
  try {
    await store.migrate();
    await measure('built-in store (SQLite)', store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const [name, make] of [
    [`jira-sm${values.prism ? ' (behind Prism)' : ''}`, () => jsmUnderTest({ prism: values.prism })],
    ['freshdesk', () => freshdeskUnderTest()],
    ['servicenow', () => serviceNowUnderTest()],
  ] as const) {
    const under = await make();
    try {
      await measure(name, under.helpdesk);
    } finally {
      await under.cleanup();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
