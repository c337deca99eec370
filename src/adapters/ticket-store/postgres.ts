/**
 * The ticket store on PostgreSQL, for deployments that outgrow one SQLite file. Idempotency rests on
 * unique keys with ON CONFLICT DO NOTHING: a concurrent duplicate waits for the first insert to
 * commit, then reads the winner (READ COMMITTED gives each statement a fresh snapshot). This file
 * holds the pool, the schema and the composition; the ports' methods are in postgres-helpdesk.ts and
 * postgres-ledger.ts.
 */
import pg from 'pg';
import { isPostgresUnavailable, TicketStoreUnavailableError } from './errors';
import { now } from './keys';
import { pendingMigrations } from './migrations';
import { type PostgresAccess, rows } from './postgres-query';
import { postgresHelpdeskMethods } from './postgres-helpdesk';
import { postgresLedgerMethods } from './postgres-ledger';
import { retentionMethods, type SqlSurface } from './retention-store';
import { webStoreMethods } from './web-store';
import type { TicketStore } from './types';

export interface PostgresTicketStoreOptions {
  /** Schema holding the tables, created when missing; tests use one per run to stay isolated. */
  schema?: string;
}

/** An unreachable host must fail the activity (and be retried), not hang it: pg waits forever by default. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Serializes migrate() across processes; an arbitrary constant ("mail") no other code locks on. */
const MIGRATION_LOCK_KEY = 0x6d61696c;

/** Plain lower-case identifiers only, so the name can be spliced into DDL and `-c search_path=`. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function poolConfig(url: string, schema: string | undefined): pg.PoolConfig {
  const base = { connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  if (schema === undefined) return { ...base, connectionString: url };
  // Options parsed from the URL override the config object, so any there are merged and removed.
  const parsed = new URL(url);
  const fromUrl = parsed.searchParams.get('options');
  parsed.searchParams.delete('options');
  const options = [fromUrl, `-c search_path=${schema}`].filter((o) => o !== null && o !== '').join(' ');
  return { ...base, connectionString: parsed.toString(), options };
}

/** host:port for error messages; never the URL itself, which may carry a password. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'local socket'}:${parsed.port || '5432'}`;
  } catch {
    return 'the configured server';
  }
}

/** `?` placeholders (the shared retention SQL) as PostgreSQL's `$1, $2, …`. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export function createPostgresTicketStore(url: string, options: PostgresTicketStoreOptions = {}): TicketStore {
  const { schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new RangeError(`schema must match ${SCHEMA_NAME.source}, got ${schema}`);
  }
  const server = describe(url);
  const pool = new pg.Pool(poolConfig(url, schema));
  // An idle client whose server went away emits 'error' on the pool, and an unhandled 'error' event
  // kills the process. The pool has already dropped that client; the next query reconnects or fails
  // with TicketStoreUnavailableError, which is where the caller learns of it.
  pool.on('error', () => undefined);
  let closed = false;

  async function guarded<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!isPostgresUnavailable(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new TicketStoreUnavailableError(`PostgreSQL at ${server} is unavailable: ${reason}`, { cause: error });
    }
  }

  async function transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    } finally {
      // Passing the error destroys a client whose connection failed instead of pooling it again.
      client.release(broken);
    }
  }

  const access: PostgresAccess = { pool, transaction, guarded };

  const surface: SqlSurface = {
    all: (sql, params) => guarded(() => rows(pool, numbered(sql), params)),
    batch: (statements) =>
      guarded(() =>
        transaction(async (client) => {
          const changed: number[] = [];
          for (const s of statements) changed.push((await client.query(numbered(s.sql), s.params)).rowCount ?? 0);
          return changed;
        }),
      ),
  };

  return {
    migrate: () =>
      guarded(() =>
        transaction(async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
          if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
          await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz(3) NOT NULL)`);
          const applied = new Set((await rows(client, 'SELECT version FROM schema_migrations')).map((r) => Number(r['version'])));
          for (const migration of pendingMigrations(applied)) {
            await client.query(migration.postgres);
            await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
              migration.version,
              migration.name,
              now(),
            ]);
          }
        }),
      ),

    ping: () =>
      guarded(async () => {
        await pool.query('SELECT 1');
      }),

    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },

    ...postgresHelpdeskMethods(access),
    ...postgresLedgerMethods(access),
    ...webStoreMethods(surface),
    ...retentionMethods(
      surface,
      { dryRunValue: (dryRun) => String(dryRun) },
    ),
  };
}
