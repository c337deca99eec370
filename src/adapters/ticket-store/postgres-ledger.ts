/**
 * The PostgreSQL store's Ledger port: thread index, participants, acknowledgements, rate events,
 * undeliverable addresses, replay claims and email records. It shares postgres.ts's pool and its
 * transaction and error handling.
 */
import { mailboxOf } from '../../domain/mailbox';
import { authorAddress, emailColumns, isoInstant, participantMailboxes } from './inputs';
import { postgresCursorMethods } from './cursor-store';
import { normalizeAddress, now } from './keys';
import type { LedgerMethods, MailLedger, TicketLedger } from './port-methods';
import { lockKeyOf, one, type PostgresAccess, type Queryable, rows } from './postgres-query';
import { toClaimAnswer, toCount, toEmail, toMessageIdClash, toSentAcknowledgement, toSubjectCandidate, toThreadEntry, toTicketMove, toUndeliverable } from './rows';
import { postgresNotificationMethods } from './postgres-notifications';
import { pickThread } from './thread-match';
import { postgresDeliveries } from './postgres-deliveries';

/**
 * Advisory lock class for counting the rate events of one key (two-int keys; other classes are
 * 'tick' for ticket creation in postgres-helpdesk.ts and the one-bigint migration lock in
 * postgres.ts). Without it two concurrent counts could each miss the other's uncommitted event and
 * both pass a limit.
 */
const RATE_LOCK_CLASS = 0x72617465;

/** COUNT(*) is bigint, which pg returns as a string; a window never holds 2^31 events. */
function countWindow(db: Queryable, key: string, windowStart: string): Promise<number> {
  return one(db, 'SELECT CAST(COUNT(*) AS integer) AS n FROM rate_events WHERE key = $1 AND at >= $2', [key, windowStart]).then(toCount);
}


export function postgresLedgerMethods(access: PostgresAccess): LedgerMethods {
  return { ...ticketLedger(access), ...mailLedger(access), ...postgresDeliveries(access), ...postgresCursorMethods(access) };
}

function ticketLedger({ pool, transaction, guarded }: PostgresAccess): TicketLedger {
  return {
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

    indexMessageId: (entry) =>
      guarded(async () => {
        await pool.query(
          `INSERT INTO thread_index (message_id, ticket_id, queue, kind, created)
           VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
          [entry.messageId, entry.ticketId, normalizeAddress(entry.queue), entry.kind, now()],
        );
      }),

    isParticipant: (ticketId, address) =>
      guarded(async () => {
        // By mailbox, normalized in JavaScript on both sides, exactly as the SQLite store does.
        const wanted = mailboxOf(address);
        const ticket = await one(pool, 'SELECT requester FROM tickets WHERE id = $1', [ticketId]);
        if (!ticket) return false;
        if (mailboxOf(String(ticket['requester'])) === wanted) return true;
        if (await one(pool, 'SELECT 1 FROM participants WHERE ticket_id = $1 AND mailbox = $2 LIMIT 1', [ticketId, wanted])) return true;
        const recipients = await rows(pool, 'SELECT DISTINCT recipient FROM acknowledgements WHERE ticket_id = $1', [ticketId]);
        if (recipients.some((r) => mailboxOf(String(r['recipient'])) === wanted)) return true;
        // Internal notes do not count (see the port).
        const authors = await rows(pool, 'SELECT DISTINCT author FROM comments WHERE ticket_id = $1 AND NOT internal', [ticketId]);
        return authors.some((r) => mailboxOf(authorAddress(String(r['author']))) === wanted);
      }),

    addParticipants: (input) =>
      guarded(async () => {
        const mailboxes = participantMailboxes(input.addresses);
        if (mailboxes.length === 0) return;
        await pool.query(
          `INSERT INTO participants (ticket_id, mailbox, created) SELECT $1, m, $3 FROM unnest($2::text[]) AS m ON CONFLICT DO NOTHING`,
          [input.ticketId, mailboxes, now()],
        );
      }),

    indexSubject: (entry) =>
      guarded(async () => {
        const at = isoInstant(entry.at, 'at');
        await transaction(async (client) => {
          await client.query(
            `INSERT INTO subject_index (ticket_id, subject_key, last_at) VALUES ($1, $2, $3)
             ON CONFLICT (ticket_id, subject_key) DO UPDATE SET last_at = GREATEST(subject_index.last_at, excluded.last_at)`,
            [entry.ticketId, entry.subjectKey, at],
          );
          await client.query('UPDATE subject_index SET last_at = $1 WHERE ticket_id = $2 AND last_at < $1', [at, entry.ticketId]);
        });
      }),

    findTicketsBySubject: (input) =>
      guarded(async () => {
        const found = await rows(
          pool,
          `SELECT s.ticket_id, k.number, s.last_at FROM subject_index s JOIN tickets k ON k.id = s.ticket_id
           WHERE s.subject_key = $1 AND s.last_at >= $2
             AND (k.queue = $3 OR EXISTS (SELECT 1 FROM ticket_queues q WHERE q.ticket_id = k.id AND q.queue = $3))
           ORDER BY s.last_at DESC, k.number LIMIT $4`,
          [input.subjectKey, isoInstant(input.since, 'since'), normalizeAddress(input.queue), input.limit],
        );
        return found.map(toSubjectCandidate);
      }),

    findAcknowledgement: (messageId) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT ticket_id, recipient, state FROM acknowledgements WHERE message_id = $1 ORDER BY created LIMIT 1', [messageId]);
        return row ? toSentAcknowledgement(row) : null;
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
  };
}

function mailLedger(access: PostgresAccess): MailLedger {
  const { pool, transaction, guarded } = access;
  return {
    ...postgresNotificationMethods(access),
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

    markUndeliverable: (input) =>
      guarded(async () => {
        // A mark in force keeps its first reason and expiry; an expired one is replaced.
        await pool.query(
          `INSERT INTO undeliverable (address, reason, created, expires) VALUES ($1, $2, $3, $4)
           ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, created = excluded.created, expires = excluded.expires
           WHERE undeliverable.expires <= excluded.created`,
          [normalizeAddress(input.address), input.reason, isoInstant(input.at, 'at'), isoInstant(input.expires, 'expires')],
        );
      }),

    isUndeliverable: (address, at) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM undeliverable WHERE address = $1 AND expires > $2', [normalizeAddress(address), isoInstant(at, 'at')]);
        if (!row) return null;
        const { reason, since, expires } = toUndeliverable(row);
        return { reason, since, expires };
      }),

    listUndeliverable: (input) =>
      guarded(async () =>
        (await rows(pool, 'SELECT * FROM undeliverable WHERE expires > $1 ORDER BY created DESC, address LIMIT $2', [isoInstant(input.at, 'at'), input.limit])).map(
          toUndeliverable,
        ),
      ),

    clearUndeliverable: (address) =>
      guarded(async () => ((await pool.query('DELETE FROM undeliverable WHERE address = $1', [normalizeAddress(address)])).rowCount ?? 0) > 0),

    recordEmail: (record) =>
      guarded(async () => {
        const columns = emailColumns(record);
        await pool.query(
          `INSERT INTO emails (workflow_id, message_id, queue, sender, subject, email_class, evidence, outcome, reason,
             ticket_id, raw_sha256, created, updated)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
           ON CONFLICT (workflow_id) DO UPDATE SET message_id = excluded.message_id, queue = excluded.queue,
             sender = excluded.sender, subject = excluded.subject, email_class = excluded.email_class,
             evidence = excluded.evidence, outcome = excluded.outcome, reason = excluded.reason,
             ticket_id = excluded.ticket_id, raw_sha256 = COALESCE(excluded.raw_sha256, emails.raw_sha256),
             updated = GREATEST(emails.updated, excluded.updated)`,
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

    answerClaim: (key, answer) =>
      guarded(async () => {
        await pool.query('UPDATE claims SET answer = $1 WHERE key = $2', [answer, key]);
      }),

    claimAnswer: (key) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT answer FROM claims WHERE key = $1', [key]);
        return row ? toClaimAnswer(row) : null;
      }),

    getEmail: (workflowId) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM emails WHERE workflow_id = $1', [workflowId]);
        return row ? toEmail(row) : null;
      }),

    recordMessageIdClash: (clash) =>
      guarded(async () => {
        // One statement: both notes are written or neither.
        await pool.query(
          `INSERT INTO message_id_clashes (workflow_id, other_workflow_id, message_id, created)
           VALUES ($1, $2, $3, $4), ($2, $1, $3, $4) ON CONFLICT DO NOTHING`,
          [clash.workflowId, clash.otherWorkflowId, clash.messageId, now()],
        );
      }),

    messageIdClashes: (workflowId) =>
      guarded(async () =>
        (await rows(pool, 'SELECT * FROM message_id_clashes WHERE workflow_id = $1 ORDER BY created, other_workflow_id', [workflowId])).map(toMessageIdClash),
      ),

    recordTicketMove: (move) =>
      guarded(async () => {
        await pool.query(
          `INSERT INTO ticket_moves (ticket_id, workflow_id, to_queue, from_queue, moved_by, created)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
          [move.ticketId, move.workflowId, normalizeAddress(move.toQueue), normalizeAddress(move.fromQueue), move.by, now()],
        );
      }),

    ticketMoves: (ticketId) =>
      guarded(async () => (await rows(pool, 'SELECT * FROM ticket_moves WHERE ticket_id = $1 ORDER BY created, workflow_id', [ticketId])).map(toTicketMove)),
  };
}
