/**
 * The SQLite store's Ledger port: thread index, participants, acknowledgements, rate events,
 * undeliverable addresses, replay claims and email records. It shares sqlite.ts's connection and its
 * write lock discipline (BEGIN IMMEDIATE).
 */
import { mailboxOf } from '../../domain/mailbox';
import { authorAddress, emailColumns, isoInstant, participantMailboxes } from './inputs';
import { sqliteCursorMethods } from './cursor-store';
import { normalizeAddress, now } from './keys';
import type { LedgerMethods, MailLedger, TicketLedger } from './port-methods';
import { toClaimAnswer, toCount, toEmail, toMessageIdClash, toSentAcknowledgement, toSubjectCandidate, toThreadEntry, toTicketMove, toUndeliverable } from './rows';
import type { SqliteAccess } from './sqlite-access';
import { sqliteNotificationMethods } from './sqlite-notifications';

import { sqliteDeliveries } from './sqlite-deliveries';
import { pickThread } from './thread-match';

/** ISO instants of one shape sort as text, so `at >= ?` is a time comparison (see isoInstant). */
const COUNT_WINDOW = 'SELECT COUNT(*) AS n FROM rate_events WHERE key = ? AND at >= ?';


export function sqliteLedgerMethods(access: SqliteAccess): LedgerMethods {
  return { ...ticketLedger(access), ...mailLedger(access), ...sqliteDeliveries(access), ...sqliteCursorMethods(access) };
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
        // By mailbox: `Ann+x@Customer.example` is Ann (issue 12); the same rule as the rate keys.
        const wanted = mailboxOf(address);
        const ticket = get('SELECT requester FROM tickets WHERE id = ?', ticketId);
        if (!ticket) return false;
        if (mailboxOf(String(ticket['requester'])) === wanted) return true;
        if (get('SELECT 1 FROM participants WHERE ticket_id = ? AND mailbox = ? LIMIT 1', ticketId, wanted)) return true;
        const recipients = all('SELECT DISTINCT recipient FROM acknowledgements WHERE ticket_id = ?', ticketId);
        if (recipients.some((r) => mailboxOf(String(r['recipient'])) === wanted)) return true;
        // Authors are stored as given, so they are normalized here rather than with SQL lower(),
        // which in SQLite folds ASCII only. Internal notes do not count (see the port).
        const authors = all('SELECT DISTINCT author FROM comments WHERE ticket_id = ? AND internal = 0', ticketId);
        return authors.some((r) => mailboxOf(authorAddress(String(r['author']))) === wanted);
      }),

    addParticipants: (input) =>
      guarded(() => {
        const at = now();
        for (const mailbox of participantMailboxes(input.addresses)) {
          run('INSERT INTO participants (ticket_id, mailbox, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', input.ticketId, mailbox, at);
        }
      }),

    indexSubject: (entry) =>
      guarded(() => {
        const at = isoInstant(entry.at, 'at');
        write(() => {
          run(
            `INSERT INTO subject_index (ticket_id, subject_key, last_at) VALUES (?, ?, ?)
             ON CONFLICT (ticket_id, subject_key) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)`,
            entry.ticketId,
            entry.subjectKey,
            at,
          );
          run('UPDATE subject_index SET last_at = ? WHERE ticket_id = ? AND last_at < ?', at, entry.ticketId, at);
        });
      }),

    findTicketsBySubject: (input) =>
      guarded(() => {
        const queue = normalizeAddress(input.queue);
        return all(
          `SELECT s.ticket_id, k.number, s.last_at FROM subject_index s JOIN tickets k ON k.id = s.ticket_id
           WHERE s.subject_key = ? AND s.last_at >= ?
             AND (k.queue = ? OR EXISTS (SELECT 1 FROM ticket_queues q WHERE q.ticket_id = k.id AND q.queue = ?))
           ORDER BY s.last_at DESC, k.number LIMIT ?`,
          input.subjectKey,
          isoInstant(input.since, 'since'),
          queue,
          queue,
          input.limit,
        ).map(toSubjectCandidate);
      }),

    findAcknowledgement: (messageId) =>
      guarded(() => {
        const row = get('SELECT ticket_id, recipient, state FROM acknowledgements WHERE message_id = ? ORDER BY created LIMIT 1', messageId);
        return row ? toSentAcknowledgement(row) : null;
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

function mailLedger(access: SqliteAccess): MailLedger {
  const { get, all, run, write, guarded } = access;
  return {
    ...sqliteNotificationMethods(access),
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

    markUndeliverable: (input) =>
      guarded(() => {
        const at = isoInstant(input.at, 'at');
        // A mark in force keeps its first reason and expiry; an expired one is replaced.
        run(
          `INSERT INTO undeliverable (address, reason, created, expires) VALUES (?, ?, ?, ?)
           ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, created = excluded.created, expires = excluded.expires
           WHERE undeliverable.expires IS NULL OR undeliverable.expires <= excluded.created`,
          normalizeAddress(input.address),
          input.reason,
          at,
          isoInstant(input.expires, 'expires'),
        );
      }),

    isUndeliverable: (address, at) =>
      guarded(() => {
        const row = get('SELECT * FROM undeliverable WHERE address = ? AND expires > ?', normalizeAddress(address), isoInstant(at, 'at'));
        if (!row) return null;
        const { reason, since, expires } = toUndeliverable(row);
        return { reason, since, expires };
      }),

    listUndeliverable: (input) =>
      guarded(() =>
        all('SELECT * FROM undeliverable WHERE expires > ? ORDER BY created DESC, address LIMIT ?', isoInstant(input.at, 'at'), input.limit).map(toUndeliverable),
      ),

    clearUndeliverable: (address) =>
      guarded(() => run('DELETE FROM undeliverable WHERE address = ?', normalizeAddress(address)) > 0),

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

    answerClaim: (key, answer) =>
      guarded(() => {
        run('UPDATE claims SET answer = ? WHERE key = ?', answer, key);
      }),

    claimAnswer: (key) =>
      guarded(() => {
        const row = get('SELECT answer FROM claims WHERE key = ?', key);
        return row ? toClaimAnswer(row) : null;
      }),

    getEmail: (workflowId) =>
      guarded(() => {
        const row = get('SELECT * FROM emails WHERE workflow_id = ?', workflowId);
        return row ? toEmail(row) : null;
      }),

    recordMessageIdClash: (clash) =>
      guarded(() =>
        write(() => {
          const at = now();
          for (const [one, other] of [
            [clash.workflowId, clash.otherWorkflowId],
            [clash.otherWorkflowId, clash.workflowId],
          ] as const) {
            run(
              `INSERT INTO message_id_clashes (workflow_id, other_workflow_id, message_id, created)
               VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
              one,
              other,
              clash.messageId,
              at,
            );
          }
        }),
      ),

    messageIdClashes: (workflowId) =>
      guarded(() => all('SELECT * FROM message_id_clashes WHERE workflow_id = ? ORDER BY created, other_workflow_id', workflowId).map(toMessageIdClash)),

    recordTicketMove: (move) =>
      guarded(() => {
        run(
          `INSERT INTO ticket_moves (ticket_id, workflow_id, to_queue, from_queue, moved_by, created)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
          move.ticketId,
          move.workflowId,
          normalizeAddress(move.toQueue),
          normalizeAddress(move.fromQueue),
          move.by,
          now(),
        );
      }),

    ticketMoves: (ticketId) => guarded(() => all('SELECT * FROM ticket_moves WHERE ticket_id = ? ORDER BY created, rowid', ticketId).map(toTicketMove)),
  };
}
