/**
 * The PostgreSQL store's Helpdesk port: tickets, comments and their attachments, status changes and
 * extra queues, and the built-in's own reads (full conversations, listing, attachment lookups). It
 * shares postgres.ts's pool and its transaction and error handling.
 */
import type pg from 'pg';
import { InvalidTicketInputError, TicketNotFoundError } from './errors';
import { linkedTicketMissing, resolveNewTicket, resolveStatus } from './inputs';
import { commentIdFor, isTicketNumber, newAttachmentId, normalizeAddress, now, ticketIdFor } from './keys';
import { listingQuery, resolveListing, toPage } from './paging';
import type { HelpdeskMethods } from './port-methods';
import { one, type PostgresAccess, type Queryable, rows } from './postgres-query';
import { type Row, toAttachment, toComment, toTicket, toTicketWithComments } from './rows';
import { attachmentNamesSql, POSTGRES_TICKET_SELECT, RETURNING_NEW_TICKET } from './ticket-select';
import type { Comment, CommentInput, TicketWithComments } from './types';

/**
 * Lock class for creating one origin key (two-int advisory keys never overlap the one-bigint
 * migration lock in postgres.ts). Duplicates wait for the first to commit and then find its ticket,
 * instead of racing into the INSERT, which would burn a ticket number on each loser.
 */
const CREATE_LOCK_CLASS = 0x7469636b;

/** A signed 32-bit lock key from the ticket id's hex digest. */
function createLockKey(ticketId: string): number {
  return Number.parseInt(ticketId.slice(2, 10), 16) | 0;
}

type TicketWrites = Pick<HelpdeskMethods, 'createTicket' | 'addComment' | 'setStatus' | 'noteQueue' | 'moveTicket'>;
type TicketReads = Omit<HelpdeskMethods, keyof TicketWrites>;

export function postgresHelpdeskMethods(access: PostgresAccess): HelpdeskMethods {
  return { ...ticketWrites(access), ...ticketReads(access) };
}

function ticketWrites({ pool, transaction, guarded }: PostgresAccess): TicketWrites {
  return {
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

    moveTicket: (ticketId, queue) =>
      guarded(async () => {
        const target = normalizeAddress(queue);
        if (target === '') throw new InvalidTicketInputError('queue must not be empty');
        return transaction(async (client) => {
          const current = await one(client, 'SELECT queue FROM tickets WHERE id = $1 FOR NO KEY UPDATE', [ticketId]);
          if (!current) throw new TicketNotFoundError(ticketId);
          // Only a real move bumps `updated`, so a retried activity leaves the ticket as it was.
          if (current['queue'] !== target) {
            await client.query('UPDATE tickets SET queue = $2, updated = GREATEST(updated, $3) WHERE id = $1', [ticketId, target, now()]);
          }
          await client.query('DELETE FROM ticket_queues WHERE ticket_id = $1 AND queue = $2', [ticketId, target]);
          const row = await one(client, `${POSTGRES_TICKET_SELECT} WHERE id = $1`, [ticketId]);
          if (!row) throw new TicketNotFoundError(ticketId);
          return toTicket(row);
        });
      }),
  };
}

function ticketReads({ pool, guarded }: PostgresAccess): TicketReads {
  return {
    getTicket: (id) => guarded(async () => loadTicket(pool, await one(pool, `${POSTGRES_TICKET_SELECT} WHERE id = $1`, [id]))),

    getTicketByNumber: (number) =>
      guarded(async () => {
        if (!isTicketNumber(number)) return null;
        return loadTicket(pool, await one(pool, `${POSTGRES_TICKET_SELECT} WHERE number = $1`, [number]));
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
    attachmentNames: (ticketId) =>
      guarded(async () =>
        (await rows(pool, attachmentNamesSql('seq'), [ticketId])).map((row) => ({ messageId: String(row.message_id), filename: String(row.filename) })),
      ),
  };
}

async function loadTicket(pool: pg.Pool, ticketRow: Row | undefined): Promise<TicketWithComments | null> {
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
