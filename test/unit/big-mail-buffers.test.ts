/**
 * The pieces that keep a big mail's memory bounded (issue 15): the process's part-buffer budget,
 * the ingress body read into one buffer of its announced length, and the scavenge pacing that frees
 * dead stream chunks as they die.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { PACE_BYTES, streamed } from '../../src/gc-pacing';
import { PartBuffers } from '../../src/adapters/part-buffers';
import { readRaw } from '../../src/ingress/read-raw';

const MiB = 1024 * 1024;

describe('the part-buffer budget', () => {
  test('makes buffers up to its maximum, then hands out none until one is released', () => {
    const pool = new PartBuffers(1024, 2);
    const a = pool.tryAcquire();
    const b = pool.tryAcquire();
    assert.ok(a && b && a !== b);
    assert.equal(pool.tryAcquire(), null);
    assert.equal(pool.inUse, 2);
    pool.release(a);
    assert.equal(pool.tryAcquire(), a, 'a released buffer is reused, not remade');
  });

  test('serves waiting uploads first come, first served as buffers come back', async () => {
    const pool = new PartBuffers(1024, 1);
    const held = await pool.acquire();
    const order: string[] = [];
    const first = pool.acquire().then((buffer) => {
      order.push('first');
      return buffer;
    });
    const second = pool.acquire().then((buffer) => {
      order.push('second');
      return buffer;
    });
    pool.release(held);
    pool.release(await first);
    await second;
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(pool.inUse, 1);
  });

  test('refuses a budget that would mean no buffer or an invalid size', () => {
    assert.throws(() => new PartBuffers(1024, 0), RangeError);
    assert.throws(() => new PartBuffers(Number.NaN, 2), RangeError);
    assert.throws(() => new PartBuffers(0, 2), RangeError);
  });
});

describe('reading an ingress body of a known length', () => {
  const chunks = (sizes: number[]): Readable => Readable.from(sizes.map((size, i) => Buffer.alloc(size, 97 + i)));
  const expected = (sizes: number[]): Buffer => Buffer.concat(sizes.map((size, i) => Buffer.alloc(size, 97 + i)));

  test('gives the same bytes whether the length is announced, announced short, announced long, or not at all', async () => {
    const sizes = [10, 64 * 1024, 3, 70_000];
    const total = sizes.reduce((a, b) => a + b, 0);
    for (const announced of [total, total - 5, total + 5, 0, undefined]) {
      const read = await readRaw(chunks(sizes), 1 * MiB, announced);
      assert.ok(read.ok, `announced ${announced}`);
      assert.deepEqual(read.bytes, expected(sizes), `announced ${announced}`);
    }
  });

  test('still refuses a body past the cap, whatever length was announced', async () => {
    for (const announced of [100, 2 * MiB, undefined]) {
      const read = await readRaw(chunks([600_000, 600_000]), 1 * MiB, announced);
      assert.deepEqual(read, { ok: false, tooLarge: true }, `announced ${announced}`);
    }
  });
});

describe('scavenge pacing', () => {
  test('dead chunks of a 48 MiB stream are freed as it goes, not left to V8’s external-memory limit', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const base = process.memoryUsage().arrayBuffers;
    let peak = 0;
    for (let moved = 0; moved < 48 * MiB; moved += 64 * 1024) {
      // A fresh buffer per chunk, dead at once: what a socket read or a decoder hands over.
      const chunk = Buffer.allocUnsafeSlow(64 * 1024);
      chunk[0] = 1;
      streamed(chunk.length);
      if (moved % MiB === 0) {
        await new Promise((r) => setImmediate(r));
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - base);
      }
    }
    // Unpaced, all 48 MiB stay until V8's 64 MB external limit forces a collection.
    assert.ok(peak < 6 * PACE_BYTES, `array buffers grew by ${(peak / MiB).toFixed(1)} MiB`);
  });
});
