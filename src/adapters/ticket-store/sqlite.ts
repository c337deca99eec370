/**
 * The embedded ticket store: one SQLite file shared by the API and the worker processes. WAL lets
 * readers run beside the one writer; every write takes the lock up front (BEGIN IMMEDIATE) and waits
 * up to the busy timeout for it, because a deferred transaction that upgrades to a writer fails with
 * SQLITE_BUSY at once instead of waiting.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { isSqliteBusy, TicketNotFoundError, TicketStoreUnavailableError } from './errors';
import { linkedTicketMissing, resolveNewTicket } from './inputs';
import { commentIdFor, isTicketNumber, newAttachmentId, normalizeAddress, now, ticketIdFor } from './keys';
import { pendingMigrations } from './migrations';
import { listingQuery, resolveListing, toPage } from './paging';
import { type Row, toAttachment, toComment, toThreadEntry, toTicket, toTicketWithComments } from './rows';
import { sqliteRecordMethods } from './sqlite-records';
import { pickThread } from './thread-match';
import { RETURNING_NEW_TICKET, SQLITE_TICKET_SELECT } from './ticket-select';
import type { Comment, CommentInput, TicketStore, TicketWithComments } from './types';

export interface SqliteTicketStoreOptions {
  /** How long a write waits for another process's write lock before failing as unavailable. */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

export function createSqliteTicketStore(path: string, options: SqliteTicketStoreOptions = {}): TicketStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`);
  }
  const unavailable = (cause: unknown): TicketStoreUnavailableError =>
    new TicketStoreUnavailableError(`SQLite database ${path} is locked by another writer (waited up to ${busyTimeoutMs} ms)`, { cause });

  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  try {
    // Switching to WAL writes the file header, so it too may wait for another process's lock.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    db.close();
    throw isSqliteBusy(error) ? unavailable(error) : error;
  }

  const statements = new Map<string, StatementSync>();
  function statement(sql: string): StatementSync {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  }
  const get = (sql: string, ...params: SQLInputValue[]): Row | undefined => statement(sql).get(...params);
  const all = (sql: string, ...params: SQLInputValue[]): Row[] => statement(sql).all(...params);
  const run = (sql: string, ...params: SQLInputValue[]): number => Number(statement(sql).run(...params).changes);

  function write<T>(work: () => T): T {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Runs synchronous database work as a promise, turning a lock timeout into a transient error. */
  async function guarded<T>(work: () => T): Promise<T> {
    try {
      return work();
    } catch (error) {
      throw isSqliteBusy(error) ? unavailable(error) : error;
    }
  }

  function loadTicket(ticketRow: Row | undefined): TicketWithComments | null {
    if (!ticketRow) return null;
    const id = ticketRow['id'];
    if (typeof id !== 'string') throw new Error('ticket row without id');
    // rowid breaks ties between comments stored within the same millisecond, keeping insertion order.
    const comments = all('SELECT * FROM comments WHERE ticket_id = ? ORDER BY created, rowid', id);
    const attachments = all(
      `SELECT a.* FROM attachments a JOIN comments c ON c.id = a.comment_id
       WHERE c.ticket_id = ? ORDER BY a.comment_id, a.position`,
      id,
    );
    return toTicketWithComments(ticketRow, comments, attachments);
  }

  function loadComment(commentId: string): Comment | null {
    const row = get('SELECT * FROM comments WHERE id = ?', commentId);
    if (!row) return null;
    return toComment(row, all('SELECT * FROM attachments WHERE comment_id = ? ORDER BY position', commentId));
  }

  /** Inserts a comment with its attachments and thread entry; undefined when it already exists. */
  function insertComment(ticketId: string, queue: string, input: CommentInput, created: string): Comment | undefined {
    const commentId = commentIdFor(ticketId, input.messageId);
    const row = get(
      `INSERT INTO comments (id, ticket_id, message_id, author, text, html, internal, created)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING *`,
      commentId,
      ticketId,
      input.messageId,
      input.author,
      input.text,
      input.html,
      input.internal === true ? 1 : 0,
      created,
    );
    if (!row) return undefined;
    const attachments = input.attachments.map((a, position) => {
      const stored = get(
        `INSERT INTO attachments (id, comment_id, position, filename, content_type, size, sha256, storage_key,
           scan_status, scan_detail, content_id, inline)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
        newAttachmentId(),
        commentId,
        position,
        a.filename,
        a.contentType,
        a.size,
        a.sha256,
        a.storageKey,
        a.scanStatus,
        a.scanDetail,
        a.contentId,
        a.inline ? 1 : 0,
      );
      if (!stored) throw new Error('attachment insert returned no row');
      return stored;
    });
    run(
      `INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
       VALUES (?, ?, ?, 'inbound', ?) ON CONFLICT DO NOTHING`,
      input.messageId,
      ticketId,
      queue,
      created,
    );
    return toComment(row, attachments);
  }

  return {
    migrate: () =>
      guarded(() =>
        write(() => {
          db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
          const applied = new Set(all('SELECT version FROM schema_migrations').map((r) => Number(r['version'])));
          for (const migration of pendingMigrations(applied)) {
            db.exec(migration.sqlite);
            run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', migration.version, migration.name, now());
          }
        }),
      ),

    findThread: (messageIds, queue) =>
      guarded(() => {
        if (messageIds.length === 0) return null;
        const rows = all(
          `SELECT t.message_id, t.ticket_id, t.queue, k.number FROM thread_index t JOIN tickets k ON k.id = t.ticket_id
           WHERE t.message_id IN (SELECT value FROM json_each(?)) ORDER BY t.created, k.number`,
          JSON.stringify(messageIds),
        );
        return pickThread(messageIds, rows.map(toThreadEntry), normalizeAddress(queue));
      }),

    createTicket: (input) =>
      guarded(() => {
        const columns = resolveNewTicket(input);
        return write(() => {
          const existing = get(`${SQLITE_TICKET_SELECT} WHERE origin_key = ?`, input.originKey);
          if (existing) return { ticket: toTicket(existing), created: false };
          const { linkedTicketId } = columns;
          if (linkedTicketId !== null && !get('SELECT 1 FROM tickets WHERE id = ?', linkedTicketId)) {
            throw linkedTicketMissing(linkedTicketId);
          }
          const id = ticketIdFor(input.originKey);
          const created = now();
          // The number is computed inside the write lock, so two processes cannot take the same one.
          const row = get(
            `INSERT INTO tickets (id, number, origin_key, subject, requester, queue, status, priority, tags,
               linked_ticket_id, created, updated)
             VALUES (?, (SELECT COALESCE(MAX(number), 0) + 1 FROM tickets), ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING ${RETURNING_NEW_TICKET}`,
            id,
            input.originKey,
            columns.subject,
            columns.requester,
            columns.queue,
            columns.priority,
            columns.tags,
            linkedTicketId,
            created,
            created,
          );
          if (!row) throw new Error(`ticket id ${id} is taken by another origin key`);
          insertComment(id, columns.queue, input.comment, created);
          return { ticket: toTicket(row), created: true };
        });
      }),

    addComment: (ticketId, input) =>
      guarded(() =>
        write(() => {
          const ticket = get('SELECT queue FROM tickets WHERE id = ?', ticketId);
          if (!ticket) throw new TicketNotFoundError(ticketId);
          const created = now();
          const comment = insertComment(ticketId, String(ticket['queue']), input, created);
          if (comment) {
            run('UPDATE tickets SET updated = ? WHERE id = ? AND updated < ?', created, ticketId, created);
            return { comment, created: true };
          }
          const existing = loadComment(commentIdFor(ticketId, input.messageId));
          if (!existing) throw new Error(`comment ${input.messageId} on ticket ${ticketId} conflicted but cannot be read`);
          return { comment: existing, created: false };
        }),
      ),

    indexMessageId: (entry) =>
      guarded(() => {
        run(
          `INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
           VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          entry.messageId,
          entry.ticketId,
          normalizeAddress(entry.queue),
          entry.kind,
          now(),
        );
      }),

    reserveAcknowledgement: (record) =>
      guarded(() =>
        write(() => {
          run(
            `INSERT INTO acknowledgements (workflow_id, ticket_id, message_id, recipient, state, created)
             VALUES (?, ?, ?, ?, 'reserved', ?) ON CONFLICT (workflow_id) DO NOTHING`,
            record.workflowId,
            record.ticketId,
            record.messageId,
            normalizeAddress(record.recipient),
            now(),
          );
          const row = get('SELECT state, message_id FROM acknowledgements WHERE workflow_id = ?', record.workflowId);
          if (!row) throw new Error(`acknowledgement of ${record.workflowId} vanished`);
          return { state: row['state'] === 'sent' ? 'sent' : 'reserved', messageId: String(row['message_id']) };
        }),
      ),

    markAcknowledgementSent: (workflowId) =>
      guarded(() => {
        const changed = run(
          `UPDATE acknowledgements SET state = 'sent', sent_at = COALESCE(sent_at, ?) WHERE workflow_id = ?`,
          now(),
          workflowId,
        );
        if (changed === 0) throw new Error(`no acknowledgement is reserved for workflow ${workflowId}`);
      }),

    getTicket: (id) => guarded(() => loadTicket(get(`${SQLITE_TICKET_SELECT} WHERE id = ?`, id))),

    getTicketByNumber: (number) =>
      guarded(() => (isTicketNumber(number) ? loadTicket(get(`${SQLITE_TICKET_SELECT} WHERE number = ?`, number)) : null)),

    findByExternalRef: (originKey) =>
      guarded(() => {
        const row = get(`${SQLITE_TICKET_SELECT} WHERE origin_key = ?`, originKey);
        return row ? toTicket(row) : null;
      }),

    listTickets: (input) =>
      guarded(() => {
        const listing = resolveListing(input);
        const query = listingQuery(listing, SQLITE_TICKET_SELECT, () => '?');
        const rows = all(query.sql, ...query.params);
        return toPage(rows.map(toTicket), listing.limit);
      }),

    getAttachment: (id) =>
      guarded(() => {
        const row = get('SELECT * FROM attachments WHERE id = ?', id);
        return row ? toAttachment(row) : null;
      }),

    ...sqliteRecordMethods({ get, all, run, write, guarded }),

    ping: () =>
      guarded(() => {
        get('SELECT 1');
      }),

    close: async () => {
      if (db.isOpen) db.close();
    },
  };
}
