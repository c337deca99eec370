/**
 * The SELECT every ticket read goes through, per dialect: a ticket row plus its extra queues as a
 * JSON array text column `extra_queues`, so one query serves single reads and listing pages alike
 * and rows.ts parses both backends' rows the same way. Append WHERE / ORDER BY clauses after it;
 * unqualified column names there refer to `tickets`.
 */
export const SQLITE_TICKET_SELECT = `SELECT tickets.*,
  (SELECT json_group_array(q.queue) FROM ticket_queues q WHERE q.ticket_id = tickets.id) AS extra_queues
  FROM tickets`;

/** json_agg of no rows is NULL, hence the COALESCE. */
export const POSTGRES_TICKET_SELECT = `SELECT tickets.*,
  (SELECT COALESCE(json_agg(q.queue), '[]'::json)::text FROM ticket_queues q WHERE q.ticket_id = tickets.id) AS extra_queues
  FROM tickets`;

/** For a ticket row just inserted: it cannot have extra queues yet. */
export const RETURNING_NEW_TICKET = `RETURNING *, '[]' AS extra_queues`;

/**
 * A ticket's file names with their comment's Message-ID, oldest first ($1: the ticket id). `order`
 * breaks ties within one millisecond: SQLite's implicit rowid, PostgreSQL's `seq`.
 */
export const attachmentNamesSql = (order: 'rowid' | 'seq'): string => `SELECT comments.message_id, attachments.filename
  FROM attachments JOIN comments ON attachments.comment_id = comments.id
  WHERE comments.ticket_id = $1
  ORDER BY comments.created, comments.${order}, attachments.position`;
