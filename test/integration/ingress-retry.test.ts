/**
 * A retry is not an attack (issue 13, point 6): the same signed bytes posted again are answered as
 * the first request was. The app runs in this process on the real adapters (object store, Temporal,
 * SQLite ledger); the object store it writes to can be switched to one at a port nothing listens on,
 * or held at its first write, so a test decides when the first request fails or finishes.
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
import { signatureHeaders } from '../../src/api/signing';
import { createLogger } from '../../src/logger';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { config, eventually, unique } from '../helpers/stack';

interface Answer {
  status: number;
  retryHeader: string | null;
  body: { emails?: { workflowId: string; status: string; queue: string }[]; retry?: boolean; error?: string; reason?: string };
}

/** The real store, or a store nobody answers at; and a gate that holds the next write until opened. */
function switchableStore(live: ObjectStore, down: ObjectStore) {
  let current = live;
  let gate: { opened: Promise<void>; reached: () => void; fail: boolean } | undefined;
  const store: ObjectStore = {
    ...live,
    put: async (input) => {
      const held = gate;
      if (held) {
        gate = undefined;
        held.reached();
        await held.opened;
        if (held.fail) return down.put(input);
      }
      return current.put(input);
    },
    refresh: (key) => current.refresh(key),
  };
  return {
    store,
    useDown: () => void (current = down),
    useLive: () => void (current = live),
    /** Holds the next write (then sent to the unreachable store when `fail`); `reached` once a request waits at it. */
    hold: (fail = false) => {
      let open = (): void => undefined;
      let reached = (): void => undefined;
      const opened = new Promise<void>((r) => (open = r));
      const wasReached = new Promise<void>((r) => (reached = r));
      gate = { opened, reached, fail };
      return { open, reached: wasReached };
    },
  };
}

describe('a byte-identical retry of a signed ingress request', () => {
  let tickets: TicketStore;
  let connection: Connection;
  let server: Server;
  let url: string;
  let otherServer: Server;
  let otherUrl: string;
  let stores: ReturnType<typeof switchableStore>;
  const secret = config.ingress.secrets[0]!;

  before(async () => {
    tickets = openTicketStore(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'mailgate-ingress-retry-')), 'tickets.sqlite')}`);
    await tickets.migrate();
    connection = await Connection.connect({ address: config.temporal.address });
    stores = switchableStore(
      createS3ObjectStore(config.s3),
      createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 }),
    );
    // Two API processes' worth of app over one ledger: each remembers its own answers.
    const taskQueue = unique('ingress-retry');
    const serve = async (): Promise<{ server: Server; url: string }> => {
      const app = createApp({
        // A task queue no worker polls: the workflows only have to exist.
        config: { ...config, temporal: { ...config.temporal, taskQueue } },
        store: stores.store,
        scanner: createClamdScanner(config.clamd),
        tickets,
        temporal: new Client({ connection, namespace: config.temporal.namespace }),
        log: createLogger({ process: 'test' }, 'error'),
      });
      const listening = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => listening.once('listening', resolve));
      return { server: listening, url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}` };
    };
    ({ server, url } = await serve());
    ({ server: otherServer, url: otherUrl } = await serve());
  });
  after(async () => {
    server?.close();
    otherServer?.close();
    await connection?.close();
    await tickets?.close();
  });

  /** One signed request: the same body and headers can be sent again, exactly as a retrying MTA does. */
  async function signed(to = 'support@mailgate.local'): Promise<(target?: string) => Promise<Answer>> {
    const id = unique('retry');
    const body = await compose({ from: `${id}@customer.example`, to, subject: `Retry ${id}`, messageId: `<${id}@c.example>`, text: 'x' });
    const headers = { 'content-type': 'message/rfc822', ...signatureHeaders(secret, body) };
    return async (target = url) => {
      const response = await fetch(`${target}/v1/inbound/mime`, { method: 'POST', headers, body: new Uint8Array(body) });
      return { status: response.status, retryHeader: response.headers.get('x-mailgate-retry'), body: (await response.json()) as Answer['body'] };
    };
  }

  test('an immediate retry of an accepted request gets 202 with the same workflow ids, marked duplicate', async () => {
    const send = await signed();
    const first = await send();
    assert.equal(first.status, 202, JSON.stringify(first.body));
    assert.equal(first.body.emails?.[0]?.status, 'accepted');
    const again = await send();
    assert.equal(again.status, 202, JSON.stringify(again.body));
    assert.deepEqual(again.body.emails?.map((e) => e.workflowId), first.body.emails?.map((e) => e.workflowId));
    assert.deepEqual(again.body.emails?.map((e) => e.status), ['duplicate']);
    assert.equal(again.body.retry, true);
    assert.equal(again.retryHeader, 'answered-before');
    const third = await send();
    assert.equal(third.status, 202, 'any number of retries');
  });

  test('a retry that reaches another API process gets the same answer, from the ledger', async () => {
    const send = await signed();
    const first = await send();
    assert.equal(first.status, 202);
    const elsewhere = await eventually('the answer recorded with the claim', async () => {
      const again = await send(otherUrl);
      return again.status === 202 ? again : undefined;
    });
    assert.deepEqual(elsewhere.body.emails?.map((e) => [e.workflowId, e.status]), first.body.emails?.map((e) => [e.workflowId, 'duplicate']));
    assert.equal(elsewhere.body.retry, true);
    const refusedFirst = await signed('someone@elsewhere.example');
    assert.equal((await refusedFirst()).status, 422);
    const replay = await refusedFirst(otherUrl);
    assert.equal(replay.status, 401, 'a refused request stays refused in every process');
  });

  test('a retry that reaches another API process while the first is in flight waits for its answer', async () => {
    const send = await signed();
    const gate = stores.hold();
    const first = send();
    await gate.reached;
    const retry = send(otherUrl);
    await new Promise((r) => setTimeout(r, 400));
    gate.open();
    const [a, b] = await Promise.all([first, retry]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(b.body.emails?.[0]?.workflowId, a.body.emails?.[0]?.workflowId);
    assert.equal(b.body.emails?.[0]?.status, 'duplicate');
  });

  test('a retry that arrives while the first request is still in flight waits and gets the same answer', async () => {
    const send = await signed();
    const gate = stores.hold();
    const first = send();
    await gate.reached;
    const retry = send();
    // The retry is not answered while the first is held.
    const early = await Promise.race([retry.then(() => 'answered'), new Promise((r) => setTimeout(() => r('waiting'), 300))]);
    assert.equal(early, 'waiting');
    gate.open();
    const [a, b] = await Promise.all([first, retry]);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(a.body.emails?.[0]?.status, 'accepted');
    assert.equal(b.body.emails?.[0]?.status, 'duplicate');
    assert.equal(b.body.emails?.[0]?.workflowId, a.body.emails?.[0]?.workflowId);
  });

  test('a retry after the first failed with 503 is handled as new and accepted', async () => {
    const send = await signed();
    stores.useDown();
    let first: Answer;
    try {
      first = await send();
    } finally {
      stores.useLive();
    }
    assert.equal(first.status, 503);
    const retry = await send();
    assert.equal(retry.status, 202, JSON.stringify(retry.body));
    assert.equal(retry.body.emails?.[0]?.status, 'accepted', 'the first attempt started nothing');
    assert.equal(retry.body.retry, undefined);
  });

  test('a retry that arrives while the first is in flight and then fails with 503 is handled as new', async () => {
    const send = await signed();
    const gate = stores.hold(true);
    const first = send();
    await gate.reached;
    const retry = send();
    await new Promise((r) => setTimeout(r, 100));
    gate.open();
    const [a, b] = await Promise.all([first, retry]);
    assert.equal(a.status, 503);
    assert.equal(b.status, 202, JSON.stringify(b.body));
    assert.equal(b.body.emails?.[0]?.status, 'accepted');
  });

  test('a replay of a refused request stays refused with 401', async () => {
    const send = await signed('someone@elsewhere.example');
    const first = await send();
    assert.equal(first.status, 422);
    const replay = await send();
    assert.equal(replay.status, 401);
    assert.match(replay.body.reason ?? '', /already refused with 422 \(replay\)/);
  });

  test('the headers of an accepted request sent with another body are refused: the signature is checked first', async () => {
    const id = unique('first');
    const body = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: 'first', messageId: `<${id}@c.example>`, text: 'x' });
    const headers = { 'content-type': 'message/rfc822', ...signatureHeaders(secret, body) };
    assert.equal((await fetch(`${url}/v1/inbound/mime`, { method: 'POST', headers, body: new Uint8Array(body) })).status, 202);
    const other = Buffer.from(body.toString().replace('first', 'other'));
    const response = await fetch(`${url}/v1/inbound/mime`, { method: 'POST', headers, body: new Uint8Array(other) });
    assert.equal(response.status, 401);
    assert.match(((await response.json()) as { reason: string }).reason, /does not match the body/);
  });
});
