/**
 * Issue 12, class 7, through the real pipeline on SQLite and PostgreSQL: a bounce silences only the
 * address we actually mailed. A delivery report counts only for an acknowledgement Mailgate sent
 * (found in the ledger by the returned Message-ID, or by the report's References) and only for that
 * acknowledgement's recipient; everything else is recorded with the reason and marks nothing. Marks
 * expire, and operators list and clear them through the admin API (admin token required).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type Mail from 'nodemailer/lib/mailer';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, type EmailView } from '../helpers/pipeline';
import { deliveryReport } from '../helpers/reports';
import { postgresUrl, ROOT, unique } from '../helpers/stack';

const RULES = path.join(ROOT, 'test/fixtures/rules/trust-threading.json');
const DAY_MS = 86_400_000;

interface Mark {
  address: string;
  reason: string;
  since: string;
  expires: string;
}

async function send(app: RunningApp, mail: Mail.Options): Promise<EmailView> {
  const posted = await postMime(app.url, await compose({ to: 'support@mailgate.local', text: 'hello', messageId: `<${unique('m')}@customer.example>`, ...mail }));
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

async function sendRaw(app: RunningApp, raw: string): Promise<EmailView> {
  const posted = await postMime(app.url, raw);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

/** A customer's ticket and the acknowledgement we sent them. */
async function acknowledged(app: RunningApp, prefix: string): Promise<{ customer: string; original: string; ackId: string }> {
  const customer = `${unique(prefix)}@customer.example`;
  const original = `${unique('orig')}@customer.example`;
  const view = await send(app, { from: customer, subject: 'Printer', messageId: `<${original}>` });
  assert.equal(view.state?.acknowledgement?.sent, true);
  return { customer, original, ackId: view.state!.acknowledgement!.messageId };
}

/** A new ticket from `address`: was it acknowledged? */
async function acknowledgedNow(app: RunningApp, address: string): Promise<EmailView> {
  return send(app, { from: address, subject: `Another ${unique('s')}` });
}

async function marks(app: RunningApp): Promise<Mark[]> {
  const { status, body } = await getJson<{ marks: Mark[] }>(`${app.url}/v1/undeliverable?limit=1000`);
  assert.equal(status, 200);
  return body.marks;
}

/** A hard bounce whose only pointer to the returned message is its own In-Reply-To/References. */
function referencesOnlyReport(recipient: string, ackId: string): string {
  return deliveryReport({ recipient, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn'), inReplyTo: ackId, withoutOriginal: true });
}

for (const backend of ['SQLite', 'PostgreSQL'] as const) {
  describe(`a bounce silences only the address we mailed (${backend})`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startApp({ env: { MAILGATE_RULES_FILE: RULES, UNDELIVERABLE_MARK_DAYS: '3' }, ...(backend === 'PostgreSQL' ? { databaseUrl: postgresUrl() } : {}) });
    });
    after(async () => {
      await app?.stop();
    });

    test('a forged report naming a stored customer Message-ID and an unrelated address marks nothing; that address is still acknowledged', async () => {
      const { original } = await acknowledged(app, 'cust');
      const victim = `${unique('victim')}@victim.example`;
      const forged = await sendRaw(app, deliveryReport({ recipient: victim, original, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }));
      assert.equal(forged.state?.emailClass, 'bounce');
      assert.ok(!forged.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(forged.state?.reasons));
      assert.match(forged.state?.reasons.join(' ') ?? '', /returns no message Mailgate sent/);
      assert.ok(!(await marks(app)).some((m) => m.address === victim));
      assert.equal((await acknowledgedNow(app, victim)).state?.acknowledgement?.sent, true);
    });

    test('a forged report naming a stored customer Message-ID and that customer marks nothing either (we never mailed that message)', async () => {
      const { customer, original } = await acknowledged(app, 'self');
      const forged = await sendRaw(app, deliveryReport({ recipient: customer, original, status: '5.1.1', action: 'failed', asMessage: true, id: unique('dsn') }));
      assert.ok(!forged.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(forged.state?.reasons));
      assert.equal((await acknowledgedNow(app, customer)).state?.acknowledgement?.sent, true);
    });

    test('a report for a real acknowledgement naming an unrelated address marks nothing; beside the real recipient, only the recipient is marked', async () => {
      const { customer, ackId } = await acknowledged(app, 'real');
      const victim = `${unique('victim')}@victim.example`;
      const onlyVictim = await sendRaw(app, deliveryReport({ recipient: victim, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }));
      assert.ok(!onlyVictim.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(onlyVictim.state?.reasons));
      assert.match(onlyVictim.state?.reasons.join(' ') ?? '', new RegExp(`${victim.replace(/\./g, '\\.')} was not the recipient`));

      const both = deliveryReport({ recipient: victim, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }).replace(
        `Final-Recipient: rfc822; ${victim}`,
        `Final-Recipient: rfc822; ${victim}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; ${customer}`,
      );
      const view = await sendRaw(app, both);
      assert.ok(view.state?.reasons.includes(`marked undeliverable: ${customer}`), JSON.stringify(view.state?.reasons));
      const listed = await marks(app);
      assert.ok(listed.some((m) => m.address === customer));
      assert.ok(!listed.some((m) => m.address === victim));
    });

    test('a report for a real acknowledgement naming its recipient marks it: no more acknowledgements, and the mark is listed with its expiry', async () => {
      const { customer, ackId } = await acknowledged(app, 'gone');
      const before = Date.now();
      const view = await sendRaw(app, deliveryReport({ recipient: customer.toUpperCase(), original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }));
      assert.ok(view.state?.reasons.includes(`marked undeliverable: ${customer}`), JSON.stringify(view.state?.reasons));
      const again = await acknowledgedNow(app, customer);
      assert.equal(again.state?.acknowledgement?.sent, false);
      assert.match(again.state?.acknowledgement?.reason ?? '', /undeliverable since .* until /);
      const mark = (await marks(app)).find((m) => m.address === customer);
      assert.ok(mark, 'listed');
      assert.match(mark.reason, /5\.1\.1/);
      assert.ok(Date.parse(mark.since) >= before - 5_000);
      assert.equal(Date.parse(mark.expires) - Date.parse(mark.since), 3 * DAY_MS, 'UNDELIVERABLE_MARK_DAYS=3');
    });

    test('a report that names our acknowledgement only in its References (no returned part) marks the recipient', async () => {
      const { customer, ackId } = await acknowledged(app, 'refs');
      const view = await sendRaw(app, referencesOnlyReport(customer, ackId));
      assert.equal(view.state?.bounce?.kind, 'hard');
      assert.ok(view.state?.reasons.includes(`marked undeliverable: ${customer}`), JSON.stringify(view.state?.reasons));
    });

    test('a report that names a stored customer Message-ID only in its References marks nothing', async () => {
      const { customer, original } = await acknowledged(app, 'refsforged');
      const view = await sendRaw(app, referencesOnlyReport(customer, original));
      assert.ok(!view.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(view.state?.reasons));
      assert.equal((await acknowledgedNow(app, customer)).state?.acknowledgement?.sent, true);
    });

    test('a soft bounce (4.x.x) of a real acknowledgement marks nothing', async () => {
      const { customer, ackId } = await acknowledged(app, 'soft');
      const view = await sendRaw(app, deliveryReport({ recipient: customer, original: ackId, status: '4.2.2', action: 'delayed', asMessage: false, id: unique('dsn') }));
      assert.equal(view.state?.bounce?.kind, 'soft');
      assert.ok(!view.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(view.state?.reasons));
      assert.equal((await acknowledgedNow(app, customer)).state?.acknowledgement?.sent, true);
    });

    test('a forged plain-text bounce with X-Failed-Recipients, returning a stored customer message, marks nothing', async () => {
      const { original } = await acknowledged(app, 'xfr');
      const victim = `${unique('victim')}@victim.example`;
      const raw = [
        'From: MAILER-DAEMON@mx.evil.example',
        'To: support@mailgate.local',
        'Subject: Mail delivery failed: returning message to sender',
        `Message-ID: <${unique('xfr')}@mx.evil.example>`,
        `X-Failed-Recipients: ${victim}`,
        'Auto-Submitted: auto-replied',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="x"',
        '',
        '--x',
        'Content-Type: text/plain',
        '',
        `This message was created automatically by mail delivery software. 550 5.1.1 ${victim}: user unknown`,
        '--x',
        'Content-Type: message/rfc822',
        '',
        `From: someone@customer.example`,
        `Message-ID: <${original}>`,
        'Subject: Printer',
        '',
        'body',
        '--x--',
        '',
      ].join('\r\n');
      const view = await sendRaw(app, raw);
      assert.equal(view.state?.emailClass, 'bounce');
      assert.equal(view.state?.bounce?.kind, 'hard', 'a hard bounce, so only the ledger check keeps it from marking');
      assert.ok(!view.state?.reasons.some((r) => r.startsWith('marked undeliverable')), JSON.stringify(view.state?.reasons));
      assert.ok(!(await marks(app)).some((m) => m.address === victim));
    });

    test('a mark past its expiry no longer suppresses; one in force does', async () => {
      const expired = `${unique('expired')}@customer.example`;
      const current = `${unique('current')}@customer.example`;
      const store = openTicketStore(app.env.DATABASE_URL!);
      try {
        await store.markUndeliverable({ address: expired, reason: '550 old', at: new Date(Date.now() - 40 * DAY_MS).toISOString(), expires: new Date(Date.now() - 10 * DAY_MS).toISOString() });
        await store.markUndeliverable({ address: current, reason: '550 recent', at: new Date().toISOString(), expires: new Date(Date.now() + DAY_MS).toISOString() });
      } finally {
        await store.close();
      }
      assert.equal((await acknowledgedNow(app, expired)).state?.acknowledgement?.sent, true, 'expired: acknowledged again');
      assert.equal((await acknowledgedNow(app, current)).state?.acknowledgement?.sent, false, 'in force: suppressed');
      const listed = await marks(app);
      assert.ok(!listed.some((m) => m.address === expired), 'an expired mark is not listed');
      assert.ok(listed.some((m) => m.address === current));
    });

    test('an operator clears a mark: the address is acknowledged again; clearing it twice is 404', async () => {
      const { customer, ackId } = await acknowledged(app, 'clear');
      await sendRaw(app, deliveryReport({ recipient: customer, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }));
      assert.ok((await marks(app)).some((m) => m.address === customer));
      const cleared = await apiFetch(`${app.url}/v1/undeliverable/${encodeURIComponent(customer.toUpperCase())}`, { method: 'DELETE' });
      assert.equal(cleared.status, 200);
      assert.ok(!(await marks(app)).some((m) => m.address === customer));
      assert.equal((await acknowledgedNow(app, customer)).state?.acknowledgement?.sent, true);
      assert.equal((await apiFetch(`${app.url}/v1/undeliverable/${encodeURIComponent(customer)}`, { method: 'DELETE' })).status, 404);
      assert.equal((await apiFetch(`${app.url}/v1/undeliverable/not-an-address`, { method: 'DELETE' })).status, 400);
      assert.equal((await apiFetch(`${app.url}/v1/undeliverable?limit=0`)).status, 400);
    });

    test('listing and clearing marks need the admin token', async () => {
      const { customer, ackId } = await acknowledged(app, 'auth');
      await sendRaw(app, deliveryReport({ recipient: customer, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') }));
      for (const headers of [{}, { authorization: 'Bearer wrong-token-of-enough-length' }, { authorization: `Basic ${process.env.ADMIN_TOKEN ?? ''}` }]) {
        assert.equal((await fetch(`${app.url}/v1/undeliverable`, { headers })).status, 401, JSON.stringify(headers));
        assert.equal((await fetch(`${app.url}/v1/undeliverable/${encodeURIComponent(customer)}`, { method: 'DELETE', headers })).status, 401);
      }
      assert.ok((await marks(app)).some((m) => m.address === customer), 'the mark is still there');
    });
  });
}
