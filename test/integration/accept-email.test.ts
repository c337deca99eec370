/**
 * acceptEmail against the real local services: the test stack's object store (SeaweedFS over S3) and
 * Temporal dev server. Outages are real too: a store or an engine at a loopback port nothing listens
 * on. No worker polls the task queue, so every started workflow waits in "received" and is
 * terminated at the end. The store and the client are wrapped only to record the order of calls.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { createS3ObjectStore, type ObjectStore } from '../../src/adapters/object-store';
import { contentSha256 } from '../../src/domain/content-hash';
import { idempotencyKey } from '../../src/domain/idempotency';
import { acceptEmailSettings, createAcceptEmail, ENGINE_UNAVAILABLE, NO_RECIPIENT, STORE_UNAVAILABLE, type AcceptEmailDeps } from '../../src/ingress/accept-email';
import type { WorkflowClient } from '../../src/ingress/start-email-workflow';
import type { AcceptAnswer, IngressSource } from '../../src/ingress/types';
import { createLogger, type LogFields } from '../../src/logger';
import { registry } from '../../src/metrics';
import { inboundEmailWorkflowId } from '../../src/workflows/ids';
import type { ProcessInboundEmailInput } from '../../src/workflows/types';
import { freePort } from '../helpers/app';
import { workflowExists } from '../helpers/pipeline';
import { compose } from '../helpers/mail';
import { config, eventually, unique } from '../helpers/stack';

const SMTP: IngressSource = { kind: 'smtp', name: 'mx', remoteAddress: '192.0.2.7' };
const PIPE: IngressSource = { kind: 'pipe' };
const MAX_BYTES = 64 * 1024;

const store = createS3ObjectStore(config.s3);
let connection: Connection;
let client: Client;
const taskQueue = unique('accept-email');
const started = new Set<string>();
const logLines: LogFields[] = [];
const log = createLogger({ process: 'test' }, 'debug', (line) => logLines.push(JSON.parse(line) as LogFields));

/** Message-ID clashes the accept path noted (the ledger's real implementations have contract tests). */
const clashNotes: unknown[] = [];
const clashes: AcceptEmailDeps['clashes'] = {
  recordMessageIdClash: async (clash) => {
    clashNotes.push(clash);
  },
};

function recordingStore(events: string[], inner: ObjectStore = store): AcceptEmailDeps['store'] {
  return {
    refresh: (key) => inner.refresh(key),
    put: async (input) => {
      await inner.put(input);
      events.push(`put ${input.key}`);
    },
  };
}

function recordingClient(events: string[], inner: Client = client): WorkflowClient {
  const workflow = new Proxy(inner.workflow, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property !== 'start' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: [unknown, { workflowId: string }]) => {
        events.push(`start ${args[1].workflowId}`);
        return Reflect.apply(value, target, args) as unknown;
      };
    },
  });
  return { connection: inner.connection, workflow };
}

function accepting(events: string[], overrides: Partial<AcceptEmailDeps> = {}) {
  const settings = acceptEmailSettings(config);
  return createAcceptEmail({
    ...settings,
    taskQueue,
    limits: { ...settings.limits, maxMessageBytes: MAX_BYTES },
    store: recordingStore(events),
    temporal: recordingClient(events),
    clashes,
    log,
    startDeadlineMs: 5_000,
    ...overrides,
  });
}

function remember(answer: AcceptAnswer): AcceptAnswer {
  if (answer.answer === 'accepted' || answer.answer === 'duplicate') for (const id of answer.workflowIds) started.add(id);
  return answer;
}

async function email(id: string, to = 'support@mailgate.local'): Promise<Buffer> {
  return compose({ from: `${id}@customer.example`, to, subject: `Accept ${id}`, messageId: `<${id}@c.example>`, text: 'hello' });
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const workflowIdOf = (id: string, queue: string, raw: Buffer): string =>
  inboundEmailWorkflowId(idempotencyKey({ messageId: `<${id}@c.example>`, queue, contentSha256: contentSha256(raw) }));

async function answersCounted(labels: Record<string, string>): Promise<number> {
  const values = (await registry.getSingleMetric('helpdesk_ingress_answers_total')?.get())?.values ?? [];
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

before(async () => {
  connection = await Connection.connect({ address: config.temporal.address });
  client = new Client({ connection, namespace: config.temporal.namespace });
});

after(async () => {
  await Promise.allSettled([...started].map((id) => client.workflow.getHandle(id).terminate('accept-email test finished')));
  await connection?.close();
});

describe('acceptEmail', () => {
  test('a new email is stored under its content hash first, then its workflow starts under the id from Message-ID and recipient', async () => {
    const events: string[] = [];
    const id = unique('new');
    const raw = await email(id);
    const countedBefore = await answersCounted({ ingress: 'smtp', answer: 'accepted', reason: 'none' });
    const answer = remember(await accepting(events)(raw, { mailFrom: `${id.toUpperCase()}@Customer.example`, rcptTo: ['support@mailgate.local'] }, SMTP));

    assert.equal(answer.answer, 'accepted');
    const workflowId = workflowIdOf(id, 'support@mailgate.local', raw);
    assert.equal(answer.rawKey, `raw/${sha256(raw)}`);
    assert.deepEqual(answer.workflowIds, [workflowId]);
    assert.deepEqual(answer.recipients.map((r) => [r.recipient, r.queue, r.answer]), [['support@mailgate.local', 'support@mailgate.local', 'accepted']]);
    assert.match(answer.reason, /stored/);
    assert.deepEqual(events, [`put ${answer.rawKey}`, `start ${workflowId}`], 'the put finished before the start began');
    assert.deepEqual(await store.getBuffer(answer.rawKey!), raw);

    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    assert.equal(description.type, 'processInboundEmail', 'started by the function, under its name');
    assert.equal(description.taskQueue, taskQueue);
    const payload = (await handle.fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload<ProcessInboundEmailInput>(payload!);
    assert.equal(input.rawKey, answer.rawKey, 'the workflow gets the claim check, not the bytes');
    assert.equal(input.rawSize, raw.length);
    assert.equal(input.envelopeFrom, `${id}@customer.example`);

    assert.equal(await answersCounted({ ingress: 'smtp', answer: 'accepted', reason: 'none' }), countedBefore + 1);
    const line = logLines.find((l) => l.msg === 'inbound email accepted' && JSON.stringify(l.emails).includes(workflowId));
    assert.equal(line?.ingress, 'smtp');
    assert.equal(line?.remoteAddress, '192.0.2.7');
  });

  test('the same email delivered twice is one workflow: the second delivery, as a stream, is answered duplicate with the same keys', async () => {
    const events: string[] = [];
    const accept = accepting(events);
    const id = unique('twice');
    const raw = await email(id);
    const first = remember(await accept(raw, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    const again = remember(await accept(Readable.from([raw.subarray(0, 100), raw.subarray(100)]), { mailFrom: null, rcptTo: ['support@mailgate.local'] }, PIPE));

    assert.equal(first.answer, 'accepted');
    assert.equal(again.answer, 'duplicate');
    assert.match(again.reason, /already accepted/);
    assert.equal(again.rawKey, first.rawKey);
    assert.deepEqual(again.workflowIds, first.workflowIds);
    assert.equal(again.recipients[0]?.answer, 'duplicate');
    const workflowId = first.workflowIds[0]!;
    const count = await eventually('the workflow to be visible', async () => {
      const { count } = await client.workflow.count(`WorkflowId = "${workflowId}"`);
      return count > 0 ? count : undefined;
    });
    assert.equal(count, 1);
  });

  test('each queue an envelope recipient reaches is a workflow of its own; a recipient outside the inbound domains is refused beside them, and a later added recipient is accepted alone', async () => {
    const accept = accepting([]);
    const id = unique('fanout');
    const raw = await email(id);
    const first = remember(await accept(raw, { mailFrom: null, rcptTo: ['Support@Mailgate.local', 'billing@mailgate.local', 'someone@other.example'] }, SMTP));
    assert.equal(first.answer, 'accepted');
    assert.deepEqual(first.recipients.map((r) => [r.recipient, r.answer]), [
      ['support@mailgate.local', 'accepted'],
      ['billing@mailgate.local', 'accepted'],
    ]);
    assert.deepEqual(first.workflowIds, [workflowIdOf(id, 'support@mailgate.local', raw), workflowIdOf(id, 'billing@mailgate.local', raw)]);
    assert.equal(first.refused.length, 1);
    assert.equal(first.refused[0]?.address, 'someone@other.example');
    assert.match(first.refused[0]?.reason ?? '', /not an inbound domain/);

    const widened = remember(await accept(raw, { mailFrom: null, rcptTo: ['support@mailgate.local', 'billing@mailgate.local', 'sales@mailgate.local'] }, SMTP));
    assert.equal(widened.answer, 'accepted', 'one new workflow makes the delivery accepted');
    assert.deepEqual(widened.recipients.map((r) => [r.recipient, r.answer]), [
      ['support@mailgate.local', 'duplicate'],
      ['billing@mailgate.local', 'duplicate'],
      ['sales@mailgate.local', 'accepted'],
    ]);
  });

  test('a different message under a used Message-ID starts under its content key, the first workflow records its content hash in its memo, and the clash is noted once per delivery', async () => {
    const accept = accepting([]);
    const id = unique('clash');
    const first = await email(id);
    const other = await compose({ from: `other-${id}@evil.example`, to: 'support@mailgate.local', subject: 'Other', messageId: `<${id}@c.example>`, text: 'forged' });
    const a = remember(await accept(first, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    const notesBefore = clashNotes.length;
    const b = remember(await accept(other, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    assert.equal(b.answer, 'accepted');
    assert.notEqual(b.workflowIds[0], a.workflowIds[0]);
    assert.equal(b.recipients[0]?.messageIdClashWith, a.workflowIds[0]);
    assert.match(b.recipients[0]?.reason ?? '', /already used by a different message/);
    assert.deepEqual(clashNotes.slice(notesBefore), [{ workflowId: b.workflowIds[0], otherWorkflowId: a.workflowIds[0], messageId: `${id}@c.example` }]);
    assert.equal((await client.workflow.getHandle(a.workflowIds[0]!).describe()).memo?.['contentSha256'], contentSha256(first));
    const memo = (await client.workflow.getHandle(b.workflowIds[0]!).describe()).memo;
    assert.deepEqual(memo, { contentSha256: contentSha256(other), messageIdClashWith: a.workflowIds[0] });
  });

  test('when the clash cannot be noted (the ledger is down) the answer is retry-later and the second message is not started without its note', async () => {
    const id = unique('noledger');
    const first = await email(id);
    const other = await compose({ from: `other-${id}@evil.example`, to: 'support@mailgate.local', subject: 'Other', messageId: `<${id}@c.example>`, text: 'forged' });
    remember(await accepting([])(first, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    const events: string[] = [];
    const down: AcceptEmailDeps['clashes'] = {
      recordMessageIdClash: () => Promise.reject(new Error('database unavailable')),
    };
    const answer = await accepting(events, { clashes: down })(other, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP);
    assert.equal(answer.answer, 'retry-later');
    assert.equal(events.filter((e) => e.startsWith('start ')).length, 1, 'only the taken first key was tried');
    const retried = remember(await accepting([])(other, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    assert.equal(retried.answer, 'accepted', 'the retry with the ledger back starts it');
  });

  test('a workflow started before content hashes were recorded (no memo) stays the duplicate of any delivery under its key, as it always was', async () => {
    const id = unique('old');
    const raw = await email(id);
    const oldId = workflowIdOf(id, 'support@mailgate.local', raw);
    const settings = acceptEmailSettings(config);
    await client.workflow.start('processInboundEmail', {
      workflowId: oldId,
      taskQueue,
      args: [{ rawKey: 'raw/none', rawSha256: 'x', rawSize: 1, recipient: 'support@mailgate.local', queue: 'support@mailgate.local', idempotencyKey: 'k', envelopeFrom: null, receivedAt: new Date().toISOString(), policy: settings.policy }],
    });
    started.add(oldId);
    const changed = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: 'Changed', messageId: `<${id}@c.example>`, text: 'other' });
    const answer = remember(await accepting([])(changed, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    assert.equal(answer.answer, 'duplicate');
    assert.deepEqual(answer.workflowIds, [oldId]);
  });

  test('past the size cap a buffer or a stream is refused as too large, and the stream is still read to its end so the sender can be answered', async () => {
    const events: string[] = [];
    const accept = accepting(events);
    const big = Buffer.concat([await email(unique('big')), Buffer.alloc(MAX_BYTES, 'x')]);
    const asBuffer = await accept(big, { mailFrom: null }, SMTP);
    assert.equal(asBuffer.answer, 'refused');
    assert.equal(asBuffer.answer === 'refused' && asBuffer.refusal, 'too-large');
    assert.equal(asBuffer.reason, `the message exceeds ${MAX_BYTES} bytes`);
    assert.equal(asBuffer.rawKey, null);

    let chunksRead = 0;
    const chunks = 40;
    const stream = Readable.from(
      (function* () {
        for (let i = 0; i < chunks; i++) {
          chunksRead += 1;
          yield Buffer.alloc(8 * 1024, 'y');
        }
      })(),
    );
    const streamed = await accept(stream, { mailFrom: null }, PIPE);
    assert.equal(streamed.answer === 'refused' && streamed.refusal, 'too-large');
    await eventually('the rest of the stream to be read', async () => (stream.readableEnded ? true : undefined), 5_000);
    assert.equal(chunksRead, chunks);
    assert.deepEqual(events, [], 'neither stored nor started');
  });

  test('a stream that fails before its end is answered retry-later and nothing is stored', async () => {
    const events: string[] = [];
    const raw = await email(unique('cut'));
    const stream = new Readable({ read() {} });
    stream.push(raw.subarray(0, 50));
    setImmediate(() => stream.destroy(new Error('connection reset by peer')));
    const answer = await accepting(events)(stream, { mailFrom: null }, SMTP);
    assert.equal(answer.answer, 'retry-later');
    assert.equal(answer.answer === 'retry-later' && answer.cause, 'source');
    assert.match(answer.reason, /connection reset by peer/);
    assert.deepEqual(events, []);
  });

  test('refusals say why and touch neither the store nor the engine: empty, not MIME, no recipient of ours, a malformed envelope', async () => {
    const events: string[] = [];
    const accept = accepting(events);
    const refusal = (a: AcceptAnswer): string | undefined => (a.answer === 'refused' ? a.refusal : undefined);
    const countedBefore = await answersCounted({ ingress: 'smtp', answer: 'refused', reason: 'no-recipient' });

    const empty = await accept(Buffer.alloc(0), { mailFrom: null }, SMTP);
    assert.equal(refusal(empty), 'not-an-email');
    assert.match(empty.reason, /empty/);
    const binary = await accept(Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0]), { mailFrom: null }, SMTP);
    assert.equal(refusal(binary), 'not-an-email');
    assert.match(binary.reason, /binary data, not text/);

    const elsewhere = await compose({ from: 'a@customer.example', to: 'someone@elsewhere.example', subject: 'wrong', text: 'x' });
    const byHeader = await accept(elsewhere, { mailFrom: null }, SMTP);
    assert.equal(refusal(byHeader), 'no-recipient');
    assert.equal(byHeader.reason, NO_RECIPIENT);
    const byEnvelope = await accept(elsewhere, { mailFrom: null, rcptTo: ['billing@other.example', 'not an address'] }, SMTP);
    assert.equal(refusal(byEnvelope), 'no-recipient');
    assert.deepEqual(byEnvelope.refused.map((r) => r.address), ['billing@other.example', 'not an address']);
    assert.deepEqual(byEnvelope.workflowIds, []);
    assert.equal(await answersCounted({ ingress: 'smtp', answer: 'refused', reason: 'no-recipient' }), countedBefore + 2);

    const raw = await email(unique('malformed'));
    const injected = await accept(raw, { mailFrom: null, rcptTo: ['support@mailgate.local\r\nBcc: victim@example.com'] }, SMTP);
    assert.equal(refusal(injected), 'malformed-envelope');
    assert.match(injected.reason, /control characters/);
    const notAList = await accept(raw, JSON.parse('{"mailFrom":null,"rcptTo":"support@mailgate.local"}') as never, SMTP);
    assert.equal(refusal(notAList), 'malformed-envelope');
    assert.match(notAList.reason, /must be a list/);

    assert.deepEqual(events, [], 'no refusal stored anything or started a workflow');
  });

  test('with the object store unreachable the answer is retry-later with the keys a retry will use, and no workflow is started', async () => {
    const events: string[] = [];
    const down = createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 });
    const id = unique('store-down');
    const raw = await email(id);
    const workflowId = workflowIdOf(id, 'support@mailgate.local', raw);
    const countedBefore = await answersCounted({ ingress: 'smtp', answer: 'retry-later', reason: 'object-store' });
    const answer = await accepting(events, { store: recordingStore(events, down) })(raw, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP);

    assert.equal(answer.answer, 'retry-later');
    assert.equal(answer.answer === 'retry-later' && answer.cause, 'object-store');
    assert.equal(answer.reason, STORE_UNAVAILABLE);
    assert.deepEqual(answer.workflowIds, [workflowId]);
    assert.equal(answer.recipients[0]?.answer, 'retry-later');
    assert.deepEqual(events, [], 'nothing stored, no start attempted');
    assert.equal(await workflowExists(client, workflowId), false);
    assert.equal(await answersCounted({ ingress: 'smtp', answer: 'retry-later', reason: 'object-store' }), countedBefore + 1);

    const retry = remember(await accepting([])(raw, { mailFrom: null, rcptTo: ['support@mailgate.local'] }, SMTP));
    assert.equal(retry.answer, 'accepted');
    assert.deepEqual(retry.workflowIds, [workflowId]);
  });

  test('with the workflow engine unreachable the answer is retry-later; the raw message is stored, and the retry with the engine back is accepted once', async () => {
    const events: string[] = [];
    const lazy = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 2_000 });
    const id = unique('engine-down');
    const raw = await email(id);
    try {
      const offline = new Client({ connection: lazy, namespace: config.temporal.namespace });
      const answer = await accepting(events, { temporal: recordingClient(events, offline), startDeadlineMs: 2_000 })(
        raw,
        { mailFrom: null, rcptTo: ['support@mailgate.local', 'billing@mailgate.local'] },
        SMTP,
      );
      assert.equal(answer.answer, 'retry-later');
      assert.equal(answer.answer === 'retry-later' && answer.cause, 'workflow-engine');
      assert.equal(answer.reason, ENGINE_UNAVAILABLE);
      assert.deepEqual(answer.recipients.map((r) => [r.recipient, r.answer]), [
        ['support@mailgate.local', 'retry-later'],
        ['billing@mailgate.local', 'retry-later'],
      ]);
      assert.match(answer.recipients[1]?.reason ?? '', /not tried/);
      assert.equal(await store.exists(answer.rawKey!), true, 'the claim check is written before the engine is asked');
      assert.deepEqual(events, [`put ${answer.rawKey}`, `start ${answer.workflowIds[0]}`], 'one start tried, the second recipient not');
      for (const workflowId of answer.workflowIds) assert.equal(await workflowExists(client, workflowId), false);
    } finally {
      await lazy.close();
    }

    const retry = remember(await accepting([])(raw, { mailFrom: null, rcptTo: ['support@mailgate.local', 'billing@mailgate.local'] }, SMTP));
    assert.equal(retry.answer, 'accepted');
    assert.deepEqual(retry.recipients.map((r) => r.answer), ['accepted', 'accepted']);
  });

  test('limits of 0 or NaN are refused when the accept path is built, never read as "no limit"', () => {
    const settings = acceptEmailSettings(config);
    for (const bad of [0, Number.NaN, -1]) {
      assert.throws(
        () => createAcceptEmail({ ...settings, limits: { ...settings.limits, maxMessageBytes: bad }, store, temporal: client, clashes, log }),
        /maxMessageBytes must be a positive integer/,
      );
    }
  });
});
