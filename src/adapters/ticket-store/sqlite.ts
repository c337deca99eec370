/**
 * The embedded ticket store: one SQLite file shared by the API and the worker processes. WAL lets
 * readers run beside the one writer; every write takes the lock up front (BEGIN IMMEDIATE) and waits
 * up to the busy timeout for it, because a deferred transaction that upgrades to a writer fails with
 * SQLITE_BUSY at once instead of waiting. This file holds the connection, the schema and the
 * composition; the ports' methods are in sqlite-helpdesk.ts and sqlite-ledger.ts.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { isSqliteBusy, TicketStoreUnavailableError } from './errors';
import { now } from './keys';
import { pendingMigrations } from './migrations';
import type { Row } from './rows';
import type { SqliteAccess } from './sqlite-access';
import { sqliteHelpdeskMethods } from './sqlite-helpdesk';
import { sqliteLedgerMethods } from './sqlite-ledger';
import { retentionMethods, type SqlSurface } from './retention-store';
import { webStoreMethods } from './web-store';
import type { TicketStore } from './types';

export interface SqliteTicketStoreOptions {
  /** How long a write waits for another process's write lock before failing as unavailable. */
  busyTimeoutMs?: number;
  /**
   * When a commit waits for the disk. `normal` (the default): in WAL mode a commit survives any crash
   * of Mailgate's processes, and only an operating-system crash or power loss can roll back the last
   * commits, never corrupt the file; the embedded Temporal dev server runs with the same setting
   * (scripts/stack), so the pair loses the same window. `full`: every commit waits for an fsync
   * (about 4.5 ms of a blocked event loop on this machine). Deployments that need more run PostgreSQL.
   */
  synchronous?: 'normal' | 'full';
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

export function createSqliteTicketStore(path: string, options: SqliteTicketStoreOptions = {}): TicketStore {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${String(busyTimeoutMs)}`);
  }
  const unavailable = (cause: unknown): TicketStoreUnavailableError =>
    new TicketStoreUnavailableError(`SQLite database ${path} is locked by another writer (waited up to ${busyTimeoutMs} ms)`, { cause });

  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  try {
    // Switching to WAL writes the file header, so it too may wait for another process's lock.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.exec('PRAGMA foreign_keys = ON');
  } catch (error) {
    db.close();
    throw isSqliteBusy(error) ? unavailable(error) : error;
  }

  const statements = new Map<string, StatementSync>();
  function statement(sql: string): StatementSync {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  }
  const get = (sql: string, ...params: SQLInputValue[]): Row | undefined => statement(sql).get(...params);
  const all = (sql: string, ...params: SQLInputValue[]): Row[] => statement(sql).all(...params);
  const run = (sql: string, ...params: SQLInputValue[]): number => Number(statement(sql).run(...params).changes);

  function write<T>(work: () => T): T {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Runs synchronous database work as a promise, turning a lock timeout into a transient error. */
  async function guarded<T>(work: () => T): Promise<T> {
    try {
      return work();
    } catch (error) {
      throw isSqliteBusy(error) ? unavailable(error) : error;
    }
  }

  const access: SqliteAccess = { get, all, run, write, guarded };

  const surface: SqlSurface = {
    all: (sql, params) => guarded(() => all(sql, ...params)),
    batch: (statements) => guarded(() => write(() => statements.map((s) => run(s.sql, ...s.params)))),
  };

  return {
    migrate: () =>
      guarded(() =>
        write(() => {
          db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
          const applied = new Set(all('SELECT version FROM schema_migrations').map((r) => Number(r['version'])));
          for (const migration of pendingMigrations(applied)) {
            db.exec(migration.sqlite);
            run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', migration.version, migration.name, now());
          }
        }),
      ),

    ping: () =>
      guarded(() => {
        get('SELECT 1');
      }),

    close: async () => {
      if (db.isOpen) db.close();
    },

    ...sqliteHelpdeskMethods(access),
    ...sqliteLedgerMethods(access),
    ...webStoreMethods(surface),
    ...retentionMethods(
      surface,
      { dryRunValue: (dryRun) => (dryRun ? 1 : 0) },
    ),
  };
}
