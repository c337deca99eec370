/**
 * The IMAP poller against a real Dovecot (test/helpers/dovecot.ts): messages APPENDed to the
 * mailbox become tickets through the one accept path, are flagged \Seen only once accepted, the
 * cursor in the ledger ends at the last UID, and mail arriving while the poller IDLEs is picked up.
 * The long cases (1,000-message backlog, dropped connections, UIDVALIDITY reset, a killed worker)
 * are in test/slow/imap-poller.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { startApp, type RunningApp } from '../helpers/app';
import { customerEmail, imapPollerEnv, startDovecot, type Dovecot } from '../helpers/dovecot';
import { pollerName, ticketsOf } from '../helpers/pollers';
import { eventually, unique } from '../helpers/stack';

describe('an IMAP mailbox polled by its durable poller', () => {
  let dovecot: Dovecot;
  let app: RunningApp;
  const run = unique('imap');
  const name = pollerName('mbx');

  before(async () => {
    dovecot = await startDovecot();
    await dovecot.append('INBOX', [0, 1, 2].map((i) => customerEmail(run, i)));
    app = await startApp({ env: imapPollerEnv(dovecot, { name, idleSeconds: 60 }) });
  });
  after(async () => {
    await app?.stop();
    await dovecot?.stop();
  });

  test('a backlog in the mailbox becomes one ticket per message, each flagged \\Seen, and the cursor stands at the last UID', async () => {
    for (const i of [0, 1, 2]) {
      await eventually(`the ticket of message ${i}`, async () => ((await ticketsOf(app, `${run}-${i}@customer.example`)) === 1 ? true : undefined), 90_000);
    }
    const listed = await eventually('every message flagged \\Seen', async () => {
      const l = await dovecot.list('INBOX');
      return l.every((m) => m.seen) ? l : undefined;
    });
    assert.deepEqual(listed.map((m) => m.uid), [1, 2, 3]);
    const store = openTicketStore(app.env.DATABASE_URL!);
    try {
      const cursor = await store.mailboxCursor(name, 'INBOX');
      assert.equal(cursor?.lastUid, 3);
      assert.match(cursor?.uidValidity ?? '', /^\d+$/);
    } finally {
      await store.close();
    }
  });

  test('a message that arrives while the poller IDLEs becomes a ticket without waiting out the idle time', async () => {
    const started = Date.now();
    await dovecot.append('INBOX', [customerEmail(run, 3)]);
    await eventually('the ticket of the new message', async () => ((await ticketsOf(app, `${run}-3@customer.example`)) === 1 ? true : undefined), 45_000);
    assert.ok(Date.now() - started < 45_000, 'picked up well before the 60 s idle time ran out');
    for (const i of [0, 1, 2, 3]) assert.equal(await ticketsOf(app, `${run}-${i}@customer.example`), 1, `exactly one ticket for message ${i}`);
  });
});

describe('an IMAP mailbox whose accepted messages are moved', () => {
  let dovecot: Dovecot;
  let app: RunningApp;
  const run = unique('imapmove');

  before(async () => {
    dovecot = await startDovecot();
    await dovecot.append('INBOX', [0, 1].map((i) => customerEmail(run, i)));
    app = await startApp({ env: imapPollerEnv(dovecot, { name: pollerName('move'), moveTo: 'Accepted', idleSeconds: 60 }) });
  });
  after(async () => {
    await app?.stop();
    await dovecot?.stop();
  });

  test('each message is moved to the configured mailbox (created on first use) once accepted, and becomes one ticket', async () => {
    for (const i of [0, 1]) {
      await eventually(`the ticket of message ${i}`, async () => ((await ticketsOf(app, `${run}-${i}@customer.example`)) === 1 ? true : undefined), 90_000);
    }
    await eventually('the inbox emptied', async () => ((await dovecot.list('INBOX')).length === 0 ? true : undefined));
    assert.equal((await dovecot.list('Accepted')).length, 2);
  });
});
