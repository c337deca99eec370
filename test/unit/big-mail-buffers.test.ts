/**
 * The pieces that keep a big mail's memory bounded (issue 15): the process's part-buffer budget,
 * and the scavenge pacing that frees dead stream chunks as they die.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PACE_BYTES, streamed } from '../../src/gc-pacing';
import { PartBuffers } from '../../src/adapters/part-buffers';

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
