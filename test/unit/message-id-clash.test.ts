/**
 * Issue 12, class 11: same Message-ID, different message. A delivery under a known Message-ID is a
 * duplicate only when its content matches the first; the content hash ignores what a legitimate
 * redelivery changes (trace fields an MTA prepends, CRLF versus LF) and nothing else.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSha256 } from '../../src/domain/content-hash';
import { contentKey, deliveryVerdict, idempotencyKey } from '../../src/domain/idempotency';

const ORIGINAL = [
  'From: Ann <ann@customer.example>',
  'To: support@mailgate.local',
  'Subject: The printer is on fire',
  'Date: Fri, 04 Dec 2026 18:00:00 +0000',
  'Message-ID: <genuine-1@customer.example>',
  'DKIM-Signature: v=1; a=rsa-sha256; d=customer.example; s=s1;',
  '\tbh=abc; b=def',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'It is really on fire.',
  'Ann',
  '',
].join('\r\n');

const hash = (text: string): string => contentSha256(Buffer.from(text, 'utf8'));
const prepend = (fields: string[], text = ORIGINAL): string => `${fields.join('\r\n')}\r\n${text}`;
const replaceLine = (from: string, to: string): string => {
  assert.ok(ORIGINAL.includes(from));
  return ORIGINAL.replace(from, to);
};

describe('the content hash: what a redelivery may change', () => {
  const original = hash(ORIGINAL);
  const redeliveries: [string, string][] = [
    ['one more Received field', prepend(['Received: from mx2.mailgate.local by mx1.mailgate.local; Fri, 04 Dec 2026 18:00:09 +0000'])],
    [
      'a folded Received field and Return-Path',
      prepend(['Return-Path: <ann@customer.example>', 'Received: from relay.customer.example (relay [192.0.2.1])', '\tby mx.mailgate.local with ESMTPS id 4Xz; Fri, 04 Dec 2026 18:00:09 +0000']),
    ],
    ['Delivered-To and X-Original-To', prepend(['Delivered-To: support@mailgate.local', 'X-Original-To: help@mailgate.local'])],
    [
      'Authentication-Results, Received-SPF and an ARC set',
      prepend([
        'ARC-Seal: i=1; a=rsa-sha256; cv=none; d=mailgate.local; s=arc; b=xyz',
        'ARC-Message-Signature: i=1; a=rsa-sha256; d=mailgate.local; s=arc; b=uvw',
        'ARC-Authentication-Results: i=1; mx.mailgate.local; spf=pass',
        'Authentication-Results: mx.mailgate.local; dkim=pass header.d=customer.example',
        'Received-SPF: pass (mx.mailgate.local: domain of customer.example designates 192.0.2.1)',
      ]),
    ],
    ['spam and virus verdicts of our filters', prepend(['X-Spam-Status: No, score=-0.1', 'X-Spam-Score: -0.1', 'X-Virus-Scanned: clamav at mx.mailgate.local'])],
    ['trace fields in upper case', prepend(['RECEIVED: from a by b; Fri, 04 Dec 2026 18:00:09 +0000', 'return-path: <ann@customer.example>'])],
    ['LF line endings instead of CRLF (an MTA pipe)', ORIGINAL.replace(/\r\n/g, '\n')],
    ['a trailing line break more or less', `${ORIGINAL}\r\n`],
    ['the first trace fields of an earlier redelivery replaced by others', prepend(['Received: from x by y; Sat, 05 Dec 2026 01:00:00 +0000'], prepend(['Received: from z by y; Fri, 04 Dec 2026 18:00:09 +0000']))],
  ];
  for (const [what, raw] of redeliveries) {
    test(`a redelivery with ${what} has the first delivery's content hash`, () => {
      assert.equal(hash(raw), original);
    });
  }
});

describe('the content hash: what makes a different message', () => {
  const original = hash(ORIGINAL);
  const forgeries: [string, string][] = [
    ['another body', replaceLine('It is really on fire.', 'Please wire 10,000 EUR to the account below.')],
    ['one byte of the body', replaceLine('It is really on fire.', 'It is really on fire!')],
    ['another Subject', replaceLine('Subject: The printer is on fire', 'Subject: Invoice overdue')],
    ['another From', replaceLine('From: Ann <ann@customer.example>', 'From: Mallory <mallory@evil.example>')],
    ['another To', replaceLine('To: support@mailgate.local', 'To: billing@mailgate.local')],
    ['another Date', replaceLine('Date: Fri, 04 Dec 2026 18:00:00 +0000', 'Date: Fri, 04 Dec 2026 18:00:01 +0000')],
    ['a changed continuation line of a sender header', replaceLine('\tbh=abc; b=def', '\tbh=abc; b=forged')],
    ['a Received field the sender wrote below its own headers, changed', replaceLine('MIME-Version: 1.0', 'Received: by forger\r\nMIME-Version: 1.0')],
    ['headers in another order', replaceLine('From: Ann <ann@customer.example>\r\nTo: support@mailgate.local', 'To: support@mailgate.local\r\nFrom: Ann <ann@customer.example>')],
    ['an empty body', ORIGINAL.slice(0, ORIGINAL.indexOf('\r\n\r\n') + 4)],
    ['trace fields and another body', prepend(['Received: from a by b'], replaceLine('Ann\r\n', 'Mallory\r\n'))],
  ];
  for (const [what, raw] of forgeries) {
    test(`a message with ${what} has another content hash`, () => {
      assert.notEqual(hash(raw), original);
    });
  }

  test('8-bit bodies hash as their bytes: two bodies that differ in one non-ASCII byte differ', () => {
    const a = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from([0xe9, 0x41])]);
    const b = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from([0xe8, 0x41])]);
    assert.notEqual(contentSha256(a), contentSha256(b));
  });

  test('a message of trace fields only, or empty, still has a hash (and not the hash of another)', () => {
    assert.match(contentSha256(Buffer.from('Received: from a by b\r\n')), /^[0-9a-f]{64}$/);
    assert.notEqual(contentSha256(Buffer.from('Received: from a by b\r\n\r\nbody')), contentSha256(Buffer.from('Received: from a by b\r\n\r\nother')));
  });
});

describe('the duplicate decision', () => {
  test('the same content under a taken key is a duplicate; different content is a clash', () => {
    assert.equal(deliveryVerdict('c1', 'c1'), 'duplicate');
    assert.equal(deliveryVerdict('c1', 'c2'), 'clash');
  });

  test('a workflow started before content hashes were recorded is judged as before: a duplicate', () => {
    assert.equal(deliveryVerdict(null, 'c2'), 'duplicate');
  });

  test('the clash key includes the content hash: it differs from the first key and per content, and is stable for one content', () => {
    const input = { messageId: '<genuine-1@customer.example>', queue: 'support@mailgate.local' };
    const first = idempotencyKey({ ...input, contentSha256: 'forged' });
    const genuine = contentKey({ ...input, contentSha256: 'genuine' });
    assert.notEqual(genuine, first);
    assert.notEqual(genuine, contentKey({ ...input, contentSha256: 'third' }));
    assert.equal(genuine, contentKey({ ...input, messageId: ' <genuine-1@CUSTOMER.example> ', contentSha256: 'genuine' }));
    assert.notEqual(genuine, contentKey({ ...input, queue: 'billing@mailgate.local', contentSha256: 'genuine' }));
  });

  test('without a Message-ID the key is the content itself: a redelivery matches, a different message does not collide', () => {
    const key = (text: string) => idempotencyKey({ messageId: null, queue: 'support@mailgate.local', contentSha256: hash(text) });
    const noId = ORIGINAL.replace('Message-ID: <genuine-1@customer.example>\r\n', '');
    assert.equal(key(noId), key(prepend(['Received: from a by b'], noId)));
    assert.notEqual(key(noId), key(noId.replace('on fire.', 'on fire?')));
  });
});
