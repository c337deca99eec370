/**
 * The Retention port (src/ports/retention.ts) for both databases, written once over a small SQL
 * surface: reads, and a batch of writes run in one transaction. Statements use `?` placeholders;
 * the PostgreSQL side numbers them. Lists are spliced as placeholder lists in chunks, which both
 * dialects take, so no array parameter type differs between them.
 *
 * Erasure reads first (which addresses are the requester's mailbox, which tickets and comments),
 * then writes everything in one transaction. A ticket opened between the two is not erased; running
 * the erasure again (it is idempotent) catches it.
 */
import { mailboxOf } from '../../domain/mailbox';
import { EMPTY_ERASURE_COUNTS, type ErasureAudit, type ErasureCounts, type ErasurePlan, type RetentionStore } from '../../ports/retention';
import { authorAddress, isoInstant } from './inputs';
import type { Row } from './rows';

export interface Statement {
  sql: string;
  params: (string | number | null)[];
}

export interface SqlSurface {
  all(sql: string, params: (string | number | null)[]): Promise<Row[]>;
  /** Runs the statements in order in one transaction; returns each one's changed-row count. */
  batch(statements: Statement[]): Promise<number[]>;
}

/** Placeholders per statement: far below SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const CHUNK = 500;

/** Rows redacted comments keep: the fact that someone wrote, not what or who. */
export const ERASED_AUTHOR = 'erased@mailgate.invalid';
export const ERASED_TEXT = '[erased at the request of its author]';
/** Unique per comment (comments are unique by ticket and Message-ID); `||` concatenates in both dialects. */
const ERASED_MESSAGE_ID_SQL = `'erased-' || id || '@mailgate.invalid'`;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');
const str = (row: Row, column: string): string => String(row[column]);

/** `SELECT … WHERE column IN (list)` over a list of any length, as one array of rows. */
async function allIn(db: SqlSurface, sql: (placeholders: string) => string, list: readonly string[], extra: (string | number)[] = []): Promise<Row[]> {
  const out: Row[] = [];
  for (const part of chunks(list)) out.push(...(await db.all(sql(marks(part.length)), [...part, ...extra])));
  return out;
}

function stmtsIn(sql: (placeholders: string) => string, list: readonly string[], extra: (string | null)[] = []): Statement[] {
  return chunks(list).map((part) => ({ sql: sql(marks(part.length)), params: [...extra, ...part] }));
}

const unique = (values: Iterable<string>): string[] => [...new Set(values)];

/** Everything the requester's mailbox names in the database, found by reading. */
interface Footprint {
  addresses: string[];
  ticketIds: string[];
  /** Comments the requester wrote on tickets that are not theirs. */
  foreignCommentIds: string[];
  foreignMessageIds: { ticketId: string; messageId: string }[];
  emailWorkflowIds: string[];
  rawSha256: string[];
  undeliverable: string[];
  ackWorkflowIds: string[];
}

async function footprint(db: SqlSurface, mailbox: string): Promise<Footprint> {
  const target = mailboxOf(mailbox);
  const domain = target.slice(target.lastIndexOf('@') + 1);
  // Addresses are stored lower-cased; the domain narrows the scan (a Gmail mailbox is also spelled
  // with googlemail.com), and mailboxOf decides, so plus-tags, dots and case all match.
  // `%` after the domain too: comment authors may be written "Name <address>".
  const domains = (domain === 'gmail.com' ? ['gmail.com', 'googlemail.com'] : [domain]).map((d) => `%@${d}%`);
  const like = async (sql: string): Promise<Row[]> => (await Promise.all(domains.map((d) => db.all(sql, [d])))).flat();
  const mine = (address: string): boolean => mailboxOf(address) === target;

  const tickets = (await like('SELECT id, requester FROM tickets WHERE requester LIKE ?')).filter((r) => mine(str(r, 'requester')));
  const ticketIds = unique(tickets.map((r) => str(r, 'id')));
  const mineTickets = new Set(ticketIds);
  const authored = (await like('SELECT id, ticket_id, message_id, author FROM comments WHERE lower(author) LIKE ?'))
    .filter((r) => mine(authorAddress(str(r, 'author'))))
    .filter((r) => !mineTickets.has(str(r, 'ticket_id')));
  const emails = (await like('SELECT workflow_id, sender, raw_sha256 FROM emails WHERE sender LIKE ?')).filter((r) => mine(str(r, 'sender')));
  const undeliverable = (await like('SELECT address FROM undeliverable WHERE address LIKE ?')).map((r) => str(r, 'address')).filter(mine);
  const acks = (await like('SELECT workflow_id, recipient FROM acknowledgements WHERE recipient LIKE ?')).filter((r) => mine(str(r, 'recipient')));
  const addresses = unique([...tickets.map((r) => str(r, 'requester')), ...emails.map((r) => str(r, 'sender')), ...undeliverable, target]);
  return {
    addresses,
    ticketIds,
    foreignCommentIds: unique(authored.map((r) => str(r, 'id'))),
    foreignMessageIds: authored.map((r) => ({ ticketId: str(r, 'ticket_id'), messageId: str(r, 'message_id') })),
    emailWorkflowIds: unique(emails.map((r) => str(r, 'workflow_id'))),
    rawSha256: unique(emails.flatMap((r) => (r['raw_sha256'] === null || r['raw_sha256'] === undefined ? [] : [str(r, 'raw_sha256')]))),
    undeliverable,
    ackWorkflowIds: unique(acks.map((r) => str(r, 'workflow_id'))),
  };
}

/** Comments on the requester's tickets plus the comments they wrote elsewhere. */
async function commentIdsOf(db: SqlSurface, fp: Footprint): Promise<{ onTickets: string[]; all: string[] }> {
  const onTickets = (await allIn(db, (m) => `SELECT id FROM comments WHERE ticket_id IN (${m})`, fp.ticketIds)).map((r) => str(r, 'id'));
  return { onTickets, all: unique([...onTickets, ...fp.foreignCommentIds]) };
}

async function plan(db: SqlSurface, mailbox: string): Promise<{ fp: Footprint; plan: ErasurePlan }> {
  const fp = await footprint(db, mailbox);
  const comments = await commentIdsOf(db, fp);
  const attachmentRows = await allIn(db, (m) => `SELECT id, storage_key FROM attachments WHERE comment_id IN (${m})`, comments.all);
  const doomedKeys = unique(attachmentRows.flatMap((r) => (r['storage_key'] ? [str(r, 'storage_key')] : [])));
  // Content-addressed: a file another requester also sent stays while their attachment links it.
  const doomedRows = new Set(attachmentRows.map((r) => str(r, 'id')));
  const stillLinked = new Set(
    (await allIn(db, (m) => `SELECT id, storage_key FROM attachments WHERE storage_key IN (${m})`, doomedKeys))
      .filter((r) => !doomedRows.has(str(r, 'id')))
      .map((r) => str(r, 'storage_key')),
  );
  const objectKeys = doomedKeys.filter((k) => !stillLinked.has(k));
  const mineWorkflows = new Set(fp.emailWorkflowIds);
  const sharedRaw = new Set(
    (await allIn(db, (m) => `SELECT workflow_id, raw_sha256 FROM emails WHERE raw_sha256 IN (${m})`, fp.rawSha256))
      .filter((r) => !mineWorkflows.has(str(r, 'workflow_id')))
      .map((r) => str(r, 'raw_sha256')),
  );
  const rawSha256 = fp.rawSha256.filter((s) => !sharedRaw.has(s));
  const threadRows = await allIn(db, (m) => `SELECT message_id FROM thread_index WHERE ticket_id IN (${m})`, fp.ticketIds);
  const ackRows = await allIn(db, (m) => `SELECT workflow_id FROM acknowledgements WHERE ticket_id IN (${m})`, fp.ticketIds);
  const target = mailboxOf(mailbox);
  const rate = await db.all('SELECT COUNT(*) AS n FROM rate_events WHERE key IN (?, ?)', [`new-ticket:${target}`, `ack:${target}`]);
  const counts: ErasureCounts = {
    ...EMPTY_ERASURE_COUNTS,
    tickets: fp.ticketIds.length,
    commentsRedacted: fp.foreignCommentIds.length,
    attachmentRows: attachmentRows.length,
    emailRecords: fp.emailWorkflowIds.length,
    threadEntries: threadRows.length + fp.foreignMessageIds.length,
    acknowledgements: unique([...ackRows.map((r) => str(r, 'workflow_id')), ...fp.ackWorkflowIds]).length,
    rateEvents: Number(rate[0]?.['n'] ?? 0),
    undeliverable: fp.undeliverable.length,
    rawObjects: rawSha256.length,
    attachmentObjects: objectKeys.length,
  };
  return { fp, plan: { counts, rawSha256, objectKeys } };
}

async function eraseRows(db: SqlSurface, mailbox: string): Promise<ErasureCounts> {
  const { fp, plan: planned } = await plan(db, mailbox);
  const comments = await commentIdsOf(db, fp);
  const target = mailboxOf(mailbox);
  const steps: [keyof ErasureCounts | null, Statement[]][] = [
    ['attachmentRows', stmtsIn((m) => `DELETE FROM attachments WHERE comment_id IN (${m})`, comments.all)],
    [
      'commentsRedacted',
      // The Message-ID goes too: mail clients often build it from the sender's address.
      stmtsIn(
        (m) => `UPDATE comments SET text = ?, html = NULL, author = ?, message_id = ${ERASED_MESSAGE_ID_SQL} WHERE id IN (${m})`,
        fp.foreignCommentIds,
        [ERASED_TEXT, ERASED_AUTHOR],
      ),
    ],
    [
      'threadEntries',
      fp.foreignMessageIds.map((e) => ({ sql: 'DELETE FROM thread_index WHERE ticket_id = ? AND message_id = ?', params: [e.ticketId, e.messageId] })),
    ],
    ['threadEntries', stmtsIn((m) => `DELETE FROM thread_index WHERE ticket_id IN (${m})`, fp.ticketIds)],
    [null, stmtsIn((m) => `DELETE FROM subject_index WHERE ticket_id IN (${m})`, fp.ticketIds)],
    ['acknowledgements', stmtsIn((m) => `DELETE FROM acknowledgements WHERE ticket_id IN (${m})`, fp.ticketIds)],
    ['acknowledgements', stmtsIn((m) => `DELETE FROM acknowledgements WHERE workflow_id IN (${m})`, fp.ackWorkflowIds)],
    [null, stmtsIn((m) => `DELETE FROM comments WHERE ticket_id IN (${m})`, fp.ticketIds)],
    [null, stmtsIn((m) => `DELETE FROM ticket_queues WHERE ticket_id IN (${m})`, fp.ticketIds)],
    [null, stmtsIn((m) => `DELETE FROM ticket_moves WHERE ticket_id IN (${m})`, fp.ticketIds)],
    [null, stmtsIn((m) => `DELETE FROM notifications WHERE ticket_id IN (${m})`, fp.ticketIds)],
    // Participants (issue 12, class 6) are stored by mailbox: hers on any ticket, and everyone's on hers.
    [null, stmtsIn((m) => `DELETE FROM participants WHERE ticket_id IN (${m})`, fp.ticketIds)],
    [null, [{ sql: 'DELETE FROM participants WHERE mailbox = ?', params: [target] }]],
    // Message-ID clash notes (class 11) name her emails' workflow ids.
    [null, stmtsIn((m) => `DELETE FROM message_id_clashes WHERE workflow_id IN (${m})`, fp.emailWorkflowIds)],
    [null, stmtsIn((m) => `DELETE FROM message_id_clashes WHERE other_workflow_id IN (${m})`, fp.emailWorkflowIds)],
    [null, stmtsIn((m) => `UPDATE tickets SET linked_ticket_id = NULL WHERE linked_ticket_id IN (${m})`, fp.ticketIds)],
    // Other people's email records that landed on an erased ticket keep their outcome, not the link.
    [null, stmtsIn((m) => `UPDATE emails SET ticket_id = NULL WHERE ticket_id IN (${m})`, fp.ticketIds)],
    ['tickets', stmtsIn((m) => `DELETE FROM tickets WHERE id IN (${m})`, fp.ticketIds)],
    ['emailRecords', stmtsIn((m) => `DELETE FROM emails WHERE workflow_id IN (${m})`, fp.emailWorkflowIds)],
    ['rateEvents', [{ sql: 'DELETE FROM rate_events WHERE key IN (?, ?)', params: [`new-ticket:${target}`, `ack:${target}`] }]],
    ['undeliverable', stmtsIn((m) => `DELETE FROM undeliverable WHERE address IN (${m})`, fp.undeliverable)],
  ];
  const changed = await db.batch(steps.flatMap(([, statements]) => statements));
  const counts: ErasureCounts = { ...EMPTY_ERASURE_COUNTS, rawObjects: planned.counts.rawObjects, attachmentObjects: planned.counts.attachmentObjects };
  let i = 0;
  for (const [field, statements] of steps) {
    for (let n = 0; n < statements.length; n++, i++) if (field) counts[field] += changed[i] ?? 0;
  }
  return counts;
}

function toAudit(row: Row): ErasureAudit {
  const when = (column: string): string => {
    const value = row[column];
    return value instanceof Date ? value.toISOString() : new Date(String(value)).toISOString();
  };
  return {
    id: str(row, 'id'),
    requestedBy: str(row, 'requested_by'),
    requestedAt: when('requested_at'),
    subjectDigest: str(row, 'subject_digest'),
    dryRun: row['dry_run'] === true || Number(row['dry_run']) === 1,
    counts: { ...EMPTY_ERASURE_COUNTS, ...(JSON.parse(str(row, 'counts')) as Partial<ErasureCounts>) },
    completedAt: when('completed_at'),
  };
}

export function retentionMethods(db: SqlSurface, options: { dryRunValue: (dryRun: boolean) => number | string }): RetentionStore {
  return {
    rawUsedSince: async (rawSha256, since) =>
      unique(
        (await allIn(db, (m) => `SELECT DISTINCT raw_sha256 FROM emails WHERE raw_sha256 IN (${m}) AND updated >= ?`, rawSha256, [isoInstant(since, 'since')])).map(
          (r) => str(r, 'raw_sha256'),
        ),
      ),
    keysLinkedSince: async (keys, since) =>
      unique(
        (
          await allIn(
            db,
            (m) => `SELECT DISTINCT a.storage_key FROM attachments a JOIN comments c ON c.id = a.comment_id WHERE a.storage_key IN (${m}) AND c.created >= ?`,
            keys,
            [isoInstant(since, 'since')],
          )
        ).map((r) => str(r, 'storage_key')),
      ),
    forgetStorageKeys: async (keys) => (await db.batch(stmtsIn((m) => `UPDATE attachments SET storage_key = NULL WHERE storage_key IN (${m})`, keys))).reduce((a, b) => a + b, 0),
    purgeEmailRecords: async (before, limit) => {
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
      const ids = (await db.all('SELECT workflow_id FROM emails WHERE updated < ? ORDER BY updated LIMIT ?', [isoInstant(before, 'before'), limit])).map((r) =>
        str(r, 'workflow_id'),
      );
      return (await db.batch(stmtsIn((m) => `DELETE FROM emails WHERE workflow_id IN (${m})`, ids))).reduce((a, b) => a + b, 0);
    },
    planErasure: async (mailbox) => (await plan(db, mailbox)).plan,
    eraseRows: (mailbox) => eraseRows(db, mailbox),
    recordErasure: async (audit) => {
      await db.batch([
        {
          sql: `INSERT INTO erasures (id, requested_by, requested_at, subject_digest, dry_run, counts, completed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
          params: [
            audit.id,
            audit.requestedBy,
            isoInstant(audit.requestedAt, 'requestedAt'),
            audit.subjectDigest,
            options.dryRunValue(audit.dryRun),
            JSON.stringify(audit.counts),
            isoInstant(audit.completedAt, 'completedAt'),
          ],
        },
      ]);
    },
    getErasure: async (id) => {
      const row = (await db.all('SELECT * FROM erasures WHERE id = ?', [id]))[0];
      return row ? toAudit(row) : null;
    },
  };
}
