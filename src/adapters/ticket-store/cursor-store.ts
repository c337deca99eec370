/**
 * The Ledger's poll cursors (src/ports/ledger.ts, issue 17), on both databases: an IMAP mailbox's
 * (UIDVALIDITY, last UID) and a provider event API's since-cursor. The SQL differs only in
 * placeholders and in MAX versus GREATEST, so one file holds both.
 */
import type { MailboxCursor, SinceCursor } from '../../ports/ledger';
import { now } from './keys';
import type { CursorLedger } from './port-methods';
import { one, type PostgresAccess } from './postgres-query';
import type { Row } from './rows';
import type { SqliteAccess } from './sqlite-access';

/** A UID is a 32-bit unsigned number (RFC 9051 §2.3.1.1); pg returns bigint as text. */
function toMailboxCursor(row: Row): MailboxCursor {
  const lastUid = Number(row['last_uid']);
  if (!Number.isSafeInteger(lastUid) || lastUid < 0) throw new Error('mailbox_cursors.last_uid is not a UID');
  return { account: String(row['account']), mailbox: String(row['mailbox']), uidValidity: String(row['uid_validity']), lastUid };
}

function checkedCursor(cursor: MailboxCursor): MailboxCursor {
  if (!Number.isSafeInteger(cursor.lastUid) || cursor.lastUid < 0 || cursor.lastUid > 0xffffffff) {
    throw new RangeError(`lastUid must be a UID (0 to 2^32-1), not ${cursor.lastUid}`);
  }
  if (!/^\d{1,10}$/.test(cursor.uidValidity)) throw new RangeError('uidValidity must be a decimal number');
  return cursor;
}

// Same UIDVALIDITY: the higher UID wins (a late retry of an older batch never rewinds). A new
// UIDVALIDITY replaces the cursor: the old UIDs name nothing any more.
const advance = (greatest: 'MAX' | 'GREATEST', p: (n: number) => string): string => `
  INSERT INTO mailbox_cursors (account, mailbox, uid_validity, last_uid, updated) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)})
  ON CONFLICT (account, mailbox) DO UPDATE SET
    last_uid = CASE WHEN mailbox_cursors.uid_validity = excluded.uid_validity
                    THEN ${greatest}(mailbox_cursors.last_uid, excluded.last_uid) ELSE excluded.last_uid END,
    uid_validity = excluded.uid_validity,
    updated = excluded.updated
  RETURNING account, mailbox, uid_validity, last_uid`;

const SAVE_SINCE = (p: (n: number) => string): string => `
  INSERT INTO since_cursors (source, since, updated) VALUES (${p(1)}, ${p(2)}, ${p(3)})
  ON CONFLICT (source) DO UPDATE SET since = excluded.since, updated = excluded.updated`;

const sqliteParam = (): string => '?';
const pgParam = (n: number): string => `$${n}`;

function toSince(row: Row | undefined): SinceCursor | null {
  return row ? { source: String(row['source']), since: String(row['since']) } : null;
}

export function sqliteCursorMethods({ get, write, run, guarded }: SqliteAccess): CursorLedger {
  return {
    mailboxCursor: (account, mailbox) =>
      guarded(() => {
        const row = get('SELECT * FROM mailbox_cursors WHERE account = ? AND mailbox = ?', account, mailbox);
        return row ? toMailboxCursor(row) : null;
      }),
    advanceMailboxCursor: (cursor) =>
      guarded(() => {
        const c = checkedCursor(cursor);
        return write(() => toMailboxCursor(get(advance('MAX', sqliteParam), c.account, c.mailbox, c.uidValidity, c.lastUid, now())!));
      }),
    sinceCursor: (source) => guarded(() => toSince(get('SELECT source, since FROM since_cursors WHERE source = ?', source))),
    saveSinceCursor: (cursor) =>
      guarded(() => {
        run(SAVE_SINCE(sqliteParam), cursor.source, cursor.since, now());
      }),
  };
}

export function postgresCursorMethods({ pool, guarded }: PostgresAccess): CursorLedger {
  return {
    mailboxCursor: (account, mailbox) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM mailbox_cursors WHERE account = $1 AND mailbox = $2', [account, mailbox]);
        return row ? toMailboxCursor(row) : null;
      }),
    advanceMailboxCursor: (cursor) =>
      guarded(async () => {
        const c = checkedCursor(cursor);
        return toMailboxCursor((await one(pool, advance('GREATEST', pgParam), [c.account, c.mailbox, c.uidValidity, c.lastUid, now()]))!);
      }),
    sinceCursor: (source) => guarded(async () => toSince(await one(pool, 'SELECT source, since FROM since_cursors WHERE source = $1', [source]))),
    saveSinceCursor: (cursor) =>
      guarded(async () => {
        await pool.query(SAVE_SINCE(pgParam), [cursor.source, cursor.since, now()]);
      }),
  };
}
