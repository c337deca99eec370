/**
 * The SQLite store's Helpdesk port: tickets, comments and their attachments, status changes and extra
 * queues, and the built-in's own reads (full conversations, listing, attachment lookups). Writes take
 * the connection's write lock up front (BEGIN IMMEDIATE, see sqlite.ts).
 */
import { InvalidTicketInputError, TicketNotFoundError } from './errors';
import { linkedTicketMissing, resolveNewTicket, resolveStatus } from './inputs';
import { commentIdFor, isTicketNumber, newAttachmentId, normalizeAddress, now, ticketIdFor } from './keys';
import { listingQuery, resolveListing, toPage } from './paging';
import type { HelpdeskMethods } from './port-methods';
import { type Row, toAttachment, toComment, toTicket, toTicketWithComments } from './rows';
import type { SqliteAccess } from './sqlite-access';
import { attachmentNamesSql, RETURNING_NEW_TICKET, SQLITE_TICKET_SELECT } from './ticket-select';
import type { Comment, CommentInput, TicketWithComments } from './types';

type TicketWrites = Pick<HelpdeskMethods, 'createTicket' | 'addComment' | 'setStatus' | 'noteQueue' | 'moveTicket'>;
type TicketReads = Omit<HelpdeskMethods, keyof TicketWrites>;

export function sqliteHelpdeskMethods(access: SqliteAccess): HelpdeskMethods {
  return { ...ticketWrites(access), ...ticketReads(access) };
}

function ticketWrites(access: SqliteAccess): TicketWrites {
  const { get, run, write, guarded } = access;
  return {
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
          insertComment(access, id, columns.queue, input.comment, created);
          return { ticket: toTicket(row), created: true };
        });
      }),

    addComment: (ticketId, input) =>
      guarded(() =>
        write(() => {
          const ticket = get('SELECT queue FROM tickets WHERE id = ?', ticketId);
          if (!ticket) throw new TicketNotFoundError(ticketId);
          const created = now();
          const comment = insertComment(access, ticketId, String(ticket['queue']), input, created);
          if (comment) {
            run('UPDATE tickets SET updated = ? WHERE id = ? AND updated < ?', created, ticketId, created);
            return { comment, created: true };
          }
          const existing = loadComment(access, commentIdFor(ticketId, input.messageId));
          if (!existing) throw new Error(`comment ${input.messageId} on ticket ${ticketId} conflicted but cannot be read`);
          return { comment: existing, created: false };
        }),
      ),

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

    moveTicket: (ticketId, queue) =>
      guarded(() => {
        const target = normalizeAddress(queue);
        if (target === '') throw new InvalidTicketInputError('queue must not be empty');
        return write(() => {
          // Only a real move bumps `updated`, so a retried activity leaves the ticket as it was.
          run('UPDATE tickets SET queue = ?, updated = MAX(updated, ?) WHERE id = ? AND queue <> ?', target, now(), ticketId, target);
          run('DELETE FROM ticket_queues WHERE ticket_id = ? AND queue = ?', ticketId, target);
          const row = get(`${SQLITE_TICKET_SELECT} WHERE id = ?`, ticketId);
          if (!row) throw new TicketNotFoundError(ticketId);
          return toTicket(row);
        });
      }),
  };
}

function ticketReads(access: SqliteAccess): TicketReads {
  const { get, all, guarded } = access;
  return {
    getTicket: (id) => guarded(() => loadTicket(access, get(`${SQLITE_TICKET_SELECT} WHERE id = ?`, id))),

    getTicketByNumber: (number) =>
      guarded(() => (isTicketNumber(number) ? loadTicket(access, get(`${SQLITE_TICKET_SELECT} WHERE number = ?`, number)) : null)),

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
    attachmentNames: (ticketId) =>
      guarded(() =>
        all(attachmentNamesSql('rowid').replace('$1', '?'), ticketId).map((row) => ({ messageId: String(row.message_id), filename: String(row.filename) })),
      ),
  };
}

function loadTicket({ all }: SqliteAccess, ticketRow: Row | undefined): TicketWithComments | null {
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

function loadComment({ get, all }: SqliteAccess, commentId: string): Comment | null {
  const row = get('SELECT * FROM comments WHERE id = ?', commentId);
  if (!row) return null;
  return toComment(row, all('SELECT * FROM attachments WHERE comment_id = ? ORDER BY position', commentId));
}

/** Inserts a comment with its attachments and thread entry; undefined when it already exists. */
function insertComment(
  { get, run }: SqliteAccess,
  ticketId: string,
  queue: string,
  input: CommentInput,
  created: string,
): Comment | undefined {
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
