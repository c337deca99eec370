/**
 * One behaviour suite for both ticket store backends: SQLite in a temporary folder and PostgreSQL in
 * a schema of its own (dropped afterwards), both real, no fakes.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import {
  createPostgresTicketStore,
  createSqliteTicketStore,
  InvalidTicketQueryError,
  openTicketStore,
  TicketNotFoundError,
  TicketStoreUnavailableError,
  type AttachmentRecord,
  type CreateTicketInput,
  type TicketStore,
} from '../../src/adapters/ticket-store';

interface Backend {
  name: string;
  /** Another store on this run's database, as a second process would open it. */
  open(): TicketStore;
  /** `instances` stores on new, empty, shared storage (not yet migrated). */
  openFresh(instances: number): TicketStore[];
  /** Versions recorded in schema_migrations of this run's database. */
  schemaVersions(): Promise<number[]>;
  cleanup(): Promise<void>;
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
      assert.deepEqual(await backend.schemaVersions(), [1]);
      await store.migrate();
      await Promise.all([store.migrate(), open().migrate()]);
      assert.deepEqual(await backend.schemaVersions(), [1]);
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
  });
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'mailgate-ticket-store-'));
const sqliteFile = join(sqliteDir, 'nested', 'tickets.sqlite');

defineTicketStoreSuite({
  name: 'SQLite',
  open: () => createSqliteTicketStore(sqliteFile),
  openFresh: (instances) => {
    const file = join(sqliteDir, next('fresh'), 'tickets.sqlite');
    return Array.from({ length: instances }, () => createSqliteTicketStore(file));
  },
  schemaVersions: async () => {
    const db = new DatabaseSync(sqliteFile, { readOnly: true });
    try {
      return db.prepare('SELECT version FROM schema_migrations ORDER BY version').all().map((r) => Number(r['version']));
    } finally {
      db.close();
    }
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

defineTicketStoreSuite({
  name: 'PostgreSQL',
  open: () => createPostgresTicketStore(pgUrl, { schema: pgSchema }),
  openFresh: (instances) => {
    const schema = `${pgSchema}_${pgSchemas.length}`;
    pgSchemas.push(schema);
    return Array.from({ length: instances }, () => createPostgresTicketStore(pgUrl, { schema }));
  },
  schemaVersions: () =>
    withPgClient(async (client) => {
      const result = await client.query<{ version: number }>(`SELECT version FROM "${pgSchema}".schema_migrations ORDER BY version`);
      return result.rows.map((r) => r.version);
    }),
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
