/**
 * The Mailgun event poller end to end: the real worker polls the stateful Mailgun stand-in
 * (test/helpers/mailgun-stand-in.ts) and every stored message becomes one ticket through the one
 * accept path, through a burst of 503s and a worker killed and restarted (its replays are answered
 * "duplicate"); the since-cursor is in the ledger.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { startApp, type RunningApp } from '../helpers/app';
import { customerEmail } from '../helpers/dovecot';
import { pollerName, ticketsOf } from '../helpers/pollers';
import { startMailgunStandIn, type MailgunStandIn } from '../helpers/mailgun-stand-in';
import { eventually, unique } from '../helpers/stack';

describe('a Mailgun domain polled through its Events API', () => {
  let mg: MailgunStandIn;
  let app: RunningApp;
  const run = unique('mg');
  const name = pollerName('mg');
  const store = (from: number, to: number): void =>
    mg.store(
      Array.from({ length: to - from }, (_, k) => from + k).map((i) => ({
        raw: customerEmail(run, i),
        recipient: 'support@mailgate.local',
        sender: `${run}-${i}@customer.example`,
        timestamp: Date.now() / 1000,
      })),
    );
  const oneTicketEach = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      await eventually(`the ticket of message ${i}`, async () => ((await ticketsOf(app, `${run}-${i}@customer.example`)) >= 1 ? true : undefined), 90_000);
    }
    for (let i = 0; i < count; i++) assert.equal(await ticketsOf(app, `${run}-${i}@customer.example`), 1, `exactly one ticket for message ${i}`);
  };

  before(async () => {
    mg = await startMailgunStandIn();
    store(0, 3);
    const logDir = path.join(process.env.MAILGATE_DATA_DIR ?? '.data/test');
    const file = path.resolve(logDir, `pollers-${name}.json`);
    writeFileSync(
      file,
      JSON.stringify({ mailgun: [{ name, baseUrl: mg.baseUrl, domain: mg.domain, apiKey: { env: 'TEST_MAILGUN_KEY' }, pageSize: 2, settleSeconds: 1, lookbackSeconds: 3600, minIntervalSeconds: 1, maxIntervalSeconds: 2 }] }),
    );
    app = await startApp({ env: { MAILGATE_POLLERS_FILE: file, TEST_MAILGUN_KEY: mg.apiKey } });
  });
  after(async () => {
    await app?.stop();
    await mg?.close();
  });

  test('stored messages become one ticket each, across pages, and the since-cursor is in the ledger', async () => {
    await oneTicketEach(3);
    const tickets = openTicketStore(app.env.DATABASE_URL!);
    try {
      const cursor = await tickets.sinceCursor(name);
      assert.match(cursor?.since ?? '', /^\d+\.\d{6}$/);
    } finally {
      await tickets.close();
    }
  });

  test('messages stored during a burst of 503s, and across a killed and restarted worker, still become exactly one ticket each', async () => {
    mg.failNext(3, 503);
    store(3, 5);
    await oneTicketEach(5);
    await app.killWorker('SIGKILL');
    store(5, 6);
    await app.startWorker();
    await oneTicketEach(6);
    assert.ok(mg.requests.every((r) => r.authorized));
  });
});
