/**
 * Opens the ticket store that DATABASE_URL names: `sqlite:<path>` (the embedded default) or
 * `postgres://` / `postgresql://`. Callers run `migrate()` once at start, before serving.
 */
import { createPostgresTicketStore } from './postgres';
import { createSqliteTicketStore } from './sqlite';
import type { TicketStore } from './types';

export type * from './types';
export { InvalidTicketInputError, InvalidTicketQueryError, TicketNotFoundError, TicketStoreUnavailableError } from './errors';
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from './paging';
export { createPostgresTicketStore, type PostgresTicketStoreOptions } from './postgres';
export { createSqliteTicketStore, type SqliteTicketStoreOptions } from './sqlite';

export function openTicketStore(databaseUrl: string): TicketStore {
  if (databaseUrl.startsWith('sqlite:')) {
    const [path = '', query = ''] = databaseUrl.slice('sqlite:'.length).split('?');
    if (path === '') throw new RangeError('DATABASE_URL sqlite: needs a file path after the colon');
    const synchronous = new URLSearchParams(query).get('synchronous') ?? 'normal';
    if (synchronous !== 'normal' && synchronous !== 'full') throw new RangeError(`DATABASE_URL sqlite:…?synchronous= must be normal or full, not ${synchronous}`);
    return createSqliteTicketStore(path, { synchronous });
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) return createPostgresTicketStore(databaseUrl);
  throw new RangeError('DATABASE_URL must start with sqlite: or postgres:// (or postgresql://)');
}
