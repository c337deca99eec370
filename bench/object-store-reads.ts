/**
 * Object-store requests per email, by operation and key prefix: one email without attachments and
 * one with a single attachment run through the email workflow on an in-process worker (real
 * activities, the stack's Temporal, S3, clamd and SMTP), with the object store counted. Prints, per
 * scenario, each object read and how often, so "read once per purpose" can be checked.
 *   MAILGATE_PROFILE=test scripts/with-env node dist/bench/object-store-reads.js
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { ObjectStore } from '../src/adapters/object-store';
import { openTicketStore } from '../src/adapters/ticket-store';
import { createActivities } from '../src/activities';
import { loadConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal-connection';
import { activityDeps } from '../src/worker';
import { processInboundEmail } from '../src/workflows';

Runtime.install({ logger: new DefaultLogger('WARN') });

type Op = 'get' | 'put' | 'head' | 'copy' | 'refresh';

function counting(store: ObjectStore, log: { op: Op; key: string }[]): ObjectStore {
  return {
    ...store,
    put: (input) => (log.push({ op: 'put', key: input.key }), store.put(input)),
    exists: (key) => (log.push({ op: 'head', key }), store.exists(key)),
    refresh: (key) => (log.push({ op: 'refresh', key }), store.refresh(key)),
    copy: (from, to) => (log.push({ op: 'copy', key: `${from} -> ${to}` }), store.copy(from, to)),
    getStream: (key) => (log.push({ op: 'get', key }), store.getStream(key)),
    getBuffer: (key) => (log.push({ op: 'get', key }), store.getBuffer(key)),
  };
}

/** raw/<sha> → raw/…, parsed/<sha>/x.json → parsed/…, so lines group by purpose. */
function shape(key: string): string {
  return key.replace(/[0-9a-f]{64}/g, '…');
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-reads-'));
  const tickets = openTicketStore(`sqlite:${path.join(dir, 'ledger.sqlite')}`);
  await tickets.migrate();
  const log: { op: Op; key: string }[] = [];
  const deps = activityDeps(config, tickets);
  const store = deps.store;
  deps.store = counting(store, log);
  const taskQueue = `reads-${randomUUID()}`;
  const native = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const worker = await Worker.create({
    connection: native,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('../src/workflows'),
    activities: createActivities(deps),
  });
  const scenarios = [
    { name: 'small email, no attachment', attachments: [] },
    { name: 'email with one attachment', attachments: [{ filename: 'notes.txt', content: 'The printer is on fire.\n'.repeat(400) }] },
  ];
  try {
    await worker.runUntil(async () => {
      for (const scenario of scenarios) {
        const id = randomUUID();
        const raw = await new MailComposer({
          from: `reads-${id}@customer.example`,
          to: 'support@mailgate.local',
          subject: `Object-store reads ${id}`,
          messageId: `<${id}@customer.example>`,
          text: 'Hello, the printer is on fire.',
          attachments: scenario.attachments,
        })
          .compile()
          .build();
        const sha256 = createHash('sha256').update(raw).digest('hex');
        await store.put({ key: `raw/${sha256}`, body: raw, contentType: 'message/rfc822', contentLength: raw.length });
        log.length = 0;
        const state = await client.workflow.execute(processInboundEmail, {
          taskQueue,
          workflowId: `inbound-email/${id}`,
          args: [
            {
              rawKey: `raw/${sha256}`,
              rawSha256: sha256,
              rawSize: raw.length,
              recipient: 'support@mailgate.local',
              queue: 'support@mailgate.local',
              idempotencyKey: id,
              envelopeFrom: `reads-${id}@customer.example`,
              receivedAt: new Date().toISOString(),
              policy: { waitForParentSeconds: 0 },
            },
          ],
        });
        const counts = new Map<string, number>();
        for (const entry of log) counts.set(`${entry.op} ${shape(entry.key)}`, (counts.get(`${entry.op} ${shape(entry.key)}`) ?? 0) + 1);
        const reads = log.filter((e) => e.op === 'get');
        const repeated = [...new Set(reads.map((e) => e.key))].filter((key) => reads.filter((e) => e.key === key).length > 1);
        console.log(`${scenario.name}: outcome ${state.outcome}; ${reads.length} object reads (${repeated.length} objects read more than once), ${log.length} requests in all`);
        for (const [what, n] of [...counts].sort()) console.log(`  ${String(n).padStart(3)} × ${what}`);
      }
    });
  } finally {
    await connection.close();
    await native.close();
    await tickets.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : String(error));
  process.exit(1);
});
