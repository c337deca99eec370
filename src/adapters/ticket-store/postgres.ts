/**
 * The ticket store on PostgreSQL, for deployments that outgrow one SQLite file. Idempotency rests on
 * unique keys with ON CONFLICT DO NOTHING: a concurrent duplicate waits for the first insert to
 * commit, then reads the winner (READ COMMITTED gives each statement a fresh snapshot).
 */
import pg from 'pg';
import { isPostgresUnavailable, TicketNotFoundError, TicketStoreUnavailableError } from './errors';
import { linkedTicketMissing, resolveNewTicket } from './inputs';
import { commentIdFor, isTicketNumber, newAttachmentId, normalizeAddress, now, ticketIdFor } from './keys';
import { pendingMigrations } from './migrations';
import { listingQuery, resolveListing, toPage } from './paging';
import { one, type Queryable, rows } from './postgres-query';
import { postgresRecordMethods } from './postgres-records';
import { type Row, toAttachment, toComment, toThreadEntry, toTicket, toTicketWithComments } from './rows';
import { pickThread } from './thread-match';
import { POSTGRES_TICKET_SELECT, RETURNING_NEW_TICKET } from './ticket-select';
import type { Comment, CommentInput, TicketStore, TicketWithComments } from './types';

export interface PostgresTicketStoreOptions {
  /** Schema holding the tables, created when missing; tests use one per run to stay isolated. */
  schema?: string;
}

/** An unreachable host must fail the activity (and be retried), not hang it: pg waits forever by default. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Serializes migrate() across processes; an arbitrary constant ("mail") no other code locks on. */
const MIGRATION_LOCK_KEY = 0x6d61696c;

/**
 * Lock class for creating one origin key (two-int advisory keys never overlap the one-bigint key
 * above). Duplicates wait for the first to commit and then find its ticket, instead of racing into
 * the INSERT, which would burn a ticket number on each loser.
 */
const CREATE_LOCK_CLASS = 0x7469636b;

/** A signed 32-bit lock key from the ticket id's hex digest. */
function createLockKey(ticketId: string): number {
  return Number.parseInt(ticketId.slice(2, 10), 16) | 0;
}

/** Plain lower-case identifiers only, so the name can be spliced into DDL and `-c search_path=`. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function poolConfig(url: string, schema: string | undefined): pg.PoolConfig {
  const base = { connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  if (schema === undefined) return { ...base, connectionString: url };
  // Options parsed from the URL override the config object, so any there are merged and removed.
  const parsed = new URL(url);
  const fromUrl = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  const options = [fromUrl, `-c search_path=${schema}`].filter((o) => o !== null && o !== '').join(' ');
  return { ...base, connectionString: parsed.toString(), options };
}

/** host:port for error messages; never the URL itself, which may carry a password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'local socket'}:${parsed.port || '5432'}`;
  } catch {
    return 'the configured server';
  }
}

export function createPostgresTicketStore(url: string, options: PostgresTicketStoreOptions = {}): TicketStore {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new RangeError(`schema must match ${SCHEMA_NAME.source}, got ${schema}`);
  }
  const server = describe(url);
  const pool = new pg.Pool(poolConfig(url, schema));
  // An idle client whose server went away emits 'error' on the pool, and an unhandled 'error' event
  // kills the process. The pool has already dropped that client; the next query reconnects or fails
  // with TicketStoreUnavailableError, which is where the caller learns of it.
  pool.on('error', () => undefined);
  let closed = false;

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isPostgresUnavailable(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new TicketStoreUnavailableError(`PostgreSQL at ${server} is unavailable: ${reason}`, { cause: error });
    }
  }

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      // Passing the error destroys a client whose connection failed instead of pooling it again.
      client.release(broken);
    }
  }

  async function loadTicket(ticketRow: Row | undefined): Promise<TicketWithComments | null> {
    if (!ticketRow) return null;
    const id = ticketRow['id'];
    const comments = await rows(pool, 'SELECT * FROM comments WHERE ticket_id = $1 ORDER BY created, seq', [id]);
    const attachments = await rows(
      pool,
      `SELECT a.* FROM attachments a JOIN comments c ON c.id = a.comment_id
       WHERE c.ticket_id = $1 ORDER BY a.comment_id, a.position`,
      [id],
    );
    return toTicketWithComments(ticketRow, comments, attachments);
  }

  async function loadComment(db: Queryable, commentId: string): Promise<Comment | null> {
    const row = await one(db, 'SELECT * FROM comments WHERE id = $1', [commentId]);
    if (!row) return null;
    return toComment(row, await rows(db, 'SELECT * FROM attachments WHERE comment_id = $1 ORDER BY position', [commentId]));
  }

  /** Inserts a comment with its attachments and thread entry; undefined when it already exists. */
  async function insertComment(
    client: pg.PoolClient,
    ticketId: string,
    queue: string,
    input: CommentInput,
    created: string,
  ): Promise<Comment | undefined> {
    const commentId = commentIdFor(ticketId, input.messageId);
    const row = await one(
      client,
      `INSERT INTO comments (id, ticket_id, message_id, author, text, html, internal, created)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING *`,
      [commentId, ticketId, input.messageId, input.author, input.text, input.html, input.internal === true, created],
    );
    if (!row) return undefined;
    const attachments: Row[] = [];
    for (const [position, a] of input.attachments.entries()) {
      const stored = await one(
        client,
        `INSERT INTO attachments (id, comment_id, position, filename, content_type, size, sha256, storage_key,
           scan_status, scan_detail, content_id, inline)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
        [newAttachmentId(), commentId, position, a.filename, a.contentType, a.size, a.sha256, a.storageKey,
          a.scanStatus, a.scanDetail, a.contentId, a.inline],
      );
      if (!stored) throw new Error('attachment insert returned no row');
      attachments.push(stored);
    }
    await client.query(
      `INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
       VALUES ($1, $2, $3, 'inbound', $4) ON CONFLICT DO NOTHING`,
      [input.messageId, ticketId, queue, created],
    );
    return toComment(row, attachments);
  }

  return {
    migrate: () =>
      guarded(() =>
        transaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
          if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
          await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz(3) NOT NULL)`);
          const applied = new Set((await rows(client, 'SELECT version FROM schema_migrations')).map((r) => Number(r['version'])));
          for (const migration of pendingMigrations(applied)) {
            await client.query(migration.postgres);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
              migration.version,
              migration.name,
              now(),
            ]);
          }
        }),
      ),

    findThread: (messageIds, queue) =>
      guarded(async () => {
        if (messageIds.length === 0) return null;
        const found = await rows(
          pool,
          `SELECT t.message_id, t.ticket_id, t.queue, k.number FROM thread_index t JOIN tickets k ON k.id = t.ticket_id
           WHERE t.message_id = ANY($1::text[]) ORDER BY t.created, k.number`,
          [messageIds],
        );
        return pickThread(messageIds, found.map(toThreadEntry), normalizeAddress(queue));
      }),

    createTicket: (input) =>
      guarded(async () => {
        const columns = resolveNewTicket(input);
        return transaction(async (client) => {
          const id = ticketIdFor(input.originKey);
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', [CREATE_LOCK_CLASS, createLockKey(id)]);
          const byOrigin = `${POSTGRES_TICKET_SELECT} WHERE origin_key = $1`;
          const existing = await one(client, byOrigin, [input.originKey]);
          if (existing) return { ticket: toTicket(existing), created: false };
          const { queue, linkedTicketId } = columns;
          if (linkedTicketId !== null && !(await one(client, 'SELECT 1 FROM tickets WHERE id = $1', [linkedTicketId]))) {
            throw linkedTicketMissing(linkedTicketId);
          }
          const created = now();
          // The unique keys hold even without the lock (say, a writer running older code): a racing
          // duplicate would wait on the index here and then insert nothing.
          const row = await one(
            client,
            `INSERT INTO tickets (id, origin_key, subject, requester, queue, status, priority, tags, linked_ticket_id,
               created, updated)
             VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $9) ON CONFLICT DO NOTHING ${RETURNING_NEW_TICKET}`,
            [id, input.originKey, columns.subject, columns.requester, queue, columns.priority, columns.tags, linkedTicketId, created],
          );
          if (!row) {
            const winner = await one(client, byOrigin, [input.originKey]);
            if (!winner) throw new Error(`ticket id ${id} is taken by another origin key`);
            return { ticket: toTicket(winner), created: false };
          }
          await insertComment(client, id, queue, input.comment, created);
          return { ticket: toTicket(row), created: true };
        });
      }),

    addComment: (ticketId, input) =>
      guarded(() =>
        transaction(async (client) => {
          // The row lock orders concurrent comments on one ticket, so `updated` only moves forward;
          // NO KEY UPDATE still lets other transactions insert rows that reference the ticket.
          const ticket = await one(client, 'SELECT queue FROM tickets WHERE id = $1 FOR NO KEY UPDATE', [ticketId]);
          if (!ticket) throw new TicketNotFoundError(ticketId);
          const created = now();
          const comment = await insertComment(client, ticketId, String(ticket['queue']), input, created);
          if (comment) {
            await client.query('UPDATE tickets SET updated = GREATEST(updated, $2) WHERE id = $1', [ticketId, created]);
            return { comment, created: true };
          }
          const existing = await loadComment(client, commentIdFor(ticketId, input.messageId));
          if (!existing) throw new Error(`comment ${input.messageId} on ticket ${ticketId} conflicted but cannot be read`);
          return { comment: existing, created: false };
        }),
      ),

    indexMessageId: (entry) =>
      guarded(async () => {
        await pool.query(
          `INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [entry.messageId, entry.ticketId, normalizeAddress(entry.queue), entry.kind, now()],
        );
      }),

    reserveAcknowledgement: (record) =>
      guarded(async () => {
        await pool.query(
          `INSERT INTO acknowledgements (workflow_id, ticket_id, message_id, recipient, state, created)
           VALUES ($1, $2, $3, $4, 'reserved', $5) ON CONFLICT (workflow_id) DO NOTHING`,
          [record.workflowId, record.ticketId, record.messageId, normalizeAddress(record.recipient), now()],
        );
        // A separate statement, so it sees a reservation that a concurrent insert just committed.
        const row = await one(pool, 'SELECT state, message_id FROM acknowledgements WHERE workflow_id = $1', [record.workflowId]);
        if (!row) throw new Error(`acknowledgement of ${record.workflowId} vanished`);
        return { state: row['state'] === 'sent' ? 'sent' : 'reserved', messageId: String(row['message_id']) };
      }),

    markAcknowledgementSent: (workflowId) =>
      guarded(async () => {
        const result = await pool.query(
          `UPDATE acknowledgements SET state = 'sent', sent_at = COALESCE(sent_at, $2) WHERE workflow_id = $1`,
          [workflowId, now()],
        );
        if (result.rowCount === 0) throw new Error(`no acknowledgement is reserved for workflow ${workflowId}`);
      }),

    getTicket: (id) => guarded(async () => loadTicket(await one(pool, `${POSTGRES_TICKET_SELECT} WHERE id = $1`, [id]))),

    getTicketByNumber: (number) =>
      guarded(async () => {
        if (!isTicketNumber(number)) return null;
        return loadTicket(await one(pool, `${POSTGRES_TICKET_SELECT} WHERE number = $1`, [number]));
      }),

    findByExternalRef: (originKey) =>
      guarded(async () => {
        const row = await one(pool, `${POSTGRES_TICKET_SELECT} WHERE origin_key = $1`, [originKey]);
        return row ? toTicket(row) : null;
      }),

    listTickets: (input) =>
      guarded(async () => {
        const listing = resolveListing(input);
        const query = listingQuery(listing, POSTGRES_TICKET_SELECT, (n) => `$${n}`);
        return toPage((await rows(pool, query.sql, query.params)).map(toTicket), listing.limit);
      }),

    getAttachment: (id) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM attachments WHERE id = $1', [id]);
        return row ? toAttachment(row) : null;
      }),

    ...postgresRecordMethods({ pool, transaction, guarded }),

    ping: () =>
      guarded(async () => {
        await pool.query('SELECT 1');
      }),

    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}
