/**
 * One behaviour suite for both ticket store backends: SQLite in a temporary folder and PostgreSQL in
 * a schema of its own (dropped afterwards), both real, no fakes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import {
  createPostgresTicketStore,
  createSqliteTicketStore,
  InvalidTicketInputError,
  InvalidTicketQueryError,
  openTicketStore,
  TicketNotFoundError,
  TicketStoreUnavailableError,
  type AttachmentRecord,
  type CreateTicketInput,
  type EmailRecord,
  type TicketStore,
} from '../../src/adapters/ticket-store';
import { MIGRATIONS } from '../../src/adapters/ticket-store/migrations';

interface Backend {
  name: string;
  /** Another store on this run's database, as a second process would open it. */
  open(): TicketStore;
  /** `instances` stores on new, empty, shared storage (not yet migrated). */
  openFresh(instances: number): TicketStore[];
  /** Versions recorded in schema_migrations of this run's database. */
  schemaVersions(): Promise<number[]>;
  /**
   * A store on new storage holding what version 1 of the store left behind: its schema, recorded as
   * applied, and one ticket (V1_TICKET) with a comment. Not migrated further.
   */
  openVersion1(upTo?: number): Promise<{ store: TicketStore; schemaVersions(): Promise<number[]> }>;
  cleanup(): Promise<void>;
}

const ALL_VERSIONS = MIGRATIONS.map((m) => m.version);

const V1_TICKET = { id: 't_v1', messageId: 'v1-first@example.com', at: '2024-05-01T10:00:00.000Z' };

/** Rows as version 1 wrote them; SQLite numbers tickets itself, PostgreSQL from its identity column. */
/** An undeliverable mark as version 2 wrote it: no expiry (it lasted forever). */
const V2_MARK = { address: 'bounced-before-v4@example.com', at: '2024-05-02T10:00:00.000Z' };

/** `upTo` > 1: the versions up to it applied too, and (from version 2) one undeliverable mark. */
function version1Seed(dialect: 'sqlite' | 'postgres', upTo = 1): string {
  const sqlite = dialect === 'sqlite';
  const { id, messageId, at } = V1_TICKET;
  const later = MIGRATIONS.slice(1, upTo)
    .map((m) => `${m[dialect]}\nINSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, 'v${m.version}', '${at}');`)
    .join('\n');
  const mark = upTo >= 2 ? `INSERT INTO undeliverable (address, reason, created) VALUES ('${V2_MARK.address}', '550 old', '${V2_MARK.at}');` : '';
  return `
CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at ${sqlite ? 'text' : 'timestamptz(3)'} NOT NULL);
${MIGRATIONS[0]?.[dialect] ?? assert.fail('no version 1')}
INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'v1', '${at}');
${later}
${mark}
INSERT INTO tickets (id, ${sqlite ? 'number, ' : ''}origin_key, subject, requester, queue, status, created, updated)
  VALUES ('${id}', ${sqlite ? '1, ' : ''}'v1-origin', 'From before the upgrade', 'old@example.com', 'support@mailgate.local',
    'pending', '${at}', '${at}');
INSERT INTO comments (id, ticket_id, message_id, author, text, html, internal, created)
  VALUES ('c_v1', '${id}', '${messageId}', 'old@example.com', 'Old text', NULL, ${sqlite ? '0' : 'false'}, '${at}');
INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
  VALUES ('${messageId}', '${id}', 'support@mailgate.local', 'inbound', '${at}');
INSERT INTO attachments (id, comment_id, position, filename, content_type, size, sha256, storage_key, scan_status, scan_detail, content_id, inline)
  VALUES ('a_v1', 'c_v1', 0, 'old.com', 'application/octet-stream', 7, '${'b'.repeat(64)}', NULL, 'infected', 'Old.Signature', NULL, ${sqlite ? '0' : 'false'});`;
}

const run = `${process.pid}_${Date.now().toString(36)}`;
let sequence = 0;

function next(prefix: string): string {
  sequence += 1;
  return `${prefix}-${run}-${sequence}`;
}

function inbound(overrides: Partial<CreateTicketInput> = {}): CreateTicketInput {
  const key = next('origin');
  return {
    originKey: key,
    subject: `Printer on fire ${key}`,
    requester: 'Alice@Example.COM',
    queue: 'Support@Mailgate.Local',
    comment: { messageId: `${key}@example.com`, author: 'Alice <alice@example.com>', text: 'It burns.', html: null, attachments: [] },
    ...overrides,
  };
}

const cleanPdf: AttachmentRecord = {
  filename: 'invoice.pdf',
  contentType: 'application/pdf',
  size: 12345,
  sha256: 'a'.repeat(64),
  storageKey: 'attachments/2025/invoice.pdf',
  scanStatus: 'clean',
  scanDetail: null,
  contentId: null,
  inline: false,
};

const infectedImage: AttachmentRecord = {
  filename: 'logo.png',
  contentType: 'image/png',
  size: 68,
  sha256: 'b'.repeat(64),
  storageKey: null,
  scanStatus: 'infected',
  scanDetail: 'Eicar-Signature',
  contentId: 'logo@example.com',
  inline: true,
};

function defineTicketStoreSuite(backend: Backend): void {
  describe(`${backend.name} ticket store`, () => {
    let store: TicketStore;
    const opened: TicketStore[] = [];
    const open = (): TicketStore => {
      const s = backend.open();
      opened.push(s);
      return s;
    };
    const openFresh = (instances = 1): TicketStore[] => {
      const stores = backend.openFresh(instances);
      opened.push(...stores);
      return stores;
    };

    before(async () => {
      store = open();
      await store.migrate();
    });

    after(async () => {
      for (const s of opened) await s.close();
      await backend.cleanup();
    });

    test('the first ticket in an empty store is number 1 and each new ticket takes the next number', async () => {
      const [fresh = assert.fail('no store')] = openFresh();
      await fresh.migrate();
      const first = inbound();
      const a = await fresh.createTicket(first);
      await fresh.createTicket(first);
      const b = await fresh.createTicket(inbound());
      const c = await fresh.createTicket(inbound());
      assert.deepEqual([a, b, c].map((r) => r.ticket.number), [1, 2, 3]);
    });

    test('creating a ticket again with the same origin key returns the first ticket and stores nothing more', async () => {
      const input = inbound();
      const first = await store.createTicket(input);
      const again = await store.createTicket({ ...input, subject: 'changed', comment: { ...input.comment, messageId: 'other@x' } });
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.deepEqual(again.ticket, first.ticket);
      assert.equal(first.ticket.subject, input.subject);
      assert.equal(first.ticket.status, 'open');
      assert.equal(first.ticket.created, first.ticket.updated);
      assert.match(first.ticket.created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const stored = await store.getTicket(first.ticket.id);
      assert.equal(stored?.comments.length, 1);
      assert.equal(stored?.comments[0]?.messageId, input.comment.messageId);
      assert.equal(await store.findThread(['other@x'], input.queue), null);
    });

    test('concurrent creates of one origin key from two store instances yield one ticket and use up one number', async () => {
      const other = open();
      const input = inbound({ queue: `${next('race')}@mailgate.local` });
      // Open the pools' connections first, so the creates really overlap instead of queueing on connect.
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).ping()));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).createTicket(input)));
      assert.equal(results.filter((r) => r.created).length, 1);
      assert.equal(new Set(results.map((r) => r.ticket.id)).size, 1);
      assert.equal(new Set(results.map((r) => r.ticket.number)).size, 1);
      const listed = await store.listTickets({ queue: input.queue });
      assert.equal(listed.tickets.length, 1);
      assert.equal((await store.getTicket(listed.tickets[0]?.id ?? ''))?.comments.length, 1);
      assert.equal((await store.createTicket(inbound())).ticket.number, (results[0]?.ticket.number ?? 0) + 1);
    });

    test('a comment is stored once per Message-ID, bumps the ticket and is findable for threading', async () => {
      const input = inbound();
      const { ticket } = await store.createTicket(input);
      const reply = { messageId: `${next('reply')}@example.com`, author: 'alice@example.com', text: 'Still burning', html: '<p>Still burning</p>', attachments: [cleanPdf] };
      const first = await store.addComment(ticket.id, reply);
      const again = await store.addComment(ticket.id, { ...reply, text: 'changed' });
      assert.equal(first.created, true);
      assert.equal(again.created, false);
      assert.deepEqual(again.comment, first.comment);
      assert.equal(first.comment.internal, false);
      const stored = await store.getTicket(ticket.id);
      assert.deepEqual(stored?.comments.map((c) => c.messageId), [input.comment.messageId, reply.messageId]);
      assert.equal(stored?.comments[1]?.attachments.length, 1);
      assert.equal(stored?.updated, first.comment.created);
      assert.deepEqual(await store.findThread([reply.messageId], ticket.queue), { ticketId: ticket.id, ticketNumber: ticket.number, messageId: reply.messageId });
    });

    test('a comment on a ticket that does not exist is refused', async () => {
      await assert.rejects(
        store.addComment('t_missing', { messageId: 'x@y', author: 'a', text: 't', html: null, attachments: [] }),
        TicketNotFoundError,
      );
    });

    test('findThread takes the first known Message-ID in the given order', async () => {
      const older = await store.createTicket(inbound());
      const newer = await store.createTicket(inbound());
      const olderId = `${next('older')}@example.com`;
      await store.indexMessageId({ messageId: olderId, ticketId: older.ticket.id, queue: older.ticket.queue, kind: 'acknowledgement' });
      await store.indexMessageId({ messageId: olderId, ticketId: older.ticket.id, queue: older.ticket.queue, kind: 'acknowledgement' });
      const newerId = (await store.getTicket(newer.ticket.id))?.comments[0]?.messageId ?? '';
      const match = await store.findThread(['unknown@nowhere', newerId, olderId], 'support@mailgate.local');
      assert.deepEqual(match, { ticketId: newer.ticket.id, ticketNumber: newer.ticket.number, messageId: newerId });
      assert.equal((await store.findThread([olderId, newerId], 'support@mailgate.local'))?.ticketId, older.ticket.id);
      assert.equal(await store.findThread([], 'support@mailgate.local'), null);
      assert.equal(await store.findThread(['unknown@nowhere'], 'support@mailgate.local'), null);
    });

    test('one Message-ID in tickets of several queues threads to the receiving queue, else to the oldest ticket', async () => {
      const messageId = `${next('crossposted')}@example.com`;
      const comment = { messageId, author: 'bob@example.com', text: 'hi', html: null, attachments: [] };
      const sales = await store.createTicket(inbound({ queue: 'sales@mailgate.local', comment }));
      const help = await store.createTicket(inbound({ queue: 'help@mailgate.local', comment }));
      assert.equal((await store.findThread([messageId], 'HELP@mailgate.local'))?.ticketId, help.ticket.id);
      assert.equal((await store.findThread([messageId], 'sales@mailgate.local'))?.ticketId, sales.ticket.id);
      const elsewhere = await store.findThread([messageId], 'billing@mailgate.local');
      assert.deepEqual(elsewhere, { ticketId: sales.ticket.id, ticketNumber: sales.ticket.number, messageId });
    });

    test('an acknowledgement is reserved once, keeps its first Message-ID and reports sent after marking', async () => {
      const { ticket } = await store.createTicket(inbound());
      const workflowId = next('workflow');
      const record = { workflowId, ticketId: ticket.id, messageId: `${workflowId}@mailgate.local`, recipient: 'Alice@Example.com' };
      assert.deepEqual(await store.reserveAcknowledgement(record), { state: 'reserved', messageId: record.messageId });
      assert.deepEqual(await store.reserveAcknowledgement({ ...record, messageId: 'second@x' }), { state: 'reserved', messageId: record.messageId });
      await store.markAcknowledgementSent(workflowId);
      await store.markAcknowledgementSent(workflowId);
      assert.deepEqual(await store.reserveAcknowledgement({ ...record, messageId: 'third@x' }), { state: 'sent', messageId: record.messageId });
      await assert.rejects(store.markAcknowledgementSent(next('never-reserved')), /no acknowledgement/);
    });

    test('listing filters by queue, requester and status regardless of address case', async () => {
      const queue = `${next('list')}@mailgate.local`;
      const alice = await store.createTicket(inbound({ queue: queue.toUpperCase(), requester: 'Alice@Example.com' }));
      const bob = await store.createTicket(inbound({ queue, requester: 'bob@example.com' }));
      await store.createTicket(inbound({ requester: 'bob@example.com' }));
      assert.equal(alice.ticket.queue, queue);
      assert.equal(alice.ticket.requester, 'alice@example.com');
      const inQueue = await store.listTickets({ queue });
      assert.deepEqual(inQueue.tickets.map((t) => t.id), [bob.ticket.id, alice.ticket.id]);
      assert.equal(inQueue.nextCursor, null);
      const aliceOnly = await store.listTickets({ queue, requester: 'ALICE@example.com' });
      assert.deepEqual(aliceOnly.tickets.map((t) => t.id), [alice.ticket.id]);
      assert.equal((await store.listTickets({ queue, status: 'open' })).tickets.length, 2);
      assert.equal((await store.listTickets({ queue, status: 'closed' })).tickets.length, 0);
    });

    test('paging through a listing returns every ticket once, newest first, 50 by default and at most 100', async () => {
      const queue = `${next('bulk')}@mailgate.local`;
      const created: number[] = [];
      for (let i = 0; i < 103; i++) created.push((await store.createTicket(inbound({ queue }))).ticket.number);
      const firstPage = await store.listTickets({ queue });
      assert.equal(firstPage.tickets.length, 50);
      assert.equal((await store.listTickets({ queue, limit: 1000 })).tickets.length, 100);

      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listTickets({ queue, limit: 7, cursor });
        seen.push(...page.tickets.map((t) => t.number));
        cursor = page.nextCursor ?? undefined;
        pages += 1;
      } while (cursor !== undefined);
      assert.equal(pages, 15);
      assert.deepEqual(seen, [...created].reverse());
    });

    test('a listing refuses a limit below 1, a fractional limit, an unknown status and a cursor it did not issue', async () => {
      await assert.rejects(store.listTickets({ limit: 0 }), InvalidTicketQueryError);
      await assert.rejects(store.listTickets({ limit: 2.5 }), InvalidTicketQueryError);
      await assert.rejects(store.listTickets({ status: 'archived' as 'open' }), /status must be one of/);
      await assert.rejects(store.listTickets({ cursor: 'not a cursor!' }), /cursor is not one returned/);
      await assert.rejects(store.listTickets({ cursor: Buffer.from('{"n":1}').toString('base64url') }), /cursor is not one returned/);
    });

    test('attachments round-trip with their scan results and can be fetched by id', async () => {
      const input = inbound();
      input.comment.attachments = [cleanPdf, infectedImage];
      input.comment.internal = true;
      const { ticket } = await store.createTicket(input);
      const stored = await store.getTicket(ticket.id);
      const attachments = stored?.comments[0]?.attachments ?? [];
      assert.deepEqual(attachments.map(({ id: _id, ...record }) => record), [cleanPdf, infectedImage]);
      assert.equal(stored?.comments[0]?.internal, true);
      for (const attachment of attachments) {
        assert.match(attachment.id, /^a_[0-9a-f]{32}$/);
        assert.deepEqual(await store.getAttachment(attachment.id), attachment);
      }
      assert.equal(await store.getAttachment('a_missing'), null);
      assert.deepEqual(await store.getTicketByNumber(ticket.number), stored);
      assert.equal(await store.getTicketByNumber(0), null);
      assert.equal(await store.getTicketByNumber(Number.NaN), null);
      assert.equal(await store.getTicket('t_missing'), null);
    });

    test('running the migrations again, or from two instances at once, changes nothing', async () => {
      const { ticket } = await store.createTicket(inbound());
      assert.deepEqual(await backend.schemaVersions(), ALL_VERSIONS);
      await store.migrate();
      await Promise.all([store.migrate(), open().migrate()]);
      assert.deepEqual(await backend.schemaVersions(), ALL_VERSIONS);
      assert.equal((await store.getTicket(ticket.id))?.id, ticket.id);
      const twoProcesses = openFresh(2);
      await Promise.all(twoProcesses.map((s) => s.migrate()));
      for (const s of twoProcesses) assert.equal((await s.listTickets({})).tickets.length, 0);
    });

    test('two store instances on one database see each other\'s writes', async () => {
      const other = open();
      const { ticket } = await store.createTicket(inbound());
      assert.equal((await other.getTicket(ticket.id))?.number, ticket.number);
      await other.addComment(ticket.id, { messageId: `${next('from-other')}@x`, author: 'agent', text: 'on it', html: null, attachments: [] });
      assert.equal((await store.getTicket(ticket.id))?.comments.length, 2);
    });

    test('a constraint violation passes through as an ordinary error, not as unavailability', async () => {
      const error = await store
        .indexMessageId({ messageId: 'orphan@x', ticketId: 't_missing', queue: 'support@mailgate.local', kind: 'outbound' })
        .then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof Error);
      assert.ok(!(error instanceof TicketStoreUnavailableError));
    });

    test('a version 1 database upgrades in place: its tickets read back with default priority, no tags and no links', async () => {
      const old = await backend.openVersion1();
      opened.push(old.store);
      await old.store.migrate();
      assert.deepEqual(await old.schemaVersions(), ALL_VERSIONS);
      const ticket = await old.store.getTicket(V1_TICKET.id);
      assert.ok(ticket);
      assert.deepEqual(
        { number: ticket.number, status: ticket.status, priority: ticket.priority, tags: ticket.tags, extraQueues: ticket.extraQueues },
        { number: 1, status: 'pending', priority: 'normal', tags: [], extraQueues: [] },
      );
      assert.equal(ticket.linkedTicketId, null);
      assert.equal(ticket.created, V1_TICKET.at);
      assert.deepEqual(ticket.comments.map((c) => c.messageId), [V1_TICKET.messageId]);
      assert.equal((await old.store.findThread([V1_TICKET.messageId], 'support@mailgate.local'))?.ticketId, V1_TICKET.id);
      assert.deepEqual((await old.store.listTickets({ status: 'pending' })).tickets.map((t) => t.tags), [[]]);
      // The new columns and tables work on the upgraded database, beside the old rows.
      const follow = await old.store.createTicket(inbound({ linkedTicketId: V1_TICKET.id, priority: 'high', tags: ['Upgraded'] }));
      assert.deepEqual([follow.ticket.number, follow.ticket.linkedTicketId, follow.ticket.tags], [2, V1_TICKET.id, ['upgraded']]);
      await old.store.noteQueue(V1_TICKET.id, 'sales@mailgate.local');
      assert.equal((await old.store.setStatus(V1_TICKET.id, 'open')).extraQueues[0], 'sales@mailgate.local');
      await old.store.migrate();
      assert.deepEqual(await old.schemaVersions(), ALL_VERSIONS);
    });

    test("version 4 keeps the attachments version 1 stored and accepts the scan status 'unscannable'", async () => {
      const old = await backend.openVersion1();
      opened.push(old.store);
      await old.store.migrate();
      const kept = (await old.store.getTicket(V1_TICKET.id))?.comments[0]?.attachments ?? [];
      assert.deepEqual(kept.map((a) => [a.id, a.filename, a.scanStatus, a.scanDetail]), [['a_v1', 'old.com', 'infected', 'Old.Signature']]);
      const unscannable: AttachmentRecord = { ...cleanPdf, filename: 'deep.zip', storageKey: null, scanStatus: 'unscannable', scanDetail: 'the virus scanner stopped at its MaxRecursion limit' };
      const { ticket } = await old.store.createTicket(inbound({ comment: { ...inbound().comment, attachments: [unscannable] } }));
      const stored = (await old.store.getTicket(ticket.id))?.comments[0]?.attachments[0];
      assert.deepEqual([stored?.scanStatus, stored?.storageKey, stored?.scanDetail], ['unscannable', null, unscannable.scanDetail]);
    });

    test('a version 3 database upgrades in place: an undeliverable mark that lasted forever now expires 30 days after it was made', async () => {
      const old = await backend.openVersion1(3);
      opened.push(old.store);
      await old.store.migrate();
      assert.deepEqual(await old.schemaVersions(), ALL_VERSIONS);
      const inForce = new Date(Date.parse(V2_MARK.at) + 29 * 86_400_000).toISOString();
      const expired = new Date(Date.parse(V2_MARK.at) + 30 * 86_400_000).toISOString();
      assert.deepEqual(await old.store.isUndeliverable(V2_MARK.address, inForce), { reason: '550 old', since: V2_MARK.at, expires: expired });
      assert.equal(await old.store.isUndeliverable(V2_MARK.address, expired), null);
      assert.equal(await old.store.isUndeliverable(V2_MARK.address, new Date().toISOString()), null, 'no mark lasts forever');
      // The new table works beside the old rows.
      await old.store.addParticipants({ ticketId: V1_TICKET.id, addresses: ['cc@example.com'] });
      assert.equal(await old.store.isParticipant(V1_TICKET.id, 'CC+x@example.com'), true);
      await old.store.migrate();
      assert.deepEqual(await old.schemaVersions(), ALL_VERSIONS);
    });

    test('a new ticket has priority normal, no tags, no extra queues and no link unless given', async () => {
      const { ticket } = await store.createTicket(inbound());
      assert.deepEqual(
        [ticket.priority, ticket.tags, ticket.extraQueues, ticket.linkedTicketId],
        ['normal', [], [], null],
      );
      const { comments: _comments, ...stored } = (await store.getTicket(ticket.id)) ?? assert.fail('not stored');
      assert.deepEqual(stored, ticket);
    });

    test('priority, tags and the linked ticket are stored; tags lower-cased, trimmed and unique in first-seen order', async () => {
      const queue = `${next('tagged')}@mailgate.local`;
      const closed = await store.createTicket(inbound({ queue }));
      const input = inbound({
        queue,
        priority: 'urgent',
        tags: [' Priority:Keyword:Outage ', 'vip', 'priority:keyword:outage', 'VIP', 'route:sales'],
        linkedTicketId: closed.ticket.id,
      });
      const { ticket } = await store.createTicket(input);
      assert.equal(ticket.priority, 'urgent');
      assert.deepEqual(ticket.tags, ['priority:keyword:outage', 'vip', 'route:sales']);
      assert.equal(ticket.linkedTicketId, closed.ticket.id);
      const { comments: _c, ...read } = (await store.getTicketByNumber(ticket.number)) ?? assert.fail('not stored');
      assert.deepEqual(read, ticket);
      assert.deepEqual((await store.listTickets({ queue })).tickets, [ticket, closed.ticket]);
      // A repeat of the same email keeps what the first create stored.
      assert.deepEqual((await store.createTicket({ ...input, priority: 'low', tags: ['other'] })).ticket, ticket);
    });

    test('tags beyond 50, tags over 100 characters, empty tags, unknown priorities and missing linked tickets are refused', async () => {
      const fifty = Array.from({ length: 50 }, (_, i) => `tag-${i}`);
      const atLimit = await store.createTicket(inbound({ tags: [...fifty.slice(1), 'TAG-1', ' tag-2 ', 'x'.repeat(100)] }));
      assert.equal(atLimit.ticket.tags.length, 50);
      const refused: [Partial<CreateTicketInput>, RegExp][] = [
        [{ tags: [...fifty, 'one-more'] }, /at most 50 tags/],
        [{ tags: ['y'.repeat(101)] }, /longer than 100 characters/],
        [{ tags: ['ok', '  '] }, /must not be empty/],
        [{ priority: 'critical' as 'high' }, /priority must be one of/],
        [{ linkedTicketId: 't_missing' }, /linked ticket t_missing does not exist/],
      ];
      for (const [overrides, message] of refused) {
        const input = inbound(overrides);
        await assert.rejects(store.createTicket(input), (e: unknown) => e instanceof InvalidTicketInputError && message.test(e.message));
        // Nothing was stored: the same email with valid values still creates its ticket.
        const valid = await store.createTicket({ ...input, tags: [], priority: 'normal', linkedTicketId: null });
        assert.equal(valid.created, true);
      }
    });

    test('setStatus closes and reopens a ticket, bumps updated only on a change and keeps the status filter working', async () => {
      const queue = `${next('status')}@mailgate.local`;
      const { ticket } = await store.createTicket(inbound({ queue, tags: ['keep'] }));
      await store.noteQueue(ticket.id, 'billing@mailgate.local');
      const closed = await store.setStatus(ticket.id, 'closed');
      assert.deepEqual({ ...closed, updated: ticket.updated }, { ...ticket, status: 'closed', extraQueues: ['billing@mailgate.local'] });
      assert.ok(closed.updated >= ticket.updated);
      assert.deepEqual(await store.setStatus(ticket.id, 'closed'), closed);
      assert.deepEqual((await store.listTickets({ queue, status: 'closed' })).tickets, [closed]);
      assert.equal((await store.listTickets({ queue, status: 'open' })).tickets.length, 0);
      const reopened = await store.setStatus(ticket.id, 'open');
      assert.equal(reopened.status, 'open');
      assert.ok(reopened.updated >= closed.updated);
      assert.deepEqual((await store.listTickets({ queue, status: 'open' })).tickets, [reopened]);
      await assert.rejects(store.setStatus('t_missing', 'closed'), TicketNotFoundError);
      await assert.rejects(store.setStatus(ticket.id, 'archived' as 'open'), InvalidTicketInputError);
    });

    test('noteQueue records further queues once each, lower-cased, and never the ticket\'s own queue', async () => {
      const { ticket } = await store.createTicket(inbound({ queue: 'Help@Mailgate.Local' }));
      const other = open();
      await Promise.all([
        store.noteQueue(ticket.id, 'Sales@Mailgate.Local'),
        other.noteQueue(ticket.id, 'sales@mailgate.local'),
        store.noteQueue(ticket.id, 'billing@mailgate.local'),
        other.noteQueue(ticket.id, 'HELP@mailgate.local'),
      ]);
      const stored = await store.getTicket(ticket.id);
      assert.deepEqual(stored?.extraQueues, ['billing@mailgate.local', 'sales@mailgate.local']);
      assert.deepEqual((await store.listTickets({ queue: 'help@mailgate.local', limit: 1 })).tickets[0]?.extraQueues, stored?.extraQueues);
      await assert.rejects(store.noteQueue('t_missing', 'sales@mailgate.local'), TicketNotFoundError);
    });

    test('isParticipant knows the requester, comment authors and acknowledgement recipients, ignoring case', async () => {
      const { ticket } = await store.createTicket(inbound({ requester: 'Alice@Example.com' }));
      await store.addComment(ticket.id, { messageId: `${next('cc')}@x`, author: 'Carol <Carol@Example.ORG>', text: 'me too', html: null, attachments: [] });
      await store.addComment(ticket.id, { messageId: `${next('dave')}@x`, author: 'DAVE@example.net', text: 'hi', html: null, attachments: [] });
      const workflowId = next('ack-workflow');
      await store.reserveAcknowledgement({ workflowId, ticketId: ticket.id, messageId: `${workflowId}@x`, recipient: 'Erin@Example.com' });
      for (const address of ['alice@example.com', ' ALICE@example.COM ', 'carol@example.org', 'dave@EXAMPLE.net', 'erin@example.com']) {
        assert.equal(await store.isParticipant(ticket.id, address), true, address);
      }
      assert.equal(await store.isParticipant(ticket.id, 'mallory@example.com'), false);
      assert.equal(await store.isParticipant(ticket.id, ''), false);
      assert.equal(await store.isParticipant('t_missing', 'alice@example.com'), false);
      const elsewhere = await store.createTicket(inbound({ requester: 'frank@example.com' }));
      assert.equal(await store.isParticipant(elsewhere.ticket.id, 'carol@example.org'), false);
    });

    const minute = (n: number): string => new Date(Date.UTC(2025, 2, 1, 12, n)).toISOString();

    test('countRateEvent counts each event once per key within the window; peekRateEvents counts without recording', async () => {
      const key = next('rate');
      const count = (eventId: string, at: string, windowStart = minute(0)): Promise<number> =>
        store.countRateEvent({ key, eventId, at, windowStart });
      assert.equal(await count('e1', minute(1)), 1);
      assert.equal(await count('e2', minute(2)), 2);
      assert.equal(await count('e1', minute(3)), 2);
      assert.equal(await count('e3', minute(3), minute(2)), 2);
      assert.equal(await store.countRateEvent({ key: `${key}-other`, eventId: 'e1', at: minute(1), windowStart: minute(0) }), 1);
      assert.equal(await store.peekRateEvents(key, minute(0)), 3);
      assert.equal(await store.peekRateEvents(key, minute(3)), 1);
      assert.equal(await store.peekRateEvents(key, minute(4)), 0);
      assert.equal(await store.peekRateEvents(next('never'), minute(0)), 0);
    });

    test('rate event times are normalized before comparing, and invalid times are refused', async () => {
      const key = next('rate-zones');
      // 14:00+02:00 is 12:00Z: inside a window starting then, outside one starting a millisecond later.
      assert.equal(await store.countRateEvent({ key, eventId: 'e1', at: '2025-03-01T14:00:00+02:00', windowStart: minute(0) }), 1);
      assert.equal(await store.peekRateEvents(key, '2025-03-01T12:00:00.001Z'), 0);
      assert.equal(await store.peekRateEvents(key, 'Sat, 01 Mar 2025 11:59:59 GMT'), 1);
      for (const bad of [{ at: 'yesterday' }, { windowStart: '' }, { at: '+020000-01-01T00:00:00.000Z' }]) {
        await assert.rejects(store.countRateEvent({ key, eventId: 'bad', at: minute(1), windowStart: minute(0), ...bad }), InvalidTicketInputError);
      }
      await assert.rejects(store.peekRateEvents(key, 'not a date'), InvalidTicketInputError);
      assert.equal(await store.peekRateEvents(key, minute(0)), 1);
    });

    test('concurrent rate events from two instances: distinct ids each count once in turn, one id counts once', async () => {
      const other = open();
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? store : other).ping()));
      const key = next('rate-race');
      const distinct = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).countRateEvent({ key, eventId: `e${i}`, at: minute(1), windowStart: minute(0) }),
        ),
      );
      // Each caller saw every event committed before its own, so a limit of n lets exactly n through.
      assert.deepEqual([...distinct].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal(await store.peekRateEvents(key, minute(0)), 20);

      const retried = `${key}-retried`;
      const same = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : other).countRateEvent({ key: retried, eventId: 'workflow-1', at: minute(1), windowStart: minute(0) }),
        ),
      );
      assert.deepEqual(same, Array(10).fill(1));
      assert.equal(await other.peekRateEvents(retried, minute(0)), 1);
    });

    test('an undeliverable address keeps its first reason and is found regardless of case', async () => {
      const address = `${next('bounced')}@Example.com`;
      const at = new Date().toISOString();
      const mark = (a: string, reason: string) => ({ address: a, reason, at, expires: new Date(Date.now() + 86_400_000).toISOString() });
      assert.equal(await store.isUndeliverable(address, at), null);
      await store.markUndeliverable(mark(address, '550 5.1.1 user unknown'));
      await Promise.all([store.markUndeliverable(mark(address.toUpperCase(), 'second')), open().markUndeliverable(mark(address, 'third'))]);
      const found = await store.isUndeliverable(address.toLowerCase(), at);
      assert.equal(found?.reason, '550 5.1.1 user unknown');
      assert.match(found?.since ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });

    test('a key is claimed once, also by concurrent claims from two instances, and old claims are forgotten', async () => {
      const key = next('signature');
      const now = new Date();
      const forget = new Date(now.getTime() - 600_000).toISOString();
      const claims = await Promise.all([store.claimOnce(key, now.toISOString(), forget), open().claimOnce(key, now.toISOString(), forget), store.claimOnce(key, now.toISOString(), forget)]);
      assert.deepEqual(claims.filter(Boolean).length, 1);
      assert.equal(await store.claimOnce(key, now.toISOString(), forget), false);
      await store.releaseClaim(key);
      assert.equal(await store.claimOnce(key, now.toISOString(), forget), true, 'a released claim can be claimed again');
      const later = new Date(now.getTime() + 3_600_000);
      assert.equal(await store.claimOnce(key, later.toISOString(), new Date(later.getTime() - 600_000).toISOString()), true, 'forgotten after the window');
    });

    test('recordEmail upserts by workflow id: the latest outcome wins, created stays, updated moves on', async () => {
      const { ticket } = await store.createTicket(inbound());
      const workflowId = next('email');
      const first: EmailRecord = {
        workflowId,
        messageId: `${workflowId}@example.com`,
        queue: 'Support@Mailgate.Local',
        sender: 'Alice@Example.com',
        subject: 'Printer',
        emailClass: 'human',
        evidence: ['no auto headers', 'thread:none'],
        outcome: 'failed',
        reason: 'ticket store unavailable',
        ticketId: null,
      };
      assert.equal(await store.getEmail(workflowId), null);
      await store.recordEmail(first);
      const stored = await store.getEmail(workflowId);
      assert.deepEqual(stored, { ...first, queue: 'support@mailgate.local', sender: 'alice@example.com', created: stored?.created, updated: stored?.created });
      assert.match(stored?.created ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

      const second: EmailRecord = { ...first, outcome: 'ticket_created', reason: null, ticketId: ticket.id, evidence: ['no auto headers'] };
      await store.recordEmail(second);
      const updated = await store.getEmail(workflowId);
      assert.deepEqual({ ...updated, updated: undefined }, { ...second, queue: 'support@mailgate.local', sender: 'alice@example.com', created: stored?.created, updated: undefined });
      assert.ok((updated?.updated ?? '') >= (stored?.updated ?? 'z'));

      const bounce: EmailRecord = { ...first, workflowId: next('email'), messageId: null, sender: null, emailClass: 'bounce', evidence: [], outcome: 'suppressed', reason: 'bounce' };
      await store.recordEmail(bounce);
      assert.deepEqual({ ...(await store.getEmail(bounce.workflowId)), created: 'x', updated: 'x' }, { ...bounce, queue: 'support@mailgate.local', created: 'x', updated: 'x' });
      await assert.rejects(store.recordEmail({ ...first, emailClass: 'spam' as 'human' }), InvalidTicketInputError);
      await assert.rejects(store.recordEmail({ ...first, outcome: 'lost' as 'failed' }), InvalidTicketInputError);
      assert.equal((await store.getEmail(workflowId))?.outcome, 'ticket_created');
    });
  });
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'mailgate-ticket-store-'));
const sqliteFile = join(sqliteDir, 'nested', 'tickets.sqlite');

function sqliteVersions(file: string): number[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare('SELECT version FROM schema_migrations ORDER BY version').all().map((r) => Number(r['version']));
  } finally {
    db.close();
  }
}

defineTicketStoreSuite({
  name: 'SQLite',
  open: () => createSqliteTicketStore(sqliteFile),
  openFresh: (instances) => {
    const file = join(sqliteDir, next('fresh'), 'tickets.sqlite');
    return Array.from({ length: instances }, () => createSqliteTicketStore(file));
  },
  schemaVersions: async () => sqliteVersions(sqliteFile),
  openVersion1: async (upTo = 1) => {
    const file = join(sqliteDir, next('v1'), 'tickets.sqlite');
    mkdirSync(dirname(file), { recursive: true });
    const db = new DatabaseSync(file);
    try {
      db.exec(version1Seed('sqlite', upTo));
    } finally {
      db.close();
    }
    return { store: createSqliteTicketStore(file), schemaVersions: async () => sqliteVersions(file) };
  },
  cleanup: async () => rmSync(sqliteDir, { recursive: true, force: true }),
});

const pgUrl = `postgres://${encodeURIComponent(process.env.PG_USER ?? 'mailgate')}:${encodeURIComponent(process.env.PG_PASSWORD ?? '')}@${process.env.PG_HOST ?? '127.0.0.1'}:${process.env.PG_PORT ?? '5433'}/${process.env.PG_DATABASE ?? 'mailgate'}`;
const pgSchema = `ticket_store_test_${run}`;
const pgSchemas = [pgSchema];

async function withPgClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function pgVersions(schema: string): Promise<number[]> {
  return withPgClient(async (client) => {
    const result = await client.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
    return result.rows.map((r) => r.version);
  });
}

function newPgSchema(): string {
  const schema = `${pgSchema}_${pgSchemas.length}`;
  pgSchemas.push(schema);
  return schema;
}

defineTicketStoreSuite({
  name: 'PostgreSQL',
  open: () => createPostgresTicketStore(pgUrl, { schema: pgSchema }),
  openFresh: (instances) => {
    const schema = newPgSchema();
    return Array.from({ length: instances }, () => createPostgresTicketStore(pgUrl, { schema }));
  },
  schemaVersions: () => pgVersions(pgSchema),
  openVersion1: async (upTo = 1) => {
    const schema = newPgSchema();
    await withPgClient((client) => client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"; ${version1Seed('postgres', upTo)}`));
    return { store: createPostgresTicketStore(pgUrl, { schema }), schemaVersions: () => pgVersions(schema) };
  },
  cleanup: () =>
    withPgClient(async (client) => {
      for (const schema of pgSchemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }),
});

describe('SQLite ticket store across processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mailgate-ticket-lock-'));
  const file = join(dir, 'deeper', 'still', 'tickets.sqlite');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the store creates its folder and keeps the file in WAL mode', async () => {
    const store = createSqliteTicketStore(file);
    await store.migrate();
    await store.close();
    assert.ok(existsSync(file));
    const db = new DatabaseSync(file);
    assert.equal(db.prepare('PRAGMA journal_mode').get()?.['journal_mode'], 'wal');
    db.close();
  });

  test('two processes migrating and creating the same tickets on one file end with each ticket once, numbered 1..n', async () => {
    const shared = join(dir, 'two-processes', 'tickets.sqlite');
    const storeModule = join(__dirname, '../../src/adapters/ticket-store/index.js');
    const count = 40;
    // Each child creates the same origin keys, one in reverse order, so they collide from both ends.
    const child = `
      const { createSqliteTicketStore } = require(process.argv[1]);
      const [file, count, reverse] = [process.argv[2], Number(process.argv[3]), process.argv[4] === 'reverse'];
      (async () => {
        const store = createSqliteTicketStore(file);
        await store.migrate();
        const keys = Array.from({ length: count }, (_, i) => i);
        for (const i of reverse ? keys.reverse() : keys) {
          const comment = { messageId: 'm' + i + '@x', author: 'a', text: 't', html: null, attachments: [] };
          await store.createTicket({ originKey: 'k' + i, subject: 's', requester: 'r@x', queue: 'q@x', comment });
        }
        await store.close();
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const spawnChild = (order: string): Promise<unknown> =>
      promisify(execFile)(process.execPath, ['-e', child, storeModule, shared, String(count), order]);
    await Promise.all([spawnChild('forward'), spawnChild('reverse')]);

    const store = createSqliteTicketStore(shared);
    const tickets = (await store.listTickets({ limit: 100 })).tickets;
    assert.deepEqual(tickets.map((t) => t.number).sort((a, b) => a - b), Array.from({ length: count }, (_, i) => i + 1));
    for (const ticket of tickets) assert.equal((await store.getTicket(ticket.id))?.comments.length, 1);
    await store.close();
  });

  test('two processes counting rate events of one key on one file see every earlier event, each once', async () => {
    const shared = join(dir, 'rate-processes', 'tickets.sqlite');
    const storeModule = join(__dirname, '../../src/adapters/ticket-store/index.js');
    const count = 30;
    // Both children count the same shared event last, so it is counted by one of them only.
    const child = `
      const { createSqliteTicketStore } = require(process.argv[1]);
      const [file, count, name] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
      (async () => {
        const store = createSqliteTicketStore(file);
        await store.migrate();
        const seen = [];
        for (let i = 0; i < count; i++) {
          const eventId = i === count - 1 ? 'shared' : name + i;
          seen.push(await store.countRateEvent({ key: 'k', eventId, at: '2025-03-01T12:00:00.000Z', windowStart: '2025-03-01T00:00:00.000Z' }));
        }
        await store.close();
        process.stdout.write(JSON.stringify(seen));
      })().catch((error) => { console.error(error); process.exit(1); });`;
    const spawnChild = async (name: string): Promise<number[]> => {
      const { stdout } = await promisify(execFile)(process.execPath, ['-e', child, storeModule, shared, String(count), name]);
      return JSON.parse(stdout) as number[];
    };
    const [a = [], b = []] = await Promise.all([spawnChild('a'), spawnChild('b')]);
    const total = 2 * count - 1;
    // Only a retried "shared" repeats a number: the later process sees the earlier one's event.
    const counted = [...a, ...b].sort((x, y) => x - y);
    assert.equal(counted.length, 2 * count);
    assert.deepEqual([...new Set(counted)], Array.from({ length: total }, (_, i) => i + 1));
    assert.equal(Math.max(a.at(-1) ?? 0, b.at(-1) ?? 0), total);
    const store = createSqliteTicketStore(shared);
    assert.equal(await store.peekRateEvents('k', '2025-03-01T00:00:00.000Z'), total);
    await store.close();
  });

  test('a write that waits longer than the busy timeout fails as unavailable while reads go on', async () => {
    const store = createSqliteTicketStore(file, { busyTimeoutMs: 50 });
    await store.migrate();
    const otherProcess = new DatabaseSync(file);
    otherProcess.exec('BEGIN IMMEDIATE');
    try {
      const error = await store.createTicket(inbound()).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof TicketStoreUnavailableError);
      assert.equal(error.type, 'DatabaseUnavailable');
      await store.ping();
    } finally {
      otherProcess.exec('ROLLBACK');
      otherProcess.close();
    }
    assert.equal((await store.createTicket(inbound())).created, true);
    await store.close();
  });
});

describe('choosing and reaching a ticket store', () => {
  test('openTicketStore opens SQLite for sqlite: URLs and PostgreSQL for postgres:// URLs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailgate-ticket-open-'));
    try {
      const sqlite = openTicketStore(`sqlite:${join(dir, 'open.sqlite')}`);
      await sqlite.migrate();
      assert.equal((await sqlite.listTickets({})).tickets.length, 0);
      await sqlite.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const postgres = openTicketStore(pgUrl.replace(/^postgres:/, 'postgresql:'));
    await postgres.ping();
    await postgres.close();
    assert.throws(() => openTicketStore('mysql://localhost/db'), /must start with sqlite: or postgres/);
  });

  test('an unreachable PostgreSQL fails as unavailable without revealing the password', async () => {
    const store = createPostgresTicketStore('postgres://mailgate:s3cret-word@127.0.0.1:9/mailgate', { schema: 'unreachable' });
    try {
      for (const attempt of [store.ping(), store.migrate(), store.createTicket(inbound())]) {
        const error = await attempt.then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof TicketStoreUnavailableError, `expected unavailability, got ${String(error)}`);
        assert.equal(error.type, 'DatabaseUnavailable');
        assert.doesNotMatch(error.message, /s3cret/);
      }
    } finally {
      await store.close();
    }
  });
});
