/**
 * Small query helpers shared by the PostgreSQL store's files: what postgres.ts hands its port files,
 * results as plain rows, and advisory lock keys. Rows keep the store's column names; rows.ts checks
 * and converts them.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Row } from './rows';

export type Queryable = pg.Pool | pg.PoolClient;

export interface PostgresAccess {
  pool: pg.Pool;
  /** Runs `work` in one transaction on one pooled client. */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** Turns connection failures into TicketStoreUnavailableError. */
  guarded<T>(work: () => Promise<T>): Promise<T>;
}

export async function rows(db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> {
  return (await db.query<Row>(sql, params)).rows;
}

export async function one(db: Queryable, sql: string, params: unknown[] = []): Promise<Row | undefined> {
  return (await rows(db, sql, params))[0];
}

/**
 * A signed 32-bit advisory lock key for arbitrary text. Two texts may share a key; that only makes
 * them wait for each other, never lets a caller skip the lock.
 */
export function lockKeyOf(text: string): number {
  return createHash('sha256').update(text).digest().readInt32BE(0);
}
