/**
 * The IMAP poller under load and failure, against a real Dovecot (test/helpers/dovecot.ts): a
 * 1,000-message backlog during which the worker is SIGKILLed mid-batch and the IMAP server is
 * killed (every connection dropped), new mail while the poller IDLEs, and a UIDVALIDITY reset
 * (the mailbox's index rebuilt, every UID renumbered). Through all of it every message ends as
 * exactly one ticket: the cursor is the primary record, the accept path's Message-ID and content
 * key the safety net.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { startApp, type RunningApp } from '../helpers/app';
import { customerEmail, imapPollerEnv, startDovecot, type Dovecot } from '../helpers/dovecot';
import { pollerName } from '../helpers/pollers';
import { eventually, unique } from '../helpers/stack';

const BACKLOG = 1_000;

/** Tickets per requester of this run, read from the app's own SQLite database. */
function ticketCounts(app: RunningApp, run: string): Map<string, number> {
  const file = app.env.DATABASE_URL!.replace(/^sqlite:/, '');
  const db = new DatabaseSync(file, { readOnly: true, timeout: 5_000 });
  try {
    const rows = db.prepare('SELECT requester, COUNT(*) AS n FROM tickets WHERE requester LIKE ? GROUP BY requester').all(`${run}-%`);
    return new Map(rows.map((r) => [String(r['requester']), Number(r['n'])]));
  } finally {
    db.close();
  }
}

async function cursorOf(app: RunningApp, name: string) {
  const store = openTicketStore(app.env.DATABASE_URL!);
  try {
    return await store.mailboxCursor(name, 'INBOX');
  } finally {
    await store.close();
  }
}

function assertOneTicketEach(app: RunningApp, run: string, count: number): void {
  const counts = ticketCounts(app, run);
  const twice = [...counts].filter(([, n]) => n !== 1);
  assert.deepEqual(twice, [], 'no message became two tickets');
  const missing = Array.from({ length: count }, (_, i) => `${run}-${i}@customer.example`).filter((c) => !counts.has(c));
  assert.deepEqual(missing.slice(0, 10), [], `every message became a ticket (${missing.length} missing)`);
}

async function allTickets(app: RunningApp, run: string, count: number, timeoutMs: number): Promise<void> {
  await eventually(`${count} tickets`, async () => (ticketCounts(app, run).size >= count ? true : undefined), timeoutMs);
}

describe('an IMAP mailbox under load and failure', () => {
  let dovecot: Dovecot;
  let app: RunningApp;
  const run = unique('imapslow');
  const name = pollerName('slow');

  before(async () => {
    dovecot = await startDovecot();
    const messages = Array.from({ length: BACKLOG }, (_, i) => customerEmail(run, i));
    const uids = await dovecot.append('INBOX', messages);
    assert.equal(uids.length, BACKLOG);
    app = await startApp({ env: imapPollerEnv(dovecot, { name, batchSize: 100, idleSeconds: 60 }) });
  });
  after(async () => {
    await app?.stop();
    await dovecot?.stop();
  });

  test('a 1,000-message backlog, with the worker SIGKILLed mid-batch and the IMAP server killed mid-batch, ends as exactly one ticket per message', { timeout: 40 * 60_000 }, async () => {
    await eventually('the cursor past UID 150', async () => ((await cursorOf(app, name))?.lastUid ?? 0) > 150 || undefined, 10 * 60_000);
    await app.killWorker('SIGKILL');
    await app.startWorker();
    const beforeDrop = (await cursorOf(app, name))?.lastUid ?? 0;
    await eventually('the cursor moving on after the restart', async () => ((await cursorOf(app, name))?.lastUid ?? 0) > beforeDrop + 100 || undefined, 10 * 60_000);
    await dovecot.kill();
    await dovecot.start();
    await eventually('the whole backlog accepted', async () => ((await cursorOf(app, name))?.lastUid ?? 0) >= BACKLOG || undefined, 20 * 60_000);
    await allTickets(app, run, BACKLOG, 30 * 60_000);
    assertOneTicketEach(app, run, BACKLOG);
    const listed = await dovecot.list('INBOX');
    assert.equal(listed.filter((m) => m.seen).length, BACKLOG, 'every message flagged \\Seen once accepted');
  });

  test('mail that arrives while the poller IDLEs becomes a ticket well before the idle time runs out', { timeout: 5 * 60_000 }, async () => {
    const started = Date.now();
    await dovecot.append('INBOX', [customerEmail(run, BACKLOG)]);
    await allTickets(app, run, BACKLOG + 1, 120_000);
    assert.ok(Date.now() - started < 60_000, `picked up after ${Date.now() - started} ms, before the 60 s idle time`);
    assertOneTicketEach(app, run, BACKLOG + 1);
  });

  test('a UIDVALIDITY reset (the index rebuilt, every UID renumbered) reads the mailbox again without a duplicate ticket, and new mail still arrives', { timeout: 30 * 60_000 }, async () => {
    const old = await cursorOf(app, name);
    await dovecot.kill();
    // Dovecot keeps UIDs in dovecot-uidlist and its index: without them it numbers the maildir
    // anew under a new UIDVALIDITY, as after a restore or a server move.
    const maildir = path.join(dovecot.dir, 'mail', dovecot.user, 'Maildir');
    for (const f of readdirSync(maildir)) if (f.startsWith('dovecot')) rmSync(path.join(maildir, f), { force: true });
    await dovecot.start();
    await dovecot.append('INBOX', [customerEmail(run, BACKLOG + 1)]);
    const reset = await eventually(
      'a cursor under the new UIDVALIDITY at the end of the mailbox',
      async () => {
        const c = await cursorOf(app, name);
        return c && c.uidValidity !== old?.uidValidity && c.lastUid >= BACKLOG + 2 ? c : undefined;
      },
      20 * 60_000,
    );
    assert.notEqual(reset.uidValidity, old?.uidValidity);
    await allTickets(app, run, BACKLOG + 2, 5 * 60_000);
    assertOneTicketEach(app, run, BACKLOG + 2);
  });
});
