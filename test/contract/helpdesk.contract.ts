/**
 * The Helpdesk contract (src/ports/helpdesk.ts): what every helpdesk implementation must do, written
 * against the port only, so the built-in store and each vendor connector (tested against a loopback
 * stand-in) run the same suite. Register it from a `*.test.ts` file:
 *
 *   helpdeskContract('SQLite built-in store', async () => ({ helpdesk, inspect, cleanup }));
 *
 * The port cannot read comments back (Mailgate never needs to), so the harness supplies an
 * inspector that reads what the helpdesk stored from the system behind it: the built-in store's own
 * reads, or a stand-in's state. Every test uses keys of its own, so one helpdesk serves the suite.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttachmentRecord, Helpdesk, HelpdeskTicket, NewComment, NewTicket } from '../../src/ports/helpdesk';
import { assertPermanentFailure } from './permanent';

export interface InspectedComment {
  messageId: string;
  text: string;
  internal: boolean;
  /** In the order they were given. */
  attachments: AttachmentRecord[];
}

export interface HelpdeskInspector {
  /** The ticket's comments, oldest first. */
  comments(ticketId: string): Promise<InspectedComment[]>;
  /** Every queue the ticket serves: its own and those noted with noteQueue, in any order. */
  queues(ticketId: string): Promise<string[]>;
  /**
   * Whether the vendor's own ticket shows agents that it serves `queue` (a tag, a label, a group, a
   * note), read from the stand-in. Absent for the built-in store, whose record is what agents see.
   */
  showsQueue?(ticketId: string, queue: string): Promise<boolean>;
}

export interface HelpdeskUnderTest {
  helpdesk: Helpdesk;
  inspect: HelpdeskInspector;
  /** Closes connections and removes what the suite stored. */
  cleanup(): Promise<void>;
}

/** How many callers the concurrency tests start at once: more than a small connection pool holds. */
const PARALLEL = 12;

/** An id no implementation gives a ticket. */
const NO_SUCH_TICKET = 'no-such-ticket';

const run = `${process.pid}.${Date.now().toString(36)}`;
let sequence = 0;

function nextKey(prefix: string): string {
  sequence += 1;
  return `${prefix}-${run}-${sequence}`;
}

export function newComment(overrides: Partial<NewComment> = {}): NewComment {
  const messageId = `${nextKey('msg')}@customer.example`;
  return { messageId, author: 'alice@customer.example', text: `Text of ${messageId}`, html: null, attachments: [], ...overrides };
}

export function newTicket(overrides: Partial<NewTicket> = {}): NewTicket {
  const originKey = nextKey('origin');
  return {
    originKey,
    subject: `The printer is on fire (${originKey})`,
    requester: 'alice@customer.example',
    queue: 'support@mailgate.example',
    comment: newComment(),
    ...overrides,
  };
}

export const cleanReport: AttachmentRecord = {
  filename: 'report.pdf',
  contentType: 'application/pdf',
  size: 48_213,
  sha256: 'c'.repeat(64),
  storageKey: 'attachments/contract/report.pdf',
  scanStatus: 'clean',
  scanDetail: null,
  contentId: null,
  inline: false,
};

export const infectedInvoice: AttachmentRecord = {
  filename: 'invoice.zip',
  contentType: 'application/zip',
  size: 184,
  sha256: 'e'.repeat(64),
  storageKey: null,
  scanStatus: 'infected',
  scanDetail: 'Win.Test.EICAR_HDB-1',
  contentId: null,
  inline: false,
};

const inlineLogo: AttachmentRecord = {
  filename: 'logo.png',
  contentType: 'image/png',
  size: 2_048,
  sha256: 'f'.repeat(64),
  storageKey: 'attachments/contract/logo.png',
  scanStatus: 'clean',
  scanDetail: null,
  contentId: 'logo@customer.example',
  inline: true,
};

function sameTicket(actual: HelpdeskTicket | null, expected: HelpdeskTicket, what: string): void {
  assert.ok(actual, `${what}: no ticket`);
  const pick = (t: HelpdeskTicket): HelpdeskTicket => ({
    id: t.id,
    number: t.number,
    subject: t.subject,
    requester: t.requester,
    queue: t.queue,
    status: t.status,
    priority: t.priority,
    tags: [...t.tags].sort(),
    linkedTicketId: t.linkedTicketId,
  });
  assert.deepEqual(pick(actual), pick(expected), what);
}

export function helpdeskContract(name: string, makeHelpdesk: () => Promise<HelpdeskUnderTest>): void {
  describe(`Helpdesk contract: ${name}`, () => {
    let under: HelpdeskUnderTest;
    let helpdesk: Helpdesk;
    let inspect: HelpdeskInspector;

    before(async () => {
      under = await makeHelpdesk();
      ({ helpdesk, inspect } = under);
    });

    after(async () => {
      await under?.cleanup();
    });

    describe('createTicket', () => {
      test('a new ticket carries the given subject, requester and queue, is open and reports created', async () => {
        const input = newTicket();
        const { ticket, created } = await helpdesk.createTicket(input);
        assert.equal(created, true);
        assert.ok(typeof ticket.id === 'string' && ticket.id !== '', 'a ticket has an id');
        assert.ok(Number.isInteger(ticket.number) && ticket.number > 0, `ticket number ${ticket.number} is a positive integer`);
        assert.equal(ticket.subject, input.subject);
        assert.equal(ticket.requester, input.requester);
        assert.equal(ticket.queue, input.queue);
        assert.equal(ticket.status, 'open');
      });

      test('without a priority, tags or a link a ticket has priority normal, no tags and no link', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        assert.equal(ticket.priority, 'normal');
        assert.deepEqual(ticket.tags, []);
        assert.equal(ticket.linkedTicketId, null);
      });

      test('the given priority is kept', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket({ priority: 'urgent' }));
        assert.equal(ticket.priority, 'urgent');
        assert.equal((await helpdesk.getTicket(ticket.id))?.priority, 'urgent');
      });

      test('tags are stored lower-cased and each once', async () => {
        const { ticket } = await helpdesk.createTicket(
          newTicket({ tags: ['Priority:Keyword:Outage', 'routing:VIP', 'priority:keyword:outage', 'ROUTING:vip'] }),
        );
        assert.deepEqual([...ticket.tags].sort(), ['priority:keyword:outage', 'routing:vip']);
        assert.deepEqual([...((await helpdesk.getTicket(ticket.id))?.tags ?? [])].sort(), ['priority:keyword:outage', 'routing:vip']);
      });

      test('a follow-up of a closed ticket names the ticket it follows', async () => {
        const { ticket: closed } = await helpdesk.createTicket(newTicket());
        await helpdesk.setStatus(closed.id, 'closed');
        const { ticket: followUp } = await helpdesk.createTicket(newTicket({ linkedTicketId: closed.id }));
        assert.equal(followUp.linkedTicketId, closed.id);
        assert.equal((await helpdesk.getTicket(followUp.id))?.linkedTicketId, closed.id);
      });

      test('a link to a ticket that does not exist fails permanently and opens no ticket', async () => {
        const input = newTicket({ linkedTicketId: NO_SUCH_TICKET });
        await assertPermanentFailure(helpdesk.createTicket(input), 'createTicket linked to an unknown ticket');
        assert.equal(await helpdesk.findByExternalRef(input.originKey), null);
      });

      test('the first message becomes the ticket\'s first comment, public, with its attachments', async () => {
        const input = newTicket({ comment: newComment({ attachments: [cleanReport, infectedInvoice] }) });
        const { ticket } = await helpdesk.createTicket(input);
        const comments = await inspect.comments(ticket.id);
        assert.equal(comments.length, 1);
        assert.deepEqual(comments[0], {
          messageId: input.comment.messageId,
          text: input.comment.text,
          internal: false,
          attachments: [cleanReport, infectedInvoice],
        });
      });

      test('creating again with the same origin key returns the first ticket with created false and stores nothing more', async () => {
        const input = newTicket();
        const first = await helpdesk.createTicket(input);
        const again = await helpdesk.createTicket(input);
        const changed = await helpdesk.createTicket({ ...input, subject: 'Another subject', comment: newComment() });
        assert.equal(again.created, false);
        assert.equal(changed.created, false);
        sameTicket(again.ticket, first.ticket, 'the repeat');
        sameTicket(changed.ticket, first.ticket, 'a repeat with other fields');
        assert.deepEqual(
          (await inspect.comments(first.ticket.id)).map((c) => c.messageId),
          [input.comment.messageId],
        );
      });

      test(`${PARALLEL} concurrent creates with one origin key open one ticket, and exactly one reports created`, async () => {
        const input = newTicket();
        const results = await Promise.all(Array.from({ length: PARALLEL }, () => helpdesk.createTicket(input)));
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(new Set(results.map((r) => r.ticket.id)).size, 1);
        assert.equal(new Set(results.map((r) => r.ticket.number)).size, 1);
        assert.equal((await helpdesk.findByExternalRef(input.originKey))?.id, results[0]?.ticket.id);
        assert.equal((await inspect.comments(results[0]?.ticket.id ?? '')).length, 1);
      });

      test('tickets of different origin keys are different tickets with different numbers', async () => {
        const a = await helpdesk.createTicket(newTicket());
        const b = await helpdesk.createTicket(newTicket());
        assert.notEqual(a.ticket.id, b.ticket.id);
        assert.notEqual(a.ticket.number, b.ticket.number);
      });
    });

    describe('reading tickets', () => {
      test('findByExternalRef finds the ticket created for an origin key, and null for an unknown key', async () => {
        const input = newTicket({ priority: 'high', tags: ['a'] });
        const { ticket } = await helpdesk.createTicket(input);
        sameTicket(await helpdesk.findByExternalRef(input.originKey), ticket, 'findByExternalRef');
        assert.equal(await helpdesk.findByExternalRef(nextKey('unknown-origin')), null);
      });

      test('getTicket and getTicketByNumber return the ticket as created', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket({ priority: 'low', tags: ['x', 'y'] }));
        sameTicket(await helpdesk.getTicket(ticket.id), ticket, 'getTicket');
        sameTicket(await helpdesk.getTicketByNumber(ticket.number), ticket, 'getTicketByNumber');
      });

      test('getTicket of an unknown id and getTicketByNumber of a number no ticket has return null', async () => {
        assert.equal(await helpdesk.getTicket(NO_SUCH_TICKET), null);
        assert.equal(await helpdesk.getTicketByNumber(2_147_483_647), null);
        assert.equal(await helpdesk.getTicketByNumber(0), null);
      });
    });

    describe('addComment', () => {
      test('a public reply is added once per Message-ID: a repeat returns the same comment with created false', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const reply = newComment({ author: 'bob@customer.example' });
        const first = await helpdesk.addComment(ticket.id, reply);
        const again = await helpdesk.addComment(ticket.id, reply);
        assert.equal(first.created, true);
        assert.ok(typeof first.comment.id === 'string' && first.comment.id !== '');
        assert.equal(again.created, false);
        assert.equal(again.comment.id, first.comment.id);
        const comments = await inspect.comments(ticket.id);
        assert.equal(comments.length, 2);
        assert.deepEqual(comments[1], { messageId: reply.messageId, text: reply.text, internal: false, attachments: [] });
      });

      test('an internal note is stored as internal and a public reply as public', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const note = newComment({ author: 'mailgate', internal: true, text: 'Attachment "invoice.zip" was quarantined.' });
        const reply = newComment({ internal: false });
        await helpdesk.addComment(ticket.id, note);
        await helpdesk.addComment(ticket.id, reply);
        const byId = new Map((await inspect.comments(ticket.id)).map((c) => [c.messageId, c]));
        assert.equal(byId.get(note.messageId)?.internal, true);
        assert.equal(byId.get(reply.messageId)?.internal, false);
      });

      test('the message that opened a ticket is already its comment: adding it again reports created false', async () => {
        const input = newTicket();
        const { ticket } = await helpdesk.createTicket(input);
        const again = await helpdesk.addComment(ticket.id, input.comment);
        assert.equal(again.created, false);
        assert.equal((await inspect.comments(ticket.id)).length, 1);
      });

      test('one Message-ID may be a comment on two tickets, once on each', async () => {
        const { ticket: a } = await helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example' }));
        const { ticket: b } = await helpdesk.createTicket(newTicket({ queue: 'billing@mailgate.example' }));
        const shared = newComment();
        assert.equal((await helpdesk.addComment(a.id, shared)).created, true);
        assert.equal((await helpdesk.addComment(b.id, shared)).created, true);
        assert.equal((await helpdesk.addComment(b.id, shared)).created, false);
        assert.equal((await inspect.comments(a.id)).filter((c) => c.messageId === shared.messageId).length, 1);
        assert.equal((await inspect.comments(b.id)).filter((c) => c.messageId === shared.messageId).length, 1);
      });

      test(`${PARALLEL} concurrent adds of one Message-ID store one comment, and exactly one reports created`, async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const reply = newComment({ attachments: [cleanReport] });
        const results = await Promise.all(Array.from({ length: PARALLEL }, () => helpdesk.addComment(ticket.id, reply)));
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(new Set(results.map((r) => r.comment.id)).size, 1);
        const stored = (await inspect.comments(ticket.id)).filter((c) => c.messageId === reply.messageId);
        assert.equal(stored.length, 1);
        assert.deepEqual(stored[0]?.attachments, [cleanReport]);
      });

      test('concurrent adds of different Message-IDs to one ticket are all kept', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const replies = Array.from({ length: PARALLEL }, () => newComment());
        const results = await Promise.all(replies.map((r) => helpdesk.addComment(ticket.id, r)));
        assert.ok(results.every((r) => r.created));
        const stored = new Set((await inspect.comments(ticket.id)).map((c) => c.messageId));
        for (const reply of replies) assert.ok(stored.has(reply.messageId), `${reply.messageId} was kept`);
      });

      test('attachments travel with their comment: a clean file with its storage key, an infected one without', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const reply = newComment({ attachments: [infectedInvoice, cleanReport, inlineLogo] });
        await helpdesk.addComment(ticket.id, reply);
        const stored = (await inspect.comments(ticket.id)).find((c) => c.messageId === reply.messageId);
        assert.deepEqual(stored?.attachments, [infectedInvoice, cleanReport, inlineLogo]);
        const [infected, clean] = stored?.attachments ?? [];
        assert.equal(infected?.storageKey, null);
        assert.equal(infected?.scanDetail, 'Win.Test.EICAR_HDB-1');
        assert.equal(clean?.storageKey, cleanReport.storageKey);
      });

      test('a comment on a ticket that does not exist fails permanently', async () => {
        await assertPermanentFailure(helpdesk.addComment(NO_SUCH_TICKET, newComment()), 'addComment on an unknown ticket');
      });
      test('attachmentNames lists every file on the ticket with its comment\'s Message-ID, oldest first; none for an unknown ticket', async () => {
        const first = newComment({ attachments: [cleanReport] });
        const { ticket } = await helpdesk.createTicket(newTicket({ comment: first }));
        const reply = newComment({ attachments: [infectedInvoice, { ...cleanReport, filename: 'report (2).pdf' }] });
        await helpdesk.addComment(ticket.id, reply);
        await helpdesk.addComment(ticket.id, newComment());
        assert.deepEqual(await helpdesk.attachmentNames(ticket.id), [
          { messageId: first.messageId, filename: 'report.pdf' },
          { messageId: reply.messageId, filename: 'invoice.zip' },
          { messageId: reply.messageId, filename: 'report (2).pdf' },
        ]);
        assert.deepEqual(await helpdesk.attachmentNames(NO_SUCH_TICKET), []);
      });
    });

    describe('status, queues and reachability', () => {
      test('setStatus closes and reopens a ticket and returns it as it now is', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        const closed = await helpdesk.setStatus(ticket.id, 'closed');
        assert.equal(closed.id, ticket.id);
        assert.equal(closed.status, 'closed');
        assert.equal((await helpdesk.getTicket(ticket.id))?.status, 'closed');
        const reopened = await helpdesk.setStatus(ticket.id, 'open');
        assert.equal(reopened.status, 'open');
        assert.equal((await helpdesk.getTicket(ticket.id))?.status, 'open');
      });

      test('setting the status a ticket already has changes nothing and is no error', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket());
        await helpdesk.setStatus(ticket.id, 'closed');
        sameTicket(await helpdesk.setStatus(ticket.id, 'closed'), { ...ticket, status: 'closed' }, 'closing a closed ticket');
      });

      test('setStatus on a ticket that does not exist fails permanently', async () => {
        await assertPermanentFailure(helpdesk.setStatus(NO_SUCH_TICKET, 'open'), 'setStatus on an unknown ticket');
      });

      test('noteQueue records another queue once however often it is noted, and leaves the ticket\'s own queue', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example' }));
        await helpdesk.noteQueue(ticket.id, 'billing@mailgate.example');
        await helpdesk.noteQueue(ticket.id, 'billing@mailgate.example');
        await Promise.all(Array.from({ length: PARALLEL }, () => helpdesk.noteQueue(ticket.id, 'sales@mailgate.example')));
        await helpdesk.noteQueue(ticket.id, 'support@mailgate.example');
        assert.deepEqual(
          [...(await inspect.queues(ticket.id))].sort(),
          ['billing@mailgate.example', 'sales@mailgate.example', 'support@mailgate.example'],
        );
        assert.equal((await helpdesk.getTicket(ticket.id))?.queue, 'support@mailgate.example');
      });

      test('noteQueue on a ticket that does not exist fails permanently', async () => {
        await assertPermanentFailure(helpdesk.noteQueue(NO_SUCH_TICKET, 'billing@mailgate.example'), 'noteQueue on an unknown ticket');
      });

      test('moveTicket puts the ticket in another queue, drops that queue from its extra ones, and moving again changes nothing', async () => {
        const { ticket } = await helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example' }));
        await helpdesk.noteQueue(ticket.id, 'billing@mailgate.example');
        const moved = await helpdesk.moveTicket(ticket.id, 'Billing@Mailgate.example');
        assert.equal(moved.queue, 'billing@mailgate.example');
        assert.equal(moved.id, ticket.id);
        assert.equal(moved.number, ticket.number);
        assert.equal((await helpdesk.getTicket(ticket.id))?.queue, 'billing@mailgate.example');
        assert.deepEqual([...(await inspect.queues(ticket.id))].sort(), ['billing@mailgate.example']);
        sameTicket(await helpdesk.moveTicket(ticket.id, 'billing@mailgate.example'), moved, 'moving a ticket to its own queue');
      });

      test('the vendor\'s own ticket shows agents a noted queue and the queue an operator moved it to', async (t) => {
        if (!inspect.showsQueue) return t.skip('the built-in store: its record is what agents see');
        const { ticket } = await helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example' }));
        await helpdesk.noteQueue(ticket.id, 'billing@mailgate.example');
        assert.equal(await inspect.showsQueue(ticket.id, 'billing@mailgate.example'), true, 'a noted queue shows');
        await helpdesk.moveTicket(ticket.id, 'sales@mailgate.example');
        assert.equal(await inspect.showsQueue(ticket.id, 'sales@mailgate.example'), true, 'the queue it was moved to shows');
        await helpdesk.moveTicket(ticket.id, 'sales@mailgate.example');
        assert.equal(await inspect.showsQueue(ticket.id, 'sales@mailgate.example'), true, 'moving again changes nothing');
      });

      test('moveTicket on a ticket that does not exist fails permanently', async () => {
        await assertPermanentFailure(helpdesk.moveTicket(NO_SUCH_TICKET, 'billing@mailgate.example'), 'moveTicket on an unknown ticket');
      });

      test('ping answers while the helpdesk is reachable', async () => {
        await helpdesk.ping();
      });
    });
  });
}
