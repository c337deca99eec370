/**
 * The Ledger contract (src/ports/ledger.ts): what every ledger implementation must do, written
 * against the port only. Register it from a `*.test.ts` file:
 *
 *   ledgerContract('SQLite', async () => ({ ledger, openTicket, cleanup }));
 *
 * `makeLedger` returns a ledger on new, empty storage that has not been migrated; the suite
 * migrates it. Thread entries and acknowledgements name tickets, and today's ledgers refer to the
 * built-in store's tickets, so the harness opens the tickets the tests need (after migrate).
 * Whether a ticket's requester or a comment author is a participant depends on the helpdesk's own
 * records, so those cases are in built-in-store.contract.ts; here only what the ledger records
 * itself counts: acknowledgement recipients.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EmailRecord, Ledger, ThreadEntry } from '../../src/ports/ledger';

export interface LedgerUnderTest {
  ledger: Ledger;
  /** Opens a ticket the ledger may refer to; call only after the ledger is migrated. */
  openTicket(): Promise<{ id: string; number: number }>;
  /** Closes connections and removes what the suite stored. */
  cleanup(): Promise<void>;
}

/** How many callers the concurrency tests start at once: more than a small connection pool holds. */
const PARALLEL = 12;

const HOUR_MS = 3_600_000;

const run = `${process.pid}.${Date.now().toString(36)}`;
let sequence = 0;

function nextKey(prefix: string): string {
  sequence += 1;
  return `${prefix}-${run}-${sequence}`;
}

function messageId(): string {
  return `${nextKey('msg')}@customer.example`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

const DAY_MS = 86_400_000;

/** A mark made now (or at `at`) that lasts a day. */
function mark(address: string, reason: string, at = Date.now(), days = 1) {
  return { address, reason, at: iso(at), expires: iso(at + days * DAY_MS) };
}

function emailRecord(overrides: Partial<EmailRecord> = {}): EmailRecord {
  return {
    workflowId: `inbound-email/${nextKey('wf')}`,
    messageId: messageId(),
    queue: 'support@mailgate.example',
    sender: 'alice@customer.example',
    subject: 'The printer is on fire',
    emailClass: 'human',
    evidence: ['message-id', 'human:no-auto-headers'],
    outcome: 'ticket_created',
    reason: null,
    ticketId: null,
    ...overrides,
  };
}

export function ledgerContract(name: string, makeLedger: () => Promise<LedgerUnderTest>): void {
  describe(`Ledger contract: ${name}`, () => {
    const made: LedgerUnderTest[] = [];
    let ledger: Ledger;
    let openTicket: LedgerUnderTest['openTicket'];

    async function make(): Promise<LedgerUnderTest> {
      const under = await makeLedger();
      made.push(under);
      return under;
    }

    before(async () => {
      const under = await make();
      ({ ledger, openTicket } = under);
      await ledger.migrate();
    });

    after(async () => {
      for (const under of made) await under.cleanup();
    });

    function entry(ticketId: string, overrides: Partial<ThreadEntry> = {}): ThreadEntry {
      return { messageId: messageId(), ticketId, queue: 'support@mailgate.example', kind: 'inbound', ...overrides };
    }

    describe('migrate', () => {
      test('migrating new storage from two callers at once, then again, leaves a working ledger', async () => {
        const { ledger: fresh } = await make();
        await Promise.all([fresh.migrate(), fresh.migrate()]);
        await fresh.migrate();
        await fresh.ping();
        const key = nextKey('claim');
        assert.equal(await fresh.claimOnce(key, iso(Date.now()), iso(Date.now() - HOUR_MS)), true);
        assert.equal(await fresh.claimOnce(key, iso(Date.now()), iso(Date.now() - HOUR_MS)), false);
      });

      test('migrating a ledger again keeps everything it remembers', async () => {
        const ticket = await openTicket();
        const indexed = entry(ticket.id);
        await ledger.indexMessageId(indexed);
        const email = emailRecord({ ticketId: ticket.id });
        await ledger.recordEmail(email);
        const address = `${nextKey('bounced')}@customer.example`;
        await ledger.markUndeliverable(mark(address, '550 5.1.1 no such user'));

        await ledger.migrate();
        await ledger.migrate();

        assert.equal((await ledger.findThread([indexed.messageId], indexed.queue))?.ticketId, ticket.id);
        assert.equal((await ledger.getEmail(email.workflowId))?.outcome, 'ticket_created');
        assert.equal((await ledger.isUndeliverable(address, iso(Date.now())))?.reason, '550 5.1.1 no such user');
      });
    });

    describe('thread index', () => {
      test('an indexed Message-ID threads to its ticket, with the ticket number and the Message-ID that matched', async () => {
        const ticket = await openTicket();
        const indexed = entry(ticket.id);
        await ledger.indexMessageId(indexed);
        assert.deepEqual(await ledger.findThread([indexed.messageId], indexed.queue), {
          ticketId: ticket.id,
          ticketNumber: ticket.number,
          messageId: indexed.messageId,
        });
      });

      test('Message-IDs of every kind thread: inbound, acknowledgement and outbound', async () => {
        const ticket = await openTicket();
        for (const kind of ['inbound', 'acknowledgement', 'outbound'] as const) {
          const indexed = entry(ticket.id, { kind });
          await ledger.indexMessageId(indexed);
          assert.equal((await ledger.findThread([indexed.messageId], indexed.queue))?.ticketId, ticket.id, kind);
        }
      });

      test('no Message-IDs, or only unknown ones, thread to nothing', async () => {
        assert.equal(await ledger.findThread([], 'support@mailgate.example'), null);
        assert.equal(await ledger.findThread([messageId(), messageId()], 'support@mailgate.example'), null);
      });

      test('the first known Message-ID in the given order wins, not the first indexed', async () => {
        const older = await openTicket();
        const newer = await openTicket();
        const a = entry(older.id);
        const b = entry(newer.id);
        await ledger.indexMessageId(a);
        await ledger.indexMessageId(b);
        const unknown = messageId();
        assert.deepEqual(await ledger.findThread([unknown, b.messageId, a.messageId], a.queue), {
          ticketId: newer.id,
          ticketNumber: newer.number,
          messageId: b.messageId,
        });
        assert.equal((await ledger.findThread([a.messageId, b.messageId], a.queue))?.ticketId, older.id);
      });

      test('a Message-ID on tickets in several queues threads to the receiving queue\'s ticket, else to the oldest', async () => {
        const support = await openTicket();
        const billing = await openTicket();
        const shared = messageId();
        await ledger.indexMessageId(entry(support.id, { messageId: shared, queue: 'support@mailgate.example' }));
        await ledger.indexMessageId(entry(billing.id, { messageId: shared, queue: 'billing@mailgate.example' }));
        assert.equal((await ledger.findThread([shared], 'billing@mailgate.example'))?.ticketId, billing.id);
        assert.equal((await ledger.findThread([shared], 'support@mailgate.example'))?.ticketId, support.id);
        assert.equal((await ledger.findThread([shared], 'sales@mailgate.example'))?.ticketId, support.id);
      });

      test('indexing one Message-ID again, also concurrently, is harmless and keeps its ticket', async () => {
        const ticket = await openTicket();
        const indexed = entry(ticket.id, { kind: 'acknowledgement' });
        await ledger.indexMessageId(indexed);
        await Promise.all(Array.from({ length: PARALLEL }, () => ledger.indexMessageId(indexed)));
        assert.equal((await ledger.findThread([indexed.messageId], indexed.queue))?.ticketId, ticket.id);
      });
    });

    describe('participants', () => {
      test('the recipient of an acknowledgement takes part in its ticket, whatever the case of the address', async () => {
        const ticket = await openTicket();
        const recipient = `${nextKey('carol')}@Customer.Example`;
        await ledger.reserveAcknowledgement({ workflowId: nextKey('wf'), ticketId: ticket.id, messageId: messageId(), recipient });
        assert.equal(await ledger.isParticipant(ticket.id, recipient), true);
        assert.equal(await ledger.isParticipant(ticket.id, recipient.toUpperCase()), true);
        assert.equal(await ledger.isParticipant(ticket.id, recipient.toLowerCase()), true);
      });

      test('an address that took no part, or a ticket that does not exist, has no participant', async () => {
        const ticket = await openTicket();
        const recipient = `${nextKey('carol')}@customer.example`;
        await ledger.reserveAcknowledgement({ workflowId: nextKey('wf'), ticketId: ticket.id, messageId: messageId(), recipient });
        assert.equal(await ledger.isParticipant(ticket.id, `${nextKey('mallory')}@attacker.example`), false);
        const other = await openTicket();
        assert.equal(await ledger.isParticipant(other.id, recipient), false);
        assert.equal(await ledger.isParticipant('no-such-ticket', recipient), false);
      });
    });

    describe('acknowledgements', () => {
      test('a reservation is reserved once: a repeat keeps the first Message-ID, and after marking it reports sent', async () => {
        const ticket = await openTicket();
        const workflowId = `inbound-email/${nextKey('wf')}`;
        const first = { workflowId, ticketId: ticket.id, messageId: messageId(), recipient: 'alice@customer.example' };
        assert.deepEqual(await ledger.reserveAcknowledgement(first), { state: 'reserved', messageId: first.messageId });
        assert.deepEqual(await ledger.reserveAcknowledgement({ ...first, messageId: messageId() }), {
          state: 'reserved',
          messageId: first.messageId,
        });
        await ledger.markAcknowledgementSent(workflowId);
        assert.deepEqual(await ledger.reserveAcknowledgement({ ...first, messageId: messageId() }), {
          state: 'sent',
          messageId: first.messageId,
        });
      });

      test(`${PARALLEL} concurrent reservations of one workflow agree on one Message-ID`, async () => {
        const ticket = await openTicket();
        const workflowId = `inbound-email/${nextKey('wf')}`;
        const offered = Array.from({ length: PARALLEL }, () => messageId());
        const results = await Promise.all(
          offered.map((id) => ledger.reserveAcknowledgement({ workflowId, ticketId: ticket.id, messageId: id, recipient: 'alice@customer.example' })),
        );
        const kept = new Set(results.map((r) => r.messageId));
        assert.equal(kept.size, 1);
        assert.ok(offered.includes([...kept][0] ?? ''), 'the kept Message-ID is one of those offered');
        assert.ok(results.every((r) => r.state === 'reserved'));
      });

      test('marking sent again is harmless; marking a workflow with no reservation throws', async () => {
        const ticket = await openTicket();
        const workflowId = `inbound-email/${nextKey('wf')}`;
        const first = { workflowId, ticketId: ticket.id, messageId: messageId(), recipient: 'alice@customer.example' };
        await ledger.reserveAcknowledgement(first);
        await ledger.markAcknowledgementSent(workflowId);
        await ledger.markAcknowledgementSent(workflowId);
        assert.equal((await ledger.reserveAcknowledgement(first)).state, 'sent');
        await assert.rejects(ledger.markAcknowledgementSent(`inbound-email/${nextKey('never-reserved')}`));
      });
    });

    describe('rate counters', () => {
      const base = Date.parse('2025-03-01T10:00:00.000Z');

      test('each event counts once, however often it is recorded, and only events in the window count', async () => {
        const key = `new-ticket:${nextKey('alice')}@customer.example`;
        const windowOf = (at: number): string => iso(at - HOUR_MS);
        const count = (eventId: string, at: number): Promise<number> =>
          ledger.countRateEvent({ key, eventId, at: iso(at), windowStart: windowOf(at) });
        assert.equal(await count('wf-1', base), 1);
        assert.equal(await count('wf-1', base), 1, 'a retried event is not counted again');
        assert.equal(await count('wf-2', base + 10 * 60_000), 2);
        assert.equal(await count('wf-3', base + 50 * 60_000), 3);
        // wf-1 is now more than an hour old, wf-2 is not.
        assert.equal(await count('wf-4', base + 65 * 60_000), 3);
        assert.equal(await count('wf-5', base + 3 * HOUR_MS), 1);
      });

      test('events of other keys do not count', async () => {
        const alice = `new-ticket:${nextKey('alice')}@customer.example`;
        const bob = `new-ticket:${nextKey('bob')}@customer.example`;
        const at = iso(base);
        const windowStart = iso(base - HOUR_MS);
        await ledger.countRateEvent({ key: alice, eventId: 'wf-1', at, windowStart });
        await ledger.countRateEvent({ key: alice, eventId: 'wf-2', at, windowStart });
        assert.equal(await ledger.countRateEvent({ key: bob, eventId: 'wf-1', at, windowStart }), 1);
      });

      test('peekRateEvents counts events since the window start without recording one', async () => {
        const key = `ack:${nextKey('alice')}@customer.example`;
        assert.equal(await ledger.peekRateEvents(key, iso(base - HOUR_MS)), 0);
        await ledger.countRateEvent({ key, eventId: 'wf-1', at: iso(base), windowStart: iso(base - HOUR_MS) });
        await ledger.countRateEvent({ key, eventId: 'wf-2', at: iso(base + 30 * 60_000), windowStart: iso(base - HOUR_MS) });
        assert.equal(await ledger.peekRateEvents(key, iso(base - HOUR_MS)), 2);
        assert.equal(await ledger.peekRateEvents(key, iso(base - HOUR_MS)), 2, 'peeking recorded nothing');
        assert.equal(await ledger.peekRateEvents(key, iso(base + 15 * 60_000)), 1);
        assert.equal(await ledger.peekRateEvents(key, iso(base + HOUR_MS)), 0);
        assert.equal(
          await ledger.countRateEvent({ key, eventId: 'wf-3', at: iso(base + 40 * 60_000), windowStart: iso(base - HOUR_MS) }),
          3,
        );
      });

      test(`${PARALLEL} concurrent events of one key each see the ones before them: the counts are 1 to ${PARALLEL}`, async () => {
        const key = `new-ticket:${nextKey('burst')}@customer.example`;
        const counts = await Promise.all(
          Array.from({ length: PARALLEL }, (_, i) =>
            ledger.countRateEvent({ key, eventId: `wf-${i}`, at: iso(base), windowStart: iso(base - HOUR_MS) }),
          ),
        );
        assert.deepEqual(
          counts.sort((x, y) => x - y),
          Array.from({ length: PARALLEL }, (_, i) => i + 1),
        );
      });

      test(`${PARALLEL} concurrent recordings of one event count it once`, async () => {
        const key = `new-ticket:${nextKey('retry')}@customer.example`;
        const counts = await Promise.all(
          Array.from({ length: PARALLEL }, () => ledger.countRateEvent({ key, eventId: 'wf-1', at: iso(base), windowStart: iso(base - HOUR_MS) })),
        );
        assert.deepEqual(new Set(counts), new Set([1]));
        assert.equal(await ledger.peekRateEvents(key, iso(base - HOUR_MS)), 1);
      });
    });

    describe('undeliverable addresses', () => {
      test('an undeliverable address keeps its first reason and is found whatever the case', async () => {
        const address = `${nextKey('bounced')}@Customer.Example`;
        const before = Date.now();
        await ledger.markUndeliverable(mark(address, '550 5.1.1 user unknown'));
        await ledger.markUndeliverable(mark(address.toLowerCase(), '552 mailbox full'));
        for (const asked of [address, address.toUpperCase(), address.toLowerCase()]) {
          const found = await ledger.isUndeliverable(asked, iso(Date.now()));
          assert.equal(found?.reason, '550 5.1.1 user unknown', asked);
          const since = Date.parse(found?.since ?? '');
          assert.ok(since >= before - 5_000 && since <= Date.now() + 5_000, `since ${found?.since} is when it was marked`);
          assert.equal(Date.parse(found?.expires ?? '') - since, DAY_MS, 'expires a day after it was made');
        }
      });

      test('an address never marked is deliverable', async () => {
        assert.equal(await ledger.isUndeliverable(`${nextKey('fine')}@customer.example`, iso(Date.now())), null);
      });

      test('concurrent marks with different reasons keep one of them', async () => {
        const address = `${nextKey('bounced')}@customer.example`;
        const reasons = Array.from({ length: PARALLEL }, (_, i) => `550 reason ${i}`);
        await Promise.all(reasons.map((r) => ledger.markUndeliverable(mark(address, r))));
        const kept = (await ledger.isUndeliverable(address, iso(Date.now())))?.reason;
        assert.ok(kept !== undefined && reasons.includes(kept), `kept ${kept}`);
        await ledger.markUndeliverable(mark(address, '552 later'));
        assert.equal((await ledger.isUndeliverable(address, iso(Date.now())))?.reason, kept);
      });

      test('a mark no longer suppresses once it expires, and is not listed then', async () => {
        const address = `${nextKey('expired')}@customer.example`;
        const made = Date.now() - 3 * DAY_MS;
        await ledger.markUndeliverable(mark(address, '550 old', made, 2));
        assert.equal((await ledger.isUndeliverable(address, iso(made + DAY_MS)))?.reason, '550 old', 'in force a day later');
        assert.equal(await ledger.isUndeliverable(address, iso(Date.now())), null, 'expired a day ago');
        assert.equal(await ledger.isUndeliverable(address, iso(made + 2 * DAY_MS)), null, 'expired at the instant it expires');
        const listed = await ledger.listUndeliverable({ at: iso(Date.now()), limit: 1000 });
        assert.ok(!listed.some((m) => m.address === address), 'an expired mark is not listed');
      });

      test('a new bounce after a mark expired marks the address again, with the new reason and expiry', async () => {
        const address = `${nextKey('again')}@customer.example`;
        await ledger.markUndeliverable(mark(address, '550 first', Date.now() - 3 * DAY_MS, 1));
        await ledger.markUndeliverable(mark(address, '550 second'));
        const found = await ledger.isUndeliverable(address, iso(Date.now()));
        assert.equal(found?.reason, '550 second');
        assert.ok(Date.parse(found?.expires ?? '') > Date.now());
      });

      test('marks in force are listed newest first with address, reason, since and expiry; clearing one lifts it', async () => {
        const older = `${nextKey('older')}@customer.example`;
        const newer = `${nextKey('newer')}@Customer.example`;
        await ledger.markUndeliverable(mark(older, '550 older', Date.now() - 60_000, 30));
        await ledger.markUndeliverable(mark(newer, '550 newer', Date.now(), 30));
        const listed = (await ledger.listUndeliverable({ at: iso(Date.now()), limit: 1000 })).filter((m) => [older, newer.toLowerCase()].includes(m.address));
        assert.deepEqual(listed.map((m) => [m.address, m.reason]), [
          [newer.toLowerCase(), '550 newer'],
          [older, '550 older'],
        ]);
        for (const m of listed) assert.equal(Date.parse(m.expires) - Date.parse(m.since), 30 * DAY_MS);
        assert.ok((await ledger.listUndeliverable({ at: iso(Date.now()), limit: 1 })).length <= 1, 'the limit holds');

        assert.equal(await ledger.clearUndeliverable(newer.toUpperCase()), true);
        assert.equal(await ledger.isUndeliverable(newer, iso(Date.now())), null);
        assert.equal(await ledger.clearUndeliverable(newer), false, 'nothing left to clear');
        assert.equal((await ledger.isUndeliverable(older, iso(Date.now())))?.reason, '550 older', 'the other mark stays');
      });
    });

    describe('acknowledgements by Message-ID', () => {
      test('an acknowledgement is found by its Message-ID with its ticket, recipient and state; an unknown one is not', async () => {
        const ticket = await openTicket();
        const workflowId = `inbound-email/${nextKey('wf')}`;
        const ackId = `mg.${nextKey('ack')}@mailgate.example`;
        await ledger.reserveAcknowledgement({ workflowId, ticketId: ticket.id, messageId: ackId, recipient: 'Ann@Customer.example' });
        assert.deepEqual(await ledger.findAcknowledgement(ackId), { ticketId: ticket.id, recipient: 'ann@customer.example', state: 'reserved' });
        await ledger.markAcknowledgementSent(workflowId);
        assert.equal((await ledger.findAcknowledgement(ackId))?.state, 'sent');
        assert.equal(await ledger.findAcknowledgement(messageId()), null);
      });
    });

    describe('participants recorded from To and Cc', () => {
      test('a recorded party takes part in that ticket only, whatever its case or plus-tag', async () => {
        const ticket = await openTicket();
        const other = await openTicket();
        const colleague = `${nextKey('colleague')}@customer.example`;
        await ledger.addParticipants({ ticketId: ticket.id, addresses: [`Bob <${colleague.toUpperCase()}>`, 'not an address'] });
        await ledger.addParticipants({ ticketId: ticket.id, addresses: [colleague] });
        const [local, domain] = colleague.split('@') as [string, string];
        for (const spelling of [colleague, colleague.toUpperCase(), `${local}+cc@${domain}`]) {
          assert.equal(await ledger.isParticipant(ticket.id, spelling), true, spelling);
        }
        assert.equal(await ledger.isParticipant(other.id, colleague), false, 'another ticket');
        assert.equal(await ledger.isParticipant(ticket.id, `x${colleague}`), false, 'another mailbox');
      });

      test('a message with thousands of Cc addresses records a bounded number of them', async () => {
        const ticket = await openTicket();
        const many = Array.from({ length: 2000 }, (_, i) => `${nextKey(`cc${i}`)}@customer.example`);
        await ledger.addParticipants({ ticketId: ticket.id, addresses: many });
        assert.equal(await ledger.isParticipant(ticket.id, many[0]!), true);
        assert.equal(await ledger.isParticipant(ticket.id, many[1999]!), false);
      });

      test('an acknowledgement recipient takes part by mailbox, not by spelling', async () => {
        const ticket = await openTicket();
        const customer = `${nextKey('ann')}@customer.example`;
        await ledger.reserveAcknowledgement({ workflowId: `inbound-email/${nextKey('wf')}`, ticketId: ticket.id, messageId: messageId(), recipient: customer });
        const [local, domain] = customer.split('@') as [string, string];
        assert.equal(await ledger.isParticipant(ticket.id, `${local.toUpperCase()}+reply@${domain}`), true);
      });
    });

    describe('replay claims', () => {
      test('a key is claimed the first time only; another key is its own claim', async () => {
        const now = Date.now();
        const key = nextKey('signature');
        assert.equal(await ledger.claimOnce(key, iso(now), iso(now - HOUR_MS)), true);
        assert.equal(await ledger.claimOnce(key, iso(now + 1_000), iso(now - HOUR_MS)), false);
        assert.equal(await ledger.claimOnce(nextKey('signature'), iso(now), iso(now - HOUR_MS)), true);
      });

      test(`${PARALLEL} concurrent claims of one key: exactly one wins`, async () => {
        const now = Date.now();
        const key = nextKey('signature');
        const results = await Promise.all(Array.from({ length: PARALLEL }, () => ledger.claimOnce(key, iso(now), iso(now - HOUR_MS))));
        assert.equal(results.filter(Boolean).length, 1);
      });

      test('a released claim may be claimed again; releasing an unclaimed key is harmless', async () => {
        const now = Date.now();
        const key = nextKey('signature');
        assert.equal(await ledger.claimOnce(key, iso(now), iso(now - HOUR_MS)), true);
        await ledger.releaseClaim(key);
        assert.equal(await ledger.claimOnce(key, iso(now), iso(now - HOUR_MS)), true);
        assert.equal(await ledger.claimOnce(key, iso(now), iso(now - HOUR_MS)), false);
        await ledger.releaseClaim(nextKey('never-claimed'));
      });

      test('a claim keeps the answer its request got: none while in flight, the answer after, nothing once released', async () => {
        const now = Date.now();
        const key = nextKey('signature');
        assert.equal(await ledger.claimAnswer(key), null);
        assert.equal(await ledger.claimOnce(key, iso(now), iso(now - HOUR_MS)), true);
        assert.deepEqual(await ledger.claimAnswer(key), { answer: null });
        await ledger.answerClaim(key, '{"status":202,"json":"{}"}');
        assert.deepEqual(await ledger.claimAnswer(key), { answer: '{"status":202,"json":"{}"}' });
        await ledger.releaseClaim(key);
        assert.equal(await ledger.claimAnswer(key), null);
        await ledger.answerClaim(key, 'late');
        assert.equal(await ledger.claimAnswer(key), null, 'an answer for a claim that is gone makes none');
      });

      test('claims older than forgetBefore are forgotten, newer ones are kept', async () => {
        const old = Date.parse('2020-01-01T00:00:00.000Z');
        const forgotten = nextKey('signature');
        const kept = nextKey('signature');
        assert.equal(await ledger.claimOnce(forgotten, iso(old), iso(old - HOUR_MS)), true);
        assert.equal(await ledger.claimOnce(kept, iso(old + 2 * HOUR_MS), iso(old - HOUR_MS)), true);
        // One hour after the first claim: it is forgotten, the second (an hour younger) is not.
        const forgetBefore = iso(old + HOUR_MS);
        assert.equal(await ledger.claimOnce(forgotten, iso(old + 3 * HOUR_MS), forgetBefore), true);
        assert.equal(await ledger.claimOnce(kept, iso(old + 3 * HOUR_MS), forgetBefore), false);
      });
    });

    describe('Message-ID clashes', () => {
      test('a clash is noted on both emails, each naming the other, and recording it again adds nothing', async () => {
        const first = `inbound-email/${nextKey('wf')}`;
        const second = `inbound-email/${nextKey('wf')}`;
        const id = messageId();
        await ledger.recordMessageIdClash({ workflowId: second, otherWorkflowId: first, messageId: id });
        await ledger.recordMessageIdClash({ workflowId: second, otherWorkflowId: first, messageId: id });
        await ledger.recordMessageIdClash({ workflowId: first, otherWorkflowId: second, messageId: id });
        const onFirst = await ledger.messageIdClashes(first);
        const onSecond = await ledger.messageIdClashes(second);
        assert.deepEqual(onFirst.map((c) => [c.workflowId, c.otherWorkflowId, c.messageId]), [[first, second, id]]);
        assert.deepEqual(onSecond.map((c) => [c.workflowId, c.otherWorkflowId, c.messageId]), [[second, first, id]]);
        assert.ok(!Number.isNaN(Date.parse(onFirst[0]!.created)));
      });

      test('an email whose Message-ID two later messages reused names both; an email with no clash has none', async () => {
        const first = `inbound-email/${nextKey('wf')}`;
        const others = [`inbound-email/${nextKey('wf')}`, `inbound-email/${nextKey('wf')}`];
        const id = messageId();
        for (const other of others) await ledger.recordMessageIdClash({ workflowId: other, otherWorkflowId: first, messageId: id });
        assert.deepEqual((await ledger.messageIdClashes(first)).map((c) => c.otherWorkflowId).sort(), [...others].sort());
        assert.deepEqual(await ledger.messageIdClashes(`inbound-email/${nextKey('wf')}`), []);
      });

      test(`${PARALLEL} concurrent records of one clash leave one note on each email`, async () => {
        const first = `inbound-email/${nextKey('wf')}`;
        const second = `inbound-email/${nextKey('wf')}`;
        const id = messageId();
        await Promise.all(Array.from({ length: PARALLEL }, () => ledger.recordMessageIdClash({ workflowId: second, otherWorkflowId: first, messageId: id })));
        assert.equal((await ledger.messageIdClashes(first)).length, 1);
        assert.equal((await ledger.messageIdClashes(second)).length, 1);
      });
    });

    describe('ticket moves', () => {
      test('a move is recorded once per ticket, run and target queue, with its origin and who asked', async () => {
        const ticket = await openTicket();
        const run = `inbound-email/${nextKey('wf')}/reprocess-1`;
        const move = { ticketId: ticket.id, fromQueue: 'support@mailgate.example', toQueue: 'Billing@mailgate.example', workflowId: run, by: 'ops via admin api' };
        await ledger.recordTicketMove(move);
        await ledger.recordTicketMove({ ...move, fromQueue: 'billing@mailgate.example' });
        await Promise.all(Array.from({ length: PARALLEL }, () => ledger.recordTicketMove(move)));
        await ledger.recordTicketMove({ ...move, fromQueue: 'billing@mailgate.example', toQueue: 'sales@mailgate.example' });
        const moves = (await ledger.ticketMoves(ticket.id)).sort((a, b) => a.toQueue.localeCompare(b.toQueue));
        assert.deepEqual(
          moves.map((m) => [m.ticketId, m.fromQueue, m.toQueue, m.workflowId, m.by]),
          [
            [ticket.id, 'support@mailgate.example', 'billing@mailgate.example', run, 'ops via admin api'],
            [ticket.id, 'billing@mailgate.example', 'sales@mailgate.example', run, 'ops via admin api'],
          ],
        );
        assert.ok(!Number.isNaN(Date.parse(moves[0]!.created)));
        assert.deepEqual(await ledger.ticketMoves((await openTicket()).id), []);
      });
    });

    describe('notifications', () => {
      test('a notification is recorded once per key, also concurrently: the first record wins', async () => {
        const ticket = await openTicket();
        const key = `page/${ticket.id}/${nextKey('route')}/pd`;
        assert.equal(await ledger.findNotification(key), null);
        await Promise.all(Array.from({ length: PARALLEL }, (_, i) => ledger.recordNotification({ key, ticketId: ticket.id, target: 'pd', kind: 'pagerduty', ref: `ref-${i}` })));
        await ledger.recordNotification({ key, ticketId: ticket.id, target: 'pd', kind: 'pagerduty', ref: 'later' });
        const found = await ledger.findNotification(key);
        assert.ok(found);
        assert.equal(found.ticketId, ticket.id);
        assert.equal(found.kind, 'pagerduty');
        assert.match(found.ref ?? '', /^ref-\d+$/);
        assert.equal(found.resolved, null);
        assert.ok(!Number.isNaN(Date.parse(found.created)));
        assert.equal((await ledger.ticketNotifications(ticket.id)).length, 1);
      });

      test("a ticket's notifications come oldest first, a page is resolved once, and one without a ticket is kept too", async () => {
        const ticket = await openTicket();
        const first = nextKey('message');
        const second = nextKey('message');
        await ledger.recordNotification({ key: first, ticketId: ticket.id, target: 'slack', kind: 'slack', ref: '1700000000.000001' });
        await ledger.recordNotification({ key: second, ticketId: ticket.id, target: 'slack', kind: 'slack', ref: '1700000000.000002' });
        const page = nextKey('page');
        await ledger.recordNotification({ key: page, ticketId: ticket.id, target: 'og', kind: 'opsgenie', ref: `mailgate-ticket-${ticket.id}` });
        assert.deepEqual((await ledger.ticketNotifications(ticket.id)).map((n) => n.key), [first, second, page]);
        const at = new Date().toISOString();
        assert.equal(await ledger.markNotificationResolved(page, at), true);
        assert.equal(await ledger.markNotificationResolved(page, at), false);
        assert.equal((await ledger.findNotification(page))?.resolved, at);
        assert.equal(await ledger.markNotificationResolved(nextKey('unknown'), at), false);
        const parked = nextKey('parked');
        await ledger.recordNotification({ key: parked, ticketId: null, target: 'ops', kind: 'slack-webhook', ref: null });
        assert.deepEqual({ ...(await ledger.findNotification(parked)), created: undefined }, { key: parked, ticketId: null, target: 'ops', kind: 'slack-webhook', ref: null, created: undefined, resolved: null });
        assert.deepEqual(await ledger.ticketNotifications((await openTicket()).id), []);
      });
    });

    describe('subject index', () => {
      const QUEUE = 'support@mailgate.example';
      const T0 = Date.parse('2024-03-01T10:00:00.000Z');
      const lookup = (subjectKey: string, since: number, queue = QUEUE) => ledger.findTicketsBySubject({ subjectKey, queue, since: iso(since), limit: 10 });

      test('a ticket is found by its subject key in its queue while its latest message is in the window, and not after', async () => {
        const ticket = await openTicket();
        const key = nextKey('subject');
        await ledger.indexSubject({ ticketId: ticket.id, subjectKey: key, at: iso(T0) });
        await ledger.indexSubject({ ticketId: ticket.id, subjectKey: key, at: iso(T0) });
        assert.deepEqual(await lookup(key, T0 - DAY_MS), [{ ticketId: ticket.id, ticketNumber: ticket.number, lastAt: iso(T0) }]);
        assert.deepEqual(await lookup(key, T0 + 1), []);
        assert.deepEqual(await lookup(key, T0 - DAY_MS, 'billing@mailgate.example'), []);
        assert.deepEqual(await lookup(`${key}-other`, T0 - DAY_MS), []);
      });

      test('a later message under any subject dates every subject of the ticket to it; an earlier one changes nothing', async () => {
        const ticket = await openTicket();
        const first = nextKey('subject');
        await ledger.indexSubject({ ticketId: ticket.id, subjectKey: first, at: iso(T0) });
        await ledger.indexSubject({ ticketId: ticket.id, subjectKey: nextKey('subject'), at: iso(T0 + 5 * DAY_MS) });
        await ledger.indexSubject({ ticketId: ticket.id, subjectKey: first, at: iso(T0 + DAY_MS) });
        assert.deepEqual((await lookup(first, T0 + 4 * DAY_MS)).map((c) => c.lastAt), [iso(T0 + 5 * DAY_MS)]);
      });

      test('two tickets with one subject key are both returned, newest first, so the caller sees the ambiguity', async () => {
        const older = await openTicket();
        const newer = await openTicket();
        const key = nextKey('subject');
        await ledger.indexSubject({ ticketId: older.id, subjectKey: key, at: iso(T0) });
        await ledger.indexSubject({ ticketId: newer.id, subjectKey: key, at: iso(T0 + HOUR_MS) });
        assert.deepEqual((await lookup(key, T0 - DAY_MS)).map((c) => c.ticketId), [newer.id, older.id]);
      });
    });

    describe('email records', () => {
      test('a recorded email reads back as recorded, with when it was created and last updated', async () => {
        const ticket = await openTicket();
        const record = emailRecord({ ticketId: ticket.id });
        const before = Date.now();
        await ledger.recordEmail(record);
        const stored = await ledger.getEmail(record.workflowId);
        assert.ok(stored);
        const { created, updated, ...rest } = stored;
        assert.deepEqual(rest, record);
        assert.ok(Date.parse(created) >= before - 5_000 && Date.parse(created) <= Date.now() + 5_000, `created ${created}`);
        assert.equal(updated, created);
      });

      test('an email that failed before it was classified is recorded with no class', async () => {
        const record = emailRecord({ emailClass: null, outcome: 'failed', reason: 'parked at parsing for 7 days without an operator decision (park timeout): failed', ticketId: null });
        await ledger.recordEmail(record);
        const stored = await ledger.getEmail(record.workflowId);
        assert.equal(stored?.emailClass, null);
        assert.equal(stored?.outcome, 'failed');
        assert.equal(stored?.reason, record.reason);
      });

      test('recording the same workflow again replaces the outcome: the latest wins, created stays', async () => {
        const first = emailRecord({ outcome: 'failed', reason: 'the helpdesk refused the ticket', ticketId: null });
        await ledger.recordEmail(first);
        const created = (await ledger.getEmail(first.workflowId))?.created;
        await new Promise((resolve) => setTimeout(resolve, 5));
        const ticket = await openTicket();
        const latest: EmailRecord = { ...first, outcome: 'ticket_created', reason: null, ticketId: ticket.id, evidence: ['operator:retry'] };
        await ledger.recordEmail(latest);
        const stored = await ledger.getEmail(first.workflowId);
        assert.ok(stored);
        const { created: createdAfter, updated, ...rest } = stored;
        assert.deepEqual(rest, latest);
        assert.equal(createdAfter, created);
        assert.ok(Date.parse(updated) > Date.parse(createdAfter), `updated ${updated} moved on from ${createdAfter}`);
      });

      test('a suppressed email without Message-ID, sender or ticket is recorded too', async () => {
        const record = emailRecord({ messageId: null, sender: null, emailClass: 'bounce', outcome: 'suppressed', reason: 'a bounce that refers to no known ticket' });
        await ledger.recordEmail(record);
        const stored = await ledger.getEmail(record.workflowId);
        assert.deepEqual({ ...stored, created: undefined, updated: undefined }, { ...record, created: undefined, updated: undefined });
      });

      test('concurrent records of one workflow leave one record holding one of them', async () => {
        const workflowId = `inbound-email/${nextKey('wf')}`;
        const outcomes = ['ticket_created', 'comment_added', 'note_added', 'suppressed', 'rejected', 'failed'] as const;
        await Promise.all(outcomes.map((outcome) => ledger.recordEmail(emailRecord({ workflowId, outcome }))));
        const stored = await ledger.getEmail(workflowId);
        assert.ok(stored && outcomes.includes(stored.outcome), `outcome ${stored?.outcome}`);
      });

      test('an email never recorded reads as null', async () => {
        assert.equal(await ledger.getEmail(`inbound-email/${nextKey('never')}`), null);
      });
    });

    describe('helpdesk deliveries', () => {
      const key = () => ({ connector: 'zendesk-main', ticketId: nextKey('ticket'), messageId: null });
      const claim = (k: ReturnType<typeof key>, owner: string, at = Date.now(), leaseMs = 60_000) => ({ ...k, owner, at: iso(at), leaseUntil: iso(at + leaseMs) });

      test('the first claim of a delivery holds it; another owner is busy while the lease runs, the holder may claim again', async () => {
        const k = key();
        assert.deepEqual(await ledger.claimDelivery(claim(k, 'a')), { state: 'claimed', resumed: false, externalId: null });
        assert.deepEqual(await ledger.claimDelivery(claim(k, 'b')), { state: 'busy' });
        assert.deepEqual(await ledger.claimDelivery(claim(k, 'a')), { state: 'claimed', resumed: true, externalId: null });
        assert.equal(await ledger.deliveredId(k), null);
      });

      test('a claim whose lease ran out (its worker was killed mid-call) is taken over as resumed', async () => {
        const k = key();
        await ledger.claimDelivery(claim(k, 'killed', Date.now() - 120_000));
        assert.deepEqual(await ledger.claimDelivery(claim(k, 'next')), { state: 'claimed', resumed: true, externalId: null });
      });

      test('a completed delivery is done for everyone, keeps its first external id, and is told apart per comment and connector', async () => {
        const k = key();
        await ledger.claimDelivery(claim(k, 'a'));
        await ledger.completeDelivery({ ...k, externalId: '101', at: iso(Date.now()) });
        await ledger.completeDelivery({ ...k, externalId: '999', at: iso(Date.now()) });
        assert.deepEqual(await ledger.claimDelivery(claim(k, 'b')), { state: 'done', externalId: '101' });
        assert.equal(await ledger.deliveredId(k), '101');
        assert.equal(await ledger.deliveredId({ ...k, messageId: 'reply@customer.example' }), null);
        assert.equal(await ledger.deliveredId({ ...k, connector: 'freshdesk' }), null);
        await ledger.completeDelivery({ ...k, messageId: 'reply@customer.example', externalId: 'c-1', at: iso(Date.now()) });
        assert.equal(await ledger.deliveredId({ ...k, messageId: 'reply@customer.example' }), 'c-1');
      });

      test(`${PARALLEL} concurrent first claims of one delivery: exactly one holds it`, async () => {
        const k = key();
        const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => ledger.claimDelivery(claim(k, `owner-${i}`))));
        assert.equal(results.filter((r) => r.state === 'claimed').length, 1);
        assert.equal(results.filter((r) => r.state === 'busy').length, PARALLEL - 1);
      });
    });

    describe('poll cursors', () => {
      test('a mailbox without a cursor reads as null; an advanced one reads back as stored', async () => {
        const account = nextKey('imap');
        assert.equal(await ledger.mailboxCursor(account, 'INBOX'), null);
        const stored = await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '1700000000', lastUid: 42 });
        assert.deepEqual(stored, { account, mailbox: 'INBOX', uidValidity: '1700000000', lastUid: 42 });
        assert.deepEqual(await ledger.mailboxCursor(account, 'INBOX'), stored);
        assert.equal(await ledger.mailboxCursor(account, 'Archive'), null, 'each mailbox of an account has its own cursor');
      });

      test('under the same UIDVALIDITY the last UID never goes back (a late retry of an older batch)', async () => {
        const account = nextKey('imap');
        await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: 100 });
        const after = await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: 60 });
        assert.equal(after.lastUid, 100);
        assert.equal((await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: 4294967295 })).lastUid, 4294967295, 'the largest UID fits');
      });

      test('a new UIDVALIDITY replaces the cursor, even with a lower UID', async () => {
        const account = nextKey('imap');
        await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: 100 });
        const reset = await ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '8', lastUid: 3 });
        assert.deepEqual(reset, { account, mailbox: 'INBOX', uidValidity: '8', lastUid: 3 });
      });

      test('a UID outside 0 to 2^32-1 or a UIDVALIDITY that is not a number is refused', async () => {
        const account = nextKey('imap');
        await assert.rejects(ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: -1 }), RangeError);
        await assert.rejects(ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '7', lastUid: 2 ** 32 }), RangeError);
        await assert.rejects(ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: 'x', lastUid: 1 }), RangeError);
        assert.equal(await ledger.mailboxCursor(account, 'INBOX'), null);
      });

      test('concurrent advances of one mailbox leave the highest UID', async () => {
        const account = nextKey('imap');
        const uids = Array.from({ length: PARALLEL }, (_, i) => (i * 37) % PARALLEL + 1);
        await Promise.all(uids.map((lastUid) => ledger.advanceMailboxCursor({ account, mailbox: 'INBOX', uidValidity: '9', lastUid })));
        assert.equal((await ledger.mailboxCursor(account, 'INBOX'))?.lastUid, Math.max(...uids));
      });

      test('a since-cursor reads as null until saved, then as the latest saved', async () => {
        const source = nextKey('events');
        assert.equal(await ledger.sinceCursor(source), null);
        await ledger.saveSinceCursor({ source, since: '1700000000.123' });
        await ledger.saveSinceCursor({ source, since: '1700000100.5' });
        assert.deepEqual(await ledger.sinceCursor(source), { source, since: '1700000100.5' });
      });
    });

    test('ping answers while the ledger is reachable', async () => {
      await ledger.ping();
    });
  });
}
