import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { config, unique } from '../helpers/stack';

const store = createS3ObjectStore(config.s3);

test('an object round-trips through the S3 API: put, exists, get and a presigned GET over plain HTTP', async () => {
  const key = `stack-test/${unique('object')}.bin`;
  const body = randomBytes(256 * 1024);
  assert.equal(await store.exists(key), false);
  await store.put({ key, body, contentType: 'application/octet-stream' });
  assert.equal(await store.exists(key), true);
  assert.deepEqual(await store.getBuffer(key), body);

  const url = await store.presignGet(key, 60, 'report ü.bin');
  assert.match(url, /X-Amz-Signature=/);
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-disposition') ?? '', /filename\*=UTF-8''report%20%C3%BC\.bin/);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), body);
});

test('a presigned URL for another key, or a tampered signature, is refused by the store', async () => {
  const key = `stack-test/${unique('object')}.txt`;
  await store.put({ key, body: 'secret', contentType: 'text/plain' });
  const url = new URL(await store.presignGet(key, 60));
  url.pathname = url.pathname.replace(/\.txt$/, '.other');
  assert.equal((await fetch(url)).status >= 400, true);
  const tampered = new URL(await store.presignGet(key, 60));
  tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
  assert.equal((await fetch(tampered)).status, 403);
});

test('a large stream is uploaded in parts and reads back byte for byte', async () => {
  const key = `stack-test/${unique('large')}.bin`;
  const size = 20 * 1024 * 1024;
  const chunk = randomBytes(1024 * 1024);
  const expected = createHash('sha256');
  for (let i = 0; i < size / chunk.length; i++) expected.update(chunk);
  const source = Readable.from((function* () {
    for (let i = 0; i < size / chunk.length; i++) yield chunk;
  })());
  await store.put({ key, body: source, contentType: 'application/octet-stream' });
  const actual = createHash('sha256');
  let bytes = 0;
  for await (const piece of await store.getStream(key)) {
    actual.update(piece as Buffer);
    bytes += (piece as Buffer).length;
  }
  assert.equal(bytes, size);
  assert.equal(actual.digest('hex'), expected.digest('hex'));
});

test('a missing key is reported as ObjectNotFound, a permanent failure', async () => {
  await assert.rejects(store.getBuffer(`stack-test/${unique('missing')}`), { type: 'ObjectNotFound' });
});

test('an unreachable store is reported as ObjectStoreUnavailable, a transient failure', async () => {
  const down = createS3ObjectStore({ ...config.s3, endpoint: 'http://127.0.0.1:9' }, { maxAttempts: 1 });
  await assert.rejects(down.ping(), { type: 'ObjectStoreUnavailable' });
});

test('with a public endpoint set, presigned URLs name it and still download (containers behind a published port)', async () => {
  const key = `stack-test/${unique('public')}.txt`;
  await store.put({ key, body: 'via the public name', contentType: 'text/plain' });
  const internal = new URL(config.s3.endpoint ?? '');
  const publicEndpoint = `http://localhost:${internal.port}`;
  const viaPublic = createS3ObjectStore({ ...config.s3, publicEndpoint });
  const url = new URL(await viaPublic.presignGet(key, 60));
  assert.equal(url.host, `localhost:${internal.port}`);
  assert.equal(await (await fetch(url)).text(), 'via the public name');
});
