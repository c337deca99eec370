/**
 * The SQLite store's Ledger port: thread index, participants, acknowledgements, rate events,
 * undeliverable addresses, replay claims and email records. It shares sqlite.ts's connection and its
 * write lock discipline (BEGIN IMMEDIATE).
 */
import { authorAddress, emailColumns, isoInstant } from './inputs';
import { normalizeAddress, now } from './keys';
import type { LedgerMethods } from './port-methods';
import { toCount, toEmail, toThreadEntry, toUndeliverable } from './rows';
import type { SqliteAccess } from './sqlite-access';
import { pickThread } from './thread-match';

/** ISO instants of one shape sort as text, so `at >= ?` is a time comparison (see isoInstant). */
const COUNT_WINDOW = 'SELECT COUNT(*) AS n FROM rate_events WHERE key = ? AND at >= ?';

/** What the ledger keeps per ticket: the Message-IDs that thread to it, who takes part, its acknowledgements. */
type TicketLedger = Pick<
  LedgerMethods,
  'findThread' | 'indexMessageId' | 'isParticipant' | 'reserveAcknowledgement' | 'markAcknowledgementSent'
>;
/** What it keeps per sender, request and email: rate events, bounces, replay claims, outcomes. */
type MailLedger = Omit<LedgerMethods, keyof TicketLedger>;

export function sqliteLedgerMethods(access: SqliteAccess): LedgerMethods {
  return { ...ticketLedger(access), ...mailLedger(access) };
}

function ticketLedger({ get, all, run, write, guarded }: SqliteAccess): TicketLedger {
  return {
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
  };
}

function mailLedger({ get, run, write, guarded }: SqliteAccess): MailLedger {
  return {
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
             ticket_id, raw_sha256, created, updated)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (workflow_id) DO UPDATE SET message_id = excluded.message_id, queue = excluded.queue,
             sender = excluded.sender, subject = excluded.subject, email_class = excluded.email_class,
             evidence = excluded.evidence, outcome = excluded.outcome, reason = excluded.reason,
             ticket_id = excluded.ticket_id, raw_sha256 = COALESCE(excluded.raw_sha256, emails.raw_sha256),
             updated = MAX(emails.updated, excluded.updated)`,
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
