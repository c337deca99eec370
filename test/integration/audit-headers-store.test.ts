/**
 * The ticket step's read of an email's header block from the real object store (SeaweedFS's S3 API):
 * only the block, past an mbox separator line; a block larger than the read stops at the cap and
 * says so; a raw message that is gone gives a line saying so instead of holding the ticket back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { loadAuditHeaders, RAW_GONE } from '../../src/activities/audit-headers';
import { config, unique } from '../helpers/stack';

const store = createS3ObjectStore(config.s3);
const CARDS = { kinds: ['card' as const] };

test('the block is read from the stored raw message, past an mbox separator, without the body', async () => {
  const key = `raw/${unique('audit-headers')}`;
  const raw = 'From ann@customer.example Mon Dec  7 10:00:00 2026\r\nReceived: from mx.customer.example\r\nFrom: ann@customer.example\r\nX-Card: 4111 1111 1111 1111\r\n\r\nthe body 4111 1111 1111 1111\r\n';
  await store.put({ key, body: raw, contentType: 'message/rfc822' });
  const block = await loadAuditHeaders(store, key, CARDS);
  assert.match(block, /^Received: from mx\.customer\.example\nFrom: ann@customer\.example\nX-Card: \[redacted card [^\]]*\]$/);
  await store.delete(key);
});

test('a header block of megabytes is read only up to the cap and says it was cut', async () => {
  const key = `raw/${unique('audit-headers-big')}`;
  const lines = Array.from({ length: 40_000 }, (_, i) => `X-Trace-${i}: ${'t'.repeat(40)}`).join('\r\n');
  await store.put({ key, body: `From: a@b.example\r\n${lines}\r\n\r\nbody`, contentType: 'message/rfc822' });
  const block = await loadAuditHeaders(store, key, { kinds: [] });
  assert.ok(Buffer.byteLength(block) < 17_000, `${Buffer.byteLength(block)} bytes kept`);
  assert.match(block, /\n\[Mailgate: header block truncated: first \d+ bytes kept, limit 16384\]$/);
  await store.delete(key);
});

test('a raw message that is no longer stored gives a line saying so, not a failed ticket step', async () => {
  assert.equal(await loadAuditHeaders(store, `raw/${unique('gone')}`, { kinds: [] }), RAW_GONE);
});
