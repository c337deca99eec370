/**
 * What the web view (src/api/web/) needs of the built-in store beyond the ports: agent sessions, a
 * ticket's assignee and priority, the ticket list's filters, and an audit of what signed-in users
 * did. Written once over the retention store's SQL surface (`?` placeholders; PostgreSQL numbers
 * them), so both databases run the same statements.
 */
import { PRIORITIES, TICKET_STATUSES } from './inputs';
import type { SqlSurface } from './retention-store';
import { timestamp, type Row } from './rows';
import type { TicketPriority, TicketStatus } from '../../domain/vocabulary';
import type { WebStore } from './web-types';

const str = (row: Row, column: string): string => String(row[column]);

function oneOf<T extends string>(value: unknown, allowed: readonly string[], column: string): T {
  if (typeof value !== 'string' || !allowed.includes(value)) throw new Error(`ticket store column ${column} has unexpected value`);
  return value as T;
}

/** LIKE wildcards in the searched text are literal (ESCAPE '\\' in both dialects). */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

export function webStoreMethods(db: SqlSurface): WebStore {
  return {
    async createSession(input) {
      await db.batch([
        {
          sql: 'INSERT INTO web_sessions (id_sha256, username, csrf_token, created, expires) VALUES (?, ?, ?, ?, ?)',
          params: [input.idSha256, input.username, input.csrfToken, input.created, input.expires],
        },
      ]);
    },
    async getSession(idSha256, now) {
      const [row] = await db.all('SELECT username, csrf_token, expires FROM web_sessions WHERE id_sha256 = ? AND expires > ?', [idSha256, now]);
      return row ? { username: str(row, 'username'), csrfToken: str(row, 'csrf_token'), expires: timestamp(row, 'expires') } : null;
    },
    async deleteSession(idSha256) {
      await db.batch([{ sql: 'DELETE FROM web_sessions WHERE id_sha256 = ?', params: [idSha256] }]);
    },
    async deleteExpiredSessions(now) {
      const [changed] = await db.batch([{ sql: 'DELETE FROM web_sessions WHERE expires <= ?', params: [now] }]);
      return changed ?? 0;
    },
    async findTickets(filter) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (filter.queue) {
        where.push('queue = ?');
        params.push(filter.queue);
      }
      if (filter.status) {
        where.push('status = ?');
        params.push(filter.status);
      }
      if (filter.priority) {
        where.push('priority = ?');
        params.push(filter.priority);
      }
      if (filter.text) {
        where.push(`(lower(subject) LIKE ? ESCAPE '\\' OR lower(requester) LIKE ? ESCAPE '\\')`);
        params.push(likePattern(filter.text), likePattern(filter.text));
      }
      const rows = await db.all(
        `SELECT id, number, subject, requester, queue, status, priority, assignee, updated FROM tickets
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY updated DESC, number DESC LIMIT ? OFFSET ?`,
        [...params, filter.limit + 1, filter.offset],
      );
      const tickets = rows.slice(0, filter.limit).map((row) => ({
        id: str(row, 'id'),
        number: Number(row['number']),
        subject: str(row, 'subject'),
        requester: str(row, 'requester'),
        queue: str(row, 'queue'),
        status: oneOf<TicketStatus>(row['status'], TICKET_STATUSES, 'status'),
        priority: oneOf<TicketPriority>(row['priority'], PRIORITIES, 'priority'),
        assignee: row['assignee'] === null ? null : str(row, 'assignee'),
        updated: timestamp(row, 'updated'),
      }));
      return { tickets, more: rows.length > filter.limit };
    },
    async ticketAssignee(ticketId) {
      const [row] = await db.all('SELECT assignee FROM tickets WHERE id = ?', [ticketId]);
      if (!row) return undefined;
      return row['assignee'] === null ? null : str(row, 'assignee');
    },
    async setAssignee(ticketId, assignee, now) {
      const [changed] = await db.batch([{ sql: 'UPDATE tickets SET assignee = ?, updated = ? WHERE id = ?', params: [assignee, now, ticketId] }]);
      return (changed ?? 0) > 0;
    },
    async setPriority(ticketId, priority, now) {
      const [changed] = await db.batch([{ sql: 'UPDATE tickets SET priority = ?, updated = ? WHERE id = ?', params: [priority, now, ticketId] }]);
      return (changed ?? 0) > 0;
    },
    async emailsOfTicket(ticketId, limit) {
      const rows = await db.all('SELECT workflow_id, subject, outcome, created FROM emails WHERE ticket_id = ? ORDER BY created LIMIT ?', [ticketId, limit]);
      return rows.map((row) => ({ workflowId: str(row, 'workflow_id'), subject: str(row, 'subject'), outcome: str(row, 'outcome'), created: timestamp(row, 'created') }));
    },
    async recordAudit(entry) {
      await db.batch([
        {
          sql: 'INSERT INTO web_audit (at, username, action, target, detail) VALUES (?, ?, ?, ?, ?)',
          params: [entry.at, entry.username, entry.action, entry.target, entry.detail],
        },
      ]);
    },
    async listAudit(limit) {
      const rows = await db.all('SELECT at, username, action, target, detail FROM web_audit ORDER BY id DESC LIMIT ?', [limit]);
      return rows.map((row) => ({ at: timestamp(row, 'at'), username: str(row, 'username'), action: str(row, 'action'), target: str(row, 'target'), detail: str(row, 'detail') }));
    },
  };
}
