import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';

function client(): pg.Client {
  return new pg.Client({
    host: process.env.PG_HOST ?? '127.0.0.1',
    port: Number(process.env.PG_PORT ?? 5433),
    user: process.env.PG_USER ?? 'mailgate',
    password: process.env.PG_PASSWORD ?? '',
    database: process.env.PG_DATABASE ?? 'mailgate',
  });
}

test('the project PostgreSQL cluster accepts the application role over TCP and runs a query', async () => {
  const db = client();
  await db.connect();
  try {
    const result = await db.query<{ sum: number; user: string; version: string }>(
      'SELECT $1::int + $2::int AS sum, current_user AS user, current_setting($3) AS version',
      [40, 2, 'server_version_num'],
    );
    assert.equal(result.rows[0]?.sum, 42);
    assert.equal(result.rows[0]?.user, process.env.PG_USER ?? 'mailgate');
    assert.ok(Number(result.rows[0]?.version) >= 150000);
    await db.query('CREATE TEMP TABLE probe (id serial PRIMARY KEY, body text NOT NULL)');
    await db.query('INSERT INTO probe (body) VALUES ($1), ($2)', ['a', 'b']);
    const count = await db.query<{ n: string }>('SELECT count(*) AS n FROM probe');
    assert.equal(count.rows[0]?.n, '2');
  } finally {
    await db.end();
  }
});

test('a wrong password is refused (the cluster does not trust TCP connections)', async () => {
  const db = new pg.Client({
    host: process.env.PG_HOST ?? '127.0.0.1',
    port: Number(process.env.PG_PORT ?? 5433),
    user: process.env.PG_USER ?? 'mailgate',
    password: 'not-the-password',
    database: process.env.PG_DATABASE ?? 'mailgate',
  });
  await assert.rejects(db.connect(), /password authentication failed/);
  await db.end().catch(() => undefined);
});
