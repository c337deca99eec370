/**
 * The HTTP adapter over acceptEmail answers an unavailable store or engine as it always did: 503
 * with Retry-After and the same reason, and nothing started. The app runs in this process with the
 * real adapters; the unavailable service is one at a loopback port nothing listens on, so the shared
 * test stack keeps running (ingress.test.ts stops it for real).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createClamdScanner } from '../../src/adapters/clamd';
import { createS3ObjectStore, type ObjectStore } from '../../src/adapters/object-store';
import { openTicketStore } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { createApp } from '../../src/api/app';
import { createLogger } from '../../src/logger';
import { freePort } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { config, unique } from '../helpers/stack';

describe('the inbound MIME endpoint with a backing service unreachable', () => {
  let tickets: TicketStore;
  let connection: Connection;
  const servers: Server[] = [];

  before(async () => {
    tickets = openTicketStore(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'mailgate-inbound-http-')), 'tickets.sqlite')}`);
    await tickets.migrate();
    connection = await Connection.connect({ address: config.temporal.address });
  });
  after(async () => {
    for (const server of servers) server.close();
    await connection?.close();
    await tickets?.close();
  });

  async function serve(store: ObjectStore, temporal: Client): Promise<string> {
    const app = createApp({
      config: { ...config, temporal: { ...config.temporal, taskQueue: unique('inbound-http') } },
      store,
      scanner: createClamdScanner(config.clamd),
      tickets,
      temporal,
      log: createLogger({ process: 'test' }, 'error'),
    });
    const server = app.listen(0, '127.0.0.1');
    servers.push(server);
    await new Promise((resolve) => server.once('listening', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const email = (id: string): Promise<Buffer> =>
    compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `HTTP ${id}`, messageId: `<${id}@c.example>`, text: 'x' });

  test('an unreachable object store is a 503 with Retry-After and the reason a sender has always been given', async () => {
    const down = createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 });
    const url = await serve(down, new Client({ connection, namespace: config.temporal.namespace }));
    const response = await postMime(url, await email(unique('http-store-down')));
    assert.equal(response.status, 503);
    assert.equal(response.retryAfter, '30');
    assert.deepEqual(response.body, { error: 'unavailable', reason: 'the message could not be stored; retry later' });
  });

  test('an unreachable workflow engine is a 503 with Retry-After and the reason a sender has always been given', async () => {
    const lazy = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 2_000 });
    try {
      const url = await serve(createS3ObjectStore(config.s3), new Client({ connection: lazy, namespace: config.temporal.namespace }));
      const response = await postMime(url, await email(unique('http-engine-down')));
      assert.equal(response.status, 503);
      assert.equal(response.retryAfter, '30');
      assert.deepEqual(response.body, { error: 'unavailable', reason: 'the email could not be handed to the workflow engine; retry later' });
    } finally {
      await lazy.close();
    }
  });
});
