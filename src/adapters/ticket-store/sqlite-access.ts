/** What sqlite.ts hands its port files: one connection's statements and its write lock discipline. */
import type { SQLInputValue } from 'node:sqlite';
import type { Row } from './rows';

export interface SqliteAccess {
  get(sql: string, ...params: SQLInputValue[]): Row | undefined;
  all(sql: string, ...params: SQLInputValue[]): Row[];
  /** Returns the number of changed rows. */
  run(sql: string, ...params: SQLInputValue[]): number;
  /** Runs `work` in a BEGIN IMMEDIATE transaction. */
  write<T>(work: () => T): T;
  /** Runs synchronous work as a promise, turning a lock timeout into TicketStoreUnavailableError. */
  guarded<T>(work: () => T): Promise<T>;
}
