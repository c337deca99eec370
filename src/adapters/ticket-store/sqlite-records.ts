/**
 * The SQLite store's methods beyond tickets and comments: status changes, extra queues,
 * participants, rate events, undeliverable addresses and email records. Kept apart from sqlite.ts
 * only for size; they share its connection and its write lock discipline (BEGIN IMMEDIATE).
 */
import type { SQLInputValue } from 'node:sqlite';
import { InvalidTicketInputError, TicketNotFoundError } from './errors';
import { authorAddress, emailColumns, isoInstant, resolveStatus } from './inputs';
import { normalizeAddress, now } from './keys';
import type { RecordMethods } from './record-methods';
import { type Row, toCount, toEmail, toTicket, toUndeliverable } from './rows';
import { SQLITE_TICKET_SELECT } from './ticket-select';

export interface SqliteAccess {
  get(sql: string, ...params: SQLInputValue[]): Row | undefined;
  all(sql: string, ...params: SQLInputValue[]): Row[];
  /** Returns the number of changed rows. */
  run(sql: string, ...params: SQLInputValue[]): number;
  /** Runs `work` in a BEGIN IMMEDIATE transaction. */
  write<T>(work: () => T): T;
  /** Runs synchronous work as a promise, turning a lock timeout into TicketStoreUnavailableError. */
  guarded<T>(work: () => T): Promise<T>;
}

/** ISO instants of one shape sort as text, so `at >= ?` is a time comparison (see isoInstant). */
const COUNT_WINDOW = 'SELECT COUNT(*) AS n FROM rate_events WHERE key = ? AND at >= ?';

export function sqliteRecordMethods({ get, all, run, write, guarded }: SqliteAccess): RecordMethods {
  return {
    setStatus: (ticketId, status) =>
      guarded(() => {
        const next = resolveStatus(status);
        return write(() => {
          // Only a real change bumps `updated`, so a retried activity leaves the ticket as it was.
          run(
            'UPDATE tickets SET status = ?, updated = MAX(updated, ?) WHERE id = ? AND status <> ?',
            next,
            now(),
            ticketId,
            next,
          );
          const row = get(`${SQLITE_TICKET_SELECT} WHERE id = ?`, ticketId);
          if (!row) throw new TicketNotFoundError(ticketId);
          return toTicket(row);
        });
      }),

    noteQueue: (ticketId, queue) =>
      guarded(() => {
        const extra = normalizeAddress(queue);
        if (extra === '') throw new InvalidTicketInputError('queue must not be empty');
        write(() => {
          const ticket = get('SELECT queue FROM tickets WHERE id = ?', ticketId);
          if (!ticket) throw new TicketNotFoundError(ticketId);
          // The ticket's own queue is not an extra one.
          if (ticket['queue'] === extra) return;
          run('INSERT INTO ticket_queues (ticket_id, queue) VALUES (?, ?) ON CONFLICT DO NOTHING', ticketId, extra);
        });
      }),

    isParticipant: (ticketId, address) =>
      guarded(() => {
        const wanted = normalizeAddress(address);
        const ticket = get('SELECT requester FROM tickets WHERE id = ?', ticketId);
        if (!ticket) return false;
        if (ticket['requester'] === wanted) return true;
        if (get('SELECT 1 FROM acknowledgements WHERE ticket_id = ? AND recipient = ? LIMIT 1', ticketId, wanted)) return true;
        // Authors are stored as given, so they are normalized here rather than with SQL lower(),
        // which in SQLite folds ASCII only.
        const authors = all('SELECT DISTINCT author FROM comments WHERE ticket_id = ?', ticketId);
        return authors.some((r) => authorAddress(String(r['author'])) === wanted);
      }),

    countRateEvent: (input) =>
      guarded(() => {
        const at = isoInstant(input.at, 'at');
        const windowStart = isoInstant(input.windowStart, 'windowStart');
        // One write transaction: concurrent callers are serialized, so each sees the events before it.
        return write(() => {
          run('INSERT INTO rate_events (key, event_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', input.key, input.eventId, at);
          return toCount(get(COUNT_WINDOW, input.key, windowStart));
        });
      }),

    peekRateEvents: (key, windowStart) =>
      guarded(() => toCount(get(COUNT_WINDOW, key, isoInstant(windowStart, 'windowStart')))),

    markUndeliverable: (address, reason) =>
      guarded(() => {
        run(
          'INSERT INTO undeliverable (address, reason, created) VALUES (?, ?, ?) ON CONFLICT (address) DO NOTHING',
          normalizeAddress(address),
          reason,
          now(),
        );
      }),

    isUndeliverable: (address) =>
      guarded(() => {
        const row = get('SELECT reason, created FROM undeliverable WHERE address = ?', normalizeAddress(address));
        return row ? toUndeliverable(row) : null;
      }),

    recordEmail: (record) =>
      guarded(() => {
        const columns = emailColumns(record);
        const at = now();
        run(
          `INSERT INTO emails (workflow_id, message_id, queue, sender, subject, email_class, evidence, outcome, reason,
             ticket_id, created, updated)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (workflow_id) DO UPDATE SET message_id = excluded.message_id, queue = excluded.queue,
             sender = excluded.sender, subject = excluded.subject, email_class = excluded.email_class,
             evidence = excluded.evidence, outcome = excluded.outcome, reason = excluded.reason,
             ticket_id = excluded.ticket_id, updated = MAX(emails.updated, excluded.updated)`,
          ...columns,
          at,
          at,
        );
      }),

    claimOnce: (key, at, forgetBefore) =>
      guarded(() => {
        const when = isoInstant(at, 'at');
        run('DELETE FROM claims WHERE at < ?', isoInstant(forgetBefore, 'forgetBefore'));
        const inserted = get('INSERT INTO claims (key, at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING RETURNING key', key, when);
        return inserted !== undefined;
      }),

    releaseClaim: (key) =>
      guarded(() => {
        run('DELETE FROM claims WHERE key = ?', key);
      }),

    getEmail: (workflowId) =>
      guarded(() => {
        const row = get('SELECT * FROM emails WHERE workflow_id = ?', workflowId);
        return row ? toEmail(row) : null;
      }),
  };
}
