/**
 * Issue 12, class 3, in unit: the Content-Encoding decoder stops as its output passes the cap and
 * refuses codings it does not take; the rate bucket starts with the burst, not a minute's worth;
 * INGRESS_RATE_BURST is validated like every limit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { brotliCompressSync, constants, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { NextFunction, Request, Response } from 'express';
import { rateLimit } from '../../src/api/auth';
import { ByteBudget } from '../../src/api/inbound-body';
import { checkSignatureHeaders } from '../../src/api/signing';
import { loadConfig } from '../../src/config';
import { contentCodings, decodeBody } from '../../src/ingress/decode-body';
import { MINIMAL_ENV } from '../helpers/env';

const MIB = 1024 * 1024;
const MESSAGE = Buffer.from('From: a@customer.example\r\nTo: support@mailgate.local\r\nSubject: hi\r\n\r\nhello\r\n');
const zeros = (bytes: number): Buffer => Buffer.alloc(bytes);
const brotli = (bytes: Buffer): Buffer => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });

async function decoded(bytes: Buffer, contentEncoding: string | undefined, maxBytes: number) {
  let counted = 0;
  const result = await decodeBody({ bytes, contentEncoding, maxBytes, onDecoded: (n) => (counted += n) });
  return { result, counted };
}

describe('decodeBody', () => {
  test('gzip, x-gzip, deflate (zlib) and br bodies decode to the message; identity and no header pass it through', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(MESSAGE)], ['x-gzip', gzipSync(MESSAGE)], ['GZip', gzipSync(MESSAGE)], ['deflate', deflateSync(MESSAGE)],
      ['br', brotli(MESSAGE)], ['identity', MESSAGE], [undefined, MESSAGE], ['', MESSAGE], ['identity, gzip', gzipSync(MESSAGE)],
    ] as const) {
      const { result } = await decoded(body, encoding, MIB);
      assert.ok(result.ok, `${encoding}: ${JSON.stringify(result)}`);
      assert.deepEqual(result.bytes, MESSAGE, String(encoding));
    }
  });

  for (const [coding, compress] of [['gzip', gzipSync], ['deflate', deflateSync], ['br', brotli]] as const) {
    test(`a ${coding} bomb stops decoding as its output passes the cap: 16 MiB of zeros, cap 1 MiB`, async () => {
      const bomb = compress(zeros(16 * MIB));
      assert.ok(bomb.length < 100 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
      const { result, counted } = await decoded(bomb, coding, MIB);
      assert.deepEqual(result.ok ? 'ok' : result.refusal, 'too-large');
      assert.ok(counted > MIB && counted <= MIB + 64 * 1024, `decoded ${counted} bytes before stopping`);
    });
  }

  test('exactly the cap decodes; one byte over it is too large', async () => {
    assert.equal((await decoded(gzipSync(zeros(MIB)), 'gzip', MIB)).result.ok, true);
    assert.equal((await decoded(gzipSync(zeros(MIB + 1)), 'gzip', MIB)).result.ok, false);
    assert.deepEqual((await decoded(zeros(MIB + 1), undefined, MIB)).result.ok, false);
  });

  test('unknown, stacked and repeated codings are refused before any decoding', async () => {
    for (const encoding of ['compress', 'zstd', 'x-compress', 'gzip, br', 'gzip, gzip', 'br,deflate', 'gzip;q=1', 'chunked', 'x-bzip2', 'gzip, identity, gzip']) {
      const { result, counted } = await decoded(gzipSync(MESSAGE), encoding, MIB);
      assert.deepEqual(result.ok ? 'ok' : result.refusal, 'unsupported-encoding', encoding);
      assert.equal(counted, 0, encoding);
    }
  });

  test('a corrupt, truncated or mislabelled stream is refused as corrupt', async () => {
    const gz = gzipSync(MESSAGE);
    for (const [encoding, body] of [
      ['gzip', gz.subarray(0, gz.length - 6)], ['gzip', Buffer.from('not gzip at all')], ['gzip', Buffer.alloc(0)],
      ['deflate', deflateRawSync(MESSAGE)], ['br', Buffer.from('\xff\xff\xff\xff garbage')], ['deflate', gz],
    ] as const) {
      const { result } = await decoded(body, encoding, MIB);
      assert.deepEqual(result.ok ? 'ok' : result.refusal, 'corrupt', `${encoding} ${body.subarray(0, 8).toString('hex')}`);
    }
  });

  test('a cap of 0 or NaN is a programming error, never "no limit"', async () => {
    await assert.rejects(decodeBody({ bytes: MESSAGE, contentEncoding: 'gzip', maxBytes: 0 }), RangeError);
    await assert.rejects(decodeBody({ bytes: MESSAGE, contentEncoding: 'gzip', maxBytes: Number.NaN }), RangeError);
  });

  test('contentCodings lists the codings in order, identity and blanks left out', () => {
    assert.deepEqual(contentCodings(' GZIP , identity,, br '), ['gzip', 'br']);
    assert.deepEqual(contentCodings(undefined), []);
  });
});

describe('the budget for unauthenticated bodies', () => {
  test('reservations fit until the capacity, a release gives the bytes back once, and 0 or NaN capacity is refused', () => {
    const budget = new ByteBudget(10);
    const a = budget.reserve(6);
    assert.ok(a);
    assert.equal(budget.reserve(5), undefined);
    const b = budget.reserve(4);
    assert.ok(b);
    a();
    a();
    assert.equal(budget.inUse, 4);
    assert.ok(budget.reserve(6));
    assert.throws(() => new ByteBudget(0), RangeError);
    assert.throws(() => new ByteBudget(Number.NaN), RangeError);
  });
});

describe('signature headers judged before the body is read', () => {
  const now = Date.now();
  const ts = String(Math.floor(now / 1000));
  const sig = `v1=${'a'.repeat(64)}`;
  test('missing, malformed or stale headers are refused; fresh well-formed ones pass to the body check', () => {
    for (const [timestamp, signature] of [[undefined, sig], [ts, undefined], ['', sig], ['12abc', sig], [String(Number(ts) - 301), sig], [String(Number(ts) + 301), sig], [ts, 'v1=zz'], [ts, 'v2=' + 'a'.repeat(64)], [ts, 'a'.repeat(64)]]) {
      assert.equal(checkSignatureHeaders({ timestamp, signature, nowMs: now, maxSkewSeconds: 300 }).ok, false, `${timestamp} ${signature}`);
    }
    assert.deepEqual(checkSignatureHeaders({ timestamp: ts, signature: `${sig}, v1=${'B'.repeat(64)}`, nowMs: now, maxSkewSeconds: 300 }), { ok: true, timestamp: Number(ts), offered: ['a'.repeat(64), 'b'.repeat(64)] });
  });
});

describe('the per-source rate bucket', () => {
  function hits(limiter: ReturnType<typeof rateLimit>, source: string, count: number): number[] {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      let status = 200;
      const res = { set: () => res, status: (s: number) => ((status = s), res), json: () => res } as unknown as Response;
      limiter({ socket: { remoteAddress: source } } as Request, res, (() => undefined) as NextFunction);
      statuses.push(status);
    }
    return statuses;
  }

  test('a new source gets the burst, not a minute\'s worth, and then 429', () => {
    const statuses = hits(rateLimit(1200, 60), '192.0.2.1', 100);
    assert.equal(statuses.filter((s) => s === 200).length, 60);
    assert.deepEqual(statuses.slice(60), Array<number>(40).fill(429));
  });

  test('the burst never exceeds the per-minute rate; each source has its own bucket', () => {
    const limiter = rateLimit(5, 60);
    assert.equal(hits(limiter, '192.0.2.1', 10).filter((s) => s === 200).length, 5);
    assert.equal(hits(limiter, '192.0.2.2', 10).filter((s) => s === 200).length, 5);
  });

  test('a rate or burst of 0, a fraction or NaN is refused, never read as "no limit"', () => {
    for (const [perMinute, burst] of [[0, 60], [1200, 0], [Number.NaN, 60], [1200, Number.NaN], [1200, 1.5]]) {
      assert.throws(() => rateLimit(perMinute!, burst!), RangeError, `${perMinute} ${burst}`);
    }
  });

  test('INGRESS_RATE_BURST defaults to 60 and refuses 0, negatives and words with its name', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV }).ingress.rateBurst, 60);
    assert.equal(loadConfig({ ...MINIMAL_ENV, INGRESS_RATE_BURST: '10' }).ingress.rateBurst, 10);
    for (const value of ['0', '-5', 'lots', '1.5']) assert.throws(() => loadConfig({ ...MINIMAL_ENV, INGRESS_RATE_BURST: value }), /INGRESS_RATE_BURST/, value);
  });
});
