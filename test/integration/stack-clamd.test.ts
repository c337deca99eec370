import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { createClamdScanner } from '../../src/adapters/clamd';
import { config } from '../helpers/stack';
import { eicar, zipOf } from '../helpers/samples';

const scanner = createClamdScanner(config.clamd);

test('clamd answers PING and reports its version', async () => {
  await scanner.ping();
  assert.match(await scanner.version(), /^ClamAV \d+\.\d+/);
});

test('the EICAR test file is reported as infected with the project signature', async () => {
  const verdict = await scanner.scan(Readable.from([eicar()]));
  assert.deepEqual(verdict, { status: 'infected', signature: 'Mailgate.Test.EICAR.UNOFFICIAL' });
});

test('EICAR inside a larger file and inside a deflated zip archive is still found', async () => {
  const larger = Buffer.concat([randomBytes(3 * 1024 * 1024), eicar(), randomBytes(1024 * 1024)]);
  assert.equal((await scanner.scan(Readable.from([larger]))).status, 'infected');
  const zip = zipOf('invoice.txt', Buffer.concat([Buffer.from('see attached\n'), eicar()]));
  assert.equal((await scanner.scan(Readable.from([zip]))).status, 'infected');
});

test('a clean file of several megabytes, streamed in chunks, is reported clean', async () => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(128 * 1024));
  assert.deepEqual(await scanner.scan(Readable.from(chunks)), { status: 'clean' });
});

test('an unreachable clamd is a transient ScannerUnavailable failure', async () => {
  const down = createClamdScanner({ host: '127.0.0.1', port: 9, timeoutMs: 2_000 });
  await assert.rejects(down.scan(Readable.from([Buffer.from('x')])), { type: 'ScannerUnavailable' });
});
