/**
 * The content hash works on bytes without building strings of the message (issue 15), and must give
 * the very hash the string version gave: idempotency keys of emails already accepted depend on it.
 * The reference below is that string version, kept here as the specification.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { contentSha256 } from '../../src/domain/content-hash';

const TRACE = ['Received', 'X-Received', 'Return-Path', 'Delivered-To', 'Authentication-Results', 'ARC-Seal', 'X-Spam-Score', 'X-Mailgate-Provider-Event'];

function referenceStart(text: string): number {
  let offset = 0;
  while (offset < text.length) {
    const colon = text.indexOf(':', offset);
    const lineEnd = text.indexOf('\n', offset);
    if (colon < 0 || (lineEnd >= 0 && lineEnd < colon)) return offset;
    const name = text.slice(offset, colon).trimEnd();
    const trace = TRACE.some((t) => t.toLowerCase() === name.toLowerCase()) || name.toLowerCase().startsWith('x-spam-') || name.toLowerCase().startsWith('x-mailgate-provider-');
    if (!/^[!-9;-~]+$/.test(name) || !trace) return offset;
    let next = lineEnd < 0 ? text.length : lineEnd + 1;
    while (next < text.length && (text[next] === ' ' || text[next] === '\t')) {
      const end = text.indexOf('\n', next);
      next = end < 0 ? text.length : end + 1;
    }
    offset = next;
  }
  return offset;
}

function referenceSha256(raw: Buffer): string {
  const text = raw.toString('latin1').replace(/\r\n/g, '\n');
  const content = text.slice(referenceStart(text)).replace(/\n+$/, '');
  return createHash('sha256').update(Buffer.from(content, 'latin1')).digest('hex');
}

/** Deterministic pseudo-random choices, so a failure names a seed that reproduces it. */
function chooser(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

function message(pick: (n: number) => number): Buffer {
  const eol = () => ['\r\n', '\n', '\r', '\r\r\n'][pick(4)]!;
  const lines: string[] = [];
  for (let i = pick(6); i > 0; i--) {
    lines.push(`${TRACE[pick(TRACE.length)]}: from relay${pick(100)}.example by mx; ${pick(1e6)}${eol()}`);
    if (pick(3) === 0) lines.push(`\tid ${pick(1e6)}${eol()}`);
  }
  lines.push(`From: ann@customer.example${eol()}`, `Subject: printer ${pick(1e6)}${eol()}`);
  if (pick(2) === 0) lines.push(`Received: written by the sender, so it is content${eol()}`);
  lines.push(eol(), `body ${pick(1e6)}\r\n\u00e9\u00ff${eol()}`);
  for (let i = pick(4); i > 0; i--) lines.push(eol());
  return Buffer.concat([Buffer.from(lines.join(''), 'latin1'), pick(3) === 0 ? randomBytes(pick(200)) : Buffer.alloc(0)]);
}

describe('the content hash over bytes', () => {
  test('gives the string version’s hash for mixed line endings, folded trace fields and trailing breaks', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const raw = message(chooser(seed));
      assert.equal(contentSha256(raw), referenceSha256(raw), `seed ${seed}: ${JSON.stringify(raw.toString('latin1').slice(0, 300))}`);
    }
  });

  test('gives the string version’s hash for edge shapes: empty, only breaks, only trace fields, a lone CR at the end', () => {
    for (const text of ['', '\n', '\r\n\r\n', '\r', 'Received: x\r\n', 'Received: x\r\n\tmore', 'Received: x\r\nFrom: a\r\n\r\nbody\r', 'no colon at all', 'From: a\r\n\r\n\r\r\n']) {
      const raw = Buffer.from(text, 'latin1');
      assert.equal(contentSha256(raw), referenceSha256(raw), JSON.stringify(text));
    }
  });

  test('finds the content start past trace fields longer than the first window it reads', () => {
    const trace = Array.from({ length: 3000 }, (_, i) => `Received: from relay${i}.example by mx.example with ESMTP id ${i}\r\n`).join('');
    const raw = Buffer.from(`${trace}From: ann@customer.example\r\nSubject: long trace\r\n\r\nbody\r\n`, 'latin1');
    assert.ok(raw.length > 128 * 1024);
    assert.equal(contentSha256(raw), referenceSha256(raw));
    assert.equal(contentSha256(raw), contentSha256(Buffer.from('From: ann@customer.example\nSubject: long trace\n\nbody', 'latin1')));
  });

  test('hashes a 30 MB message without a string or copy of it: heap growth stays far below its size', () => {
    const raw = Buffer.concat([Buffer.from('From: ann@customer.example\r\nSubject: big\r\n\r\n', 'latin1'), Buffer.alloc(30 * 1024 * 1024, 'QUJD\r\n')]);
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakBuffers = before.arrayBuffers;
    const sample = (): void => {
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
    };
    const digest = contentSha256(raw);
    sample();
    assert.match(digest, /^[0-9a-f]{64}$/);
    // The string version held the message as latin1 text twice and as a Buffer once (about 85 MB here).
    assert.ok(peakHeap - before.heapUsed < 8 * 1024 * 1024, `heap grew by ${peakHeap - before.heapUsed} bytes`);
    assert.ok(peakBuffers - before.arrayBuffers < 8 * 1024 * 1024, `array buffers grew by ${peakBuffers - before.arrayBuffers} bytes`);
  });
});
