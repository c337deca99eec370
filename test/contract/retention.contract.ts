/**
 * The Retention port contract (src/ports/retention.ts), against the built-in store on a fresh,
 * migrated database. Registered for SQLite and PostgreSQL from sqlite.test.ts and postgres.test.ts.
 * The erasure cases are hostile-suite cases of issue 12 class 13: another requester's data must
 * survive, every spelling of the mailbox must go, and shared content-addressed files must stay.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { TicketStore } from '../../src/adapters/ticket-store';
import { ERASED_AUTHOR, ERASED_TEXT } from '../../src/adapters/ticket-store/retention-store';
import type { AttachmentRecord } from '../../src/ports/helpdesk';
import type { EmailRecord } from '../../src/ports/ledger';
import { EMPTY_ERASURE_COUNTS } from '../../src/ports/retention';
import type { FreshStore } from './built-in-store';

/** An undeliverable mark's expiry far enough ahead that it is in force during the test. */
const FAR = new Date(Date.now() + 30 * 86_400_000).toISOString();

const run = `${process.pid}.${Date.now().toString(36)}`;
let sequence = 0;
const next = (prefix: string): string => `${prefix}-${run}-${++sequence}`;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const iso = (ms: number): string => new Date(ms).toISOString();

function attachment(name: string, key: string | null): AttachmentRecord {
  return { filename: name, contentType: 'text/plain', size: 5, sha256: sha(name), storageKey: key, scanStatus: 'clean', scanDetail: null, contentId: null, inline: false };
}

function email(overrides: Partial<EmailRecord>): EmailRecord {
  return {
    workflowId: `inbound-email/${next('wf')}`,
    messageId: `${next('m')}@customer.example`,
    queue: 'support@mailgate.example',
    sender: 'someone@customer.example',
    subject: 'hello',
    emailClass: 'human',
    evidence: [],
    outcome: 'ticket_created',
    reason: null,
    ticketId: null,
    ...overrides,
  };
}

export function retentionContract(name: string, openFresh: () => Promise<FreshStore>): void {
  describe(`Retention port contract: ${name}`, () => {
    let fresh: FreshStore;
    let store: TicketStore;
    before(async () => {
      fresh = await openFresh();
      store = fresh.store;
      await store.migrate();
    });
    after(async () => {
      await store.close();
      await fresh.drop();
    });

    const ticketFor = async (requester: string, key: string | null = null) =>
      (
        await store.createTicket({
          originKey: next('origin'),
          subject: 'Help',
          requester,
          queue: 'support@mailgate.example',
          comment: { messageId: `${next('m')}@c.example`, author: requester, text: `secret words of ${requester}`, html: '<p>secret</p>', attachments: key ? [attachment('a.txt', key)] : [] },
        })
      ).ticket;

    test('rawUsedSince names the raw messages an email record touched since the instant, and only those', async () => {
      const [a, b] = [sha(next('raw')), sha(next('raw'))];
      const before = Date.now() - 60_000;
      await store.recordEmail(email({ rawSha256: a }));
      assert.deepEqual(await store.rawUsedSince([a, b], iso(before)), [a]);
      assert.deepEqual(await store.rawUsedSince([a, b], iso(Date.now() + 60_000)), []);
      assert.deepEqual(await store.rawUsedSince([], iso(before)), []);
    });

    test('an email record keeps its raw sha256, and a later record without one does not erase it', async () => {
      const raw = sha(next('raw'));
      const record = email({ rawSha256: raw });
      await store.recordEmail(record);
      assert.equal((await store.getEmail(record.workflowId))?.rawSha256, raw);
      await store.recordEmail({ ...record, rawSha256: undefined, outcome: 'suppressed' });
      assert.equal((await store.getEmail(record.workflowId))?.rawSha256, raw);
    });

    test('keysLinkedSince and forgetStorageKeys: a linked key is found while a new attachment links it, and unlinked once forgotten', async () => {
      const key = `attachments/${sha(next('file'))}`;
      const ticket = await ticketFor('linker@customer.example', key);
      assert.deepEqual(await store.keysLinkedSince([key, 'attachments/other'], iso(Date.now() - 60_000)), [key]);
      assert.deepEqual(await store.keysLinkedSince([key], iso(Date.now() + 60_000)), []);
      assert.equal(await store.forgetStorageKeys([key]), 1);
      const stored = await store.getTicket(ticket.id);
      assert.equal(stored?.comments[0]?.attachments[0]?.storageKey, null);
    });

    test('purgeEmailRecords deletes records last updated before the instant, at most the limit per call', async () => {
      const records = [email({}), email({}), email({})];
      for (const r of records) await store.recordEmail(r);
      assert.equal(await store.purgeEmailRecords(iso(Date.now() - 3_600_000), 10), 0, 'nothing is that old');
      const future = iso(Date.now() + 60_000);
      assert.equal(await store.purgeEmailRecords(future, 2), 2, 'at most the limit, and as many as there are');
      while ((await store.purgeEmailRecords(future, 100)) > 0);
      for (const r of records) assert.equal(await store.getEmail(r.workflowId), null);
      await assert.rejects(store.purgeEmailRecords(future, 0), RangeError);
    });

    describe('erasing one requester', () => {
      const domain = `${next('erase')}.example`;
      const ann = `ann@${domain}`;
      const bob = `bob@${domain}`;
      const shared = `attachments/${sha(next('shared'))}`;
      const annOnly = `attachments/${sha(next('annonly'))}`;
      const annRaw = sha(next('annraw'));
      const bobRaw = sha(next('bobraw'));
      let annTickets: string[] = [];
      let bobTicket = '';
      let annRecords: string[] = [];
      let bobRecord = '';

      before(async () => {
        // Ann writes under three spellings; one of her files is also on Bob's ticket.
        const first = await ticketFor(ann, annOnly);
        const second = await ticketFor(`Ann+billing@${domain.toUpperCase()}`, shared);
        const third = await ticketFor(`ANN@${domain}`);
        annTickets = [first.id, second.id, third.id];
        const bobs = await ticketFor(bob, shared);
        bobTicket = bobs.id;
        await store.addComment(bobTicket, { messageId: `ann.${next('m')}@c.example`, author: `Ann Example <ann+cc@${domain}>`, text: 'Ann chimes in on Bob\'s ticket', html: null, attachments: [attachment('ann.txt', annOnly)] });
        await store.indexMessageId({ messageId: `${next('m')}@c.example`, ticketId: first.id, queue: 'support@mailgate.example', kind: 'inbound' });
        await store.reserveAcknowledgement({ workflowId: next('ack'), ticketId: first.id, messageId: `${next('ack')}@mailgate`, recipient: ann });
        await store.reserveAcknowledgement({ workflowId: next('ack'), ticketId: bobTicket, messageId: `${next('ack')}@mailgate`, recipient: bob });
        const at = new Date().toISOString();
        await store.countRateEvent({ key: `new-ticket:${ann}`, eventId: next('e'), at, windowStart: iso(0) });
        await store.countRateEvent({ key: `ack:${ann}`, eventId: next('e'), at, windowStart: iso(0) });
        await store.countRateEvent({ key: `new-ticket:${bob}`, eventId: next('e'), at, windowStart: iso(0) });
        await store.markUndeliverable({ address: `ann+old@${domain}`, reason: 'hard bounce', at, expires: FAR });
        await store.markUndeliverable({ address: bob, reason: 'hard bounce', at, expires: FAR });
        const annEmails = [email({ sender: ann, rawSha256: annRaw, ticketId: first.id }), email({ sender: `Ann+billing@${domain}`, rawSha256: annRaw })];
        for (const e of annEmails) await store.recordEmail(e);
        annRecords = annEmails.map((e) => e.workflowId);
        const bobEmail = email({ sender: bob, rawSha256: bobRaw, ticketId: bobTicket });
        await store.recordEmail(bobEmail);
        bobRecord = bobEmail.workflowId;
      });

      test('the plan counts every spelling of the mailbox, lists her raw message once, and leaves out the file Bob\'s ticket also links', async () => {
        const plan = await store.planErasure(ann);
        assert.equal(plan.counts.tickets, 3);
        assert.equal(plan.counts.commentsRedacted, 1);
        assert.equal(plan.counts.emailRecords, 2);
        assert.equal(plan.counts.rateEvents, 2);
        assert.equal(plan.counts.undeliverable, 1);
        assert.deepEqual(plan.rawSha256, [annRaw]);
        assert.deepEqual(plan.objectKeys, [annOnly]);
        assert.ok(!plan.objectKeys.includes(shared));
      });

      test('erasing removes her tickets, records, counters and mark, redacts her comment on Bob\'s ticket, and leaves Bob\'s data whole', async () => {
        const counts = await store.eraseRows(`ANN+whatever@${domain}`);
        assert.equal(counts.tickets, 3);
        assert.equal(counts.commentsRedacted, 1);
        assert.equal(counts.emailRecords, 2);
        assert.equal(counts.rateEvents, 2);
        assert.equal(counts.undeliverable, 1);
        assert.ok(counts.acknowledgements >= 1);
        for (const id of annTickets) assert.equal(await store.getTicket(id), null);
        for (const id of annRecords) assert.equal(await store.getEmail(id), null);
        assert.equal(await store.isUndeliverable(`ann+old@${domain}`, new Date().toISOString()), null);
        assert.equal(await store.peekRateEvents(`new-ticket:${ann}`, iso(0)), 0);

        const bobs = await store.getTicket(bobTicket);
        assert.ok(bobs, 'Bob\'s ticket stays');
        assert.equal(bobs.comments.length, 2);
        const redacted = bobs.comments[1]!;
        assert.equal(redacted.text, ERASED_TEXT);
        assert.equal(redacted.author, ERASED_AUTHOR);
        assert.equal(redacted.html, null);
        assert.match(redacted.messageId, /^erased-.*@mailgate\.invalid$/);
        assert.equal(redacted.attachments.length, 0);
        // Her traces by name, not the bare letters "ann": the run's base-36 tag in Bob's own ids may hold them.
        const onBobs = JSON.stringify(bobs).toLowerCase();
        for (const trace of ['ann@', 'ann+', 'ann example', 'ann chimes in', 'ann.txt', annOnly]) {
          assert.ok(!onBobs.includes(trace), `nothing of Ann is left on Bob's ticket (found "${trace}")`);
        }
        assert.equal(bobs.comments[0]!.attachments[0]!.storageKey, shared, 'the shared file stays linked for Bob');
        assert.ok(await store.getEmail(bobRecord));
        assert.ok(await store.isUndeliverable(bob, new Date().toISOString()));
        assert.equal(await store.peekRateEvents(`new-ticket:${bob}`, iso(0)), 1);
      });

      test('erasing again changes nothing and counts nothing', async () => {
        assert.deepEqual(await store.eraseRows(ann), { ...EMPTY_ERASURE_COUNTS });
        assert.deepEqual((await store.planErasure(ann)).counts, { ...EMPTY_ERASURE_COUNTS });
      });
    });

    test('Gmail spellings (dots, googlemail.com, plus-tags) are one mailbox; look-alike mailboxes survive', async () => {
      const local = next('gm').replace(/[^a-z0-9]/g, '');
      const hers = [await ticketFor(`${local}@gmail.com`), await ticketFor(`${local.slice(0, 2)}.${local.slice(2)}+x@googlemail.com`)];
      const lookalikes = [
        await ticketFor(`${local}x@gmail.com`),
        await ticketFor(`x${local}@gmail.com`),
        await ticketFor(`${local}@gmail.com.evil.example`),
        await ticketFor(`${local}@sub.gmail.com`),
        await ticketFor(`${local}@example.org`),
      ];
      const counts = await store.eraseRows(`${local.toUpperCase()}@GMail.com`);
      assert.equal(counts.tickets, 2);
      for (const t of hers) assert.equal(await store.getTicket(t.id), null);
      for (const t of lookalikes) assert.ok(await store.getTicket(t.id), `${t.requester} survives`);
    });

    test('SQL wildcards and quotes in the address match nothing but that address', async () => {
      const victim = await ticketFor(`victim@${next('wild')}.example`);
      for (const address of ["%@%", "_%@%.example", "' OR 1=1 --@x.example", '%'].map((a) => a)) {
        const counts = await store.eraseRows(address);
        assert.equal(counts.tickets, 0, address);
      }
      assert.ok(await store.getTicket(victim.id));
    });

    test('an erasure audit record reads back as written, once per id, with no address in it', async () => {
      const id = `erasure/${next('req')}`;
      const audit = {
        id,
        requestedBy: 'dpo ticket 4711',
        requestedAt: '2026-01-02T03:04:05.000Z',
        subjectDigest: 'a'.repeat(64),
        dryRun: true,
        counts: { ...EMPTY_ERASURE_COUNTS, tickets: 3 },
        completedAt: '2026-01-02T03:04:06.000Z',
      };
      await store.recordErasure(audit);
      await store.recordErasure({ ...audit, requestedBy: 'someone else', dryRun: false });
      assert.deepEqual(await store.getErasure(id), audit);
      assert.equal(await store.getErasure(`erasure/${next('none')}`), null);
    });
  });
}
