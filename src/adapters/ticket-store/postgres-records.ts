/**
 * The PostgreSQL store's methods beyond tickets and comments: status changes, extra queues,
 * participants, rate events, undeliverable addresses and email records. Kept apart from
 * postgres.ts only for size; they share its pool and its transaction and error handling.
 */
import type pg from 'pg';
import { InvalidTicketInputError, TicketNotFoundError } from './errors';
import { authorAddress, emailColumns, isoInstant, resolveStatus } from './inputs';
import { normalizeAddress, now } from './keys';
import { lockKeyOf, one, type Queryable, rows } from './postgres-query';
import type { RecordMethods } from './record-methods';
import { toCount, toEmail, toTicket, toUndeliverable } from './rows';
import { POSTGRES_TICKET_SELECT } from './ticket-select';

export interface PostgresAccess {
  pool: pg.Pool;
  /** Runs `work` in one transaction on one pooled client. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Turns connection failures into TicketStoreUnavailableError. */
  guarded<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Advisory lock class for counting the rate events of one key (two-int keys; other classes are
 * 'tick' for ticket creation and the one-bigint migration lock). Without it two concurrent counts
 * could each miss the other's uncommitted event and both pass a limit.
 */
const RATE_LOCK_CLASS = 0x72617465;

/** COUNT(*) is bigint, which pg returns as a string; a window never holds 2^31 events. */
function countWindow(db: Queryable, key: string, windowStart: string): Promise<number> {
  return one(db, 'SELECT CAST(COUNT(*) AS integer) AS n FROM rate_events WHERE key = $1 AND at >= $2', [key, windowStart]).then(toCount);
}

export function postgresRecordMethods({ pool, transaction, guarded }: PostgresAccess): RecordMethods {
  return {
    setStatus: (ticketId, status) =>
      guarded(async () => {
        const next = resolveStatus(status);
        return transaction(async (client) => {
          // The row lock orders concurrent changes, so the ticket returned is the one this call left.
          const current = await one(client, 'SELECT status FROM tickets WHERE id = $1 FOR NO KEY UPDATE', [ticketId]);
          if (!current) throw new TicketNotFoundError(ticketId);
          // Only a real change bumps `updated`, so a retried activity leaves the ticket as it was.
          if (current['status'] !== next) {
            await client.query('UPDATE tickets SET status = $2, updated = GREATEST(updated, $3) WHERE id = $1', [ticketId, next, now()]);
          }
          const row = await one(client, `${POSTGRES_TICKET_SELECT} WHERE id = $1`, [ticketId]);
          if (!row) throw new TicketNotFoundError(ticketId);
          return toTicket(row);
        });
      }),

    noteQueue: (ticketId, queue) =>
      guarded(async () => {
        const extra = normalizeAddress(queue);
        if (extra === '') throw new InvalidTicketInputError('queue must not be empty');
        const ticket = await one(pool, 'SELECT queue FROM tickets WHERE id = $1', [ticketId]);
        if (!ticket) throw new TicketNotFoundError(ticketId);
        // The ticket's own queue is not an extra one.
        if (ticket['queue'] === extra) return;
        await pool.query('INSERT INTO ticket_queues (ticket_id, queue) VALUES ($1, $2) ON CONFLICT DO NOTHING', [ticketId, extra]);
      }),

    isParticipant: (ticketId, address) =>
      guarded(async () => {
        const wanted = normalizeAddress(address);
        const ticket = await one(pool, 'SELECT requester FROM tickets WHERE id = $1', [ticketId]);
        if (!ticket) return false;
        if (ticket['requester'] === wanted) return true;
        const acknowledged = await one(pool, 'SELECT 1 FROM acknowledgements WHERE ticket_id = $1 AND recipient = $2 LIMIT 1', [
          ticketId,
          wanted,
        ]);
        if (acknowledged) return true;
        // Authors are stored as given; normalizing them in JavaScript matches the SQLite store exactly.
        const authors = await rows(pool, 'SELECT DISTINCT author FROM comments WHERE ticket_id = $1', [ticketId]);
        return authors.some((r) => authorAddress(String(r['author'])) === wanted);
      }),

    countRateEvent: (input) =>
      guarded(async () => {
        const at = isoInstant(input.at, 'at');
        const windowStart = isoInstant(input.windowStart, 'windowStart');
        return transaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1, $2)', [RATE_LOCK_CLASS, lockKeyOf(input.key)]);
          await client.query('INSERT INTO rate_events (key, event_id, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
            input.key,
            input.eventId,
            at,
          ]);
          // READ COMMITTED: this statement's snapshot includes every event committed before the lock was ours.
          return countWindow(client, input.key, windowStart);
        });
      }),

    peekRateEvents: (key, windowStart) =>
      guarded(async () => countWindow(pool, key, isoInstant(windowStart, 'windowStart'))),

    markUndeliverable: (address, reason) =>
      guarded(async () => {
        await pool.query('INSERT INTO undeliverable (address, reason, created) VALUES ($1, $2, $3) ON CONFLICT (address) DO NOTHING', [
          normalizeAddress(address),
          reason,
          now(),
        ]);
      }),

    isUndeliverable: (address) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT reason, created FROM undeliverable WHERE address = $1', [normalizeAddress(address)]);
        return row ? toUndeliverable(row) : null;
      }),

    recordEmail: (record) =>
      guarded(async () => {
        const columns = emailColumns(record);
        await pool.query(
          `INSERT INTO emails (workflow_id, message_id, queue, sender, subject, email_class, evidence, outcome, reason,
             ticket_id, created, updated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
           ON CONFLICT (workflow_id) DO UPDATE SET message_id = excluded.message_id, queue = excluded.queue,
             sender = excluded.sender, subject = excluded.subject, email_class = excluded.email_class,
             evidence = excluded.evidence, outcome = excluded.outcome, reason = excluded.reason,
             ticket_id = excluded.ticket_id, updated = GREATEST(emails.updated, excluded.updated)`,
          [...columns, now()],
        );
      }),

    claimOnce: (key, at, forgetBefore) =>
      guarded(async () => {
        await pool.query('DELETE FROM claims WHERE at < $1', [isoInstant(forgetBefore, 'forgetBefore')]);
        const inserted = await pool.query('INSERT INTO claims (key, at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING RETURNING key', [
          key,
          isoInstant(at, 'at'),
        ]);
        return (inserted.rowCount ?? 0) > 0;
      }),

    releaseClaim: (key) =>
      guarded(async () => {
        await pool.query('DELETE FROM claims WHERE key = $1', [key]);
      }),

    getEmail: (workflowId) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM emails WHERE workflow_id = $1', [workflowId]);
        return row ? toEmail(row) : null;
      }),
  };
}
