/**
 * The audit copy of an email's header block (src/domain/audit-headers.ts) and the ServiceNow field
 * that keeps one per message (src/adapters/helpdesks/servicenow/headers-field.ts): as received, cut
 * at a named limit with a line saying so, redacted per the queue, and the field kept within its
 * length by dropping the oldest replies' blocks, never the first message's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditHeaderBlock, MAX_AUDIT_HEADER_BYTES } from '../../src/domain/audit-headers';
import { appendHeaders, headersSection, MAX_HEADERS_FIELD_CHARS } from '../../src/adapters/helpdesks/servicenow/headers-field';

const NONE = { kinds: [] };
const CARDS = { kinds: ['card' as const] };

function message(headers: string[], body = 'Hello.\r\n'): Buffer {
  return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

describe('audit header block', () => {
  test('the top-level header block is kept as received, folding and order included, without the body', () => {
    const raw = message(['Received: from mx.example by mx.acme.example;', '\tMon, 7 Dec 2026 10:00:00 +0000', 'From: Ann <ann@customer.example>', 'Subject: Printer', 'X-B: 2', 'X-A: 1']);
    assert.equal(
      auditHeaderBlock(raw, { complete: true, policy: NONE }),
      'Received: from mx.example by mx.acme.example;\n\tMon, 7 Dec 2026 10:00:00 +0000\nFrom: Ann <ann@customer.example>\nSubject: Printer\nX-B: 2\nX-A: 1',
    );
  });

  test('a block past the limit is cut at a line boundary and its last line says so', () => {
    const lines = Array.from({ length: 2000 }, (_, i) => `X-Trace-${i}: ${'x'.repeat(40)}`);
    const block = auditHeaderBlock(message(['From: a@b.example', ...lines]), { complete: true, policy: NONE });
    const [last] = block.split('\n').slice(-1);
    assert.match(last ?? '', /^\[Mailgate: header block truncated: first \d+ bytes kept, limit 16384\]$/);
    assert.ok(Buffer.byteLength(block) <= MAX_AUDIT_HEADER_BYTES + 100);
    for (const line of block.split('\n').slice(0, -1)) assert.match(line, /^(From: a@b\.example|X-Trace-\d+: x{40})$/, 'no line is cut in half');
  });

  test('bytes that stop inside the block (a read cut short) are marked as a part only', () => {
    const head = Buffer.from('From: a@b.example\r\nSubject: long');
    assert.match(auditHeaderBlock(head, { complete: false, policy: NONE }), /\n\[Mailgate: header block truncated/);
    assert.equal(auditHeaderBlock(head, { complete: true, policy: NONE }), 'From: a@b.example\nSubject: long', 'a message of headers only is whole');
  });

  test('a card number in a header is redacted per the queue, even RFC 2047 encoded; other fields stay as received', () => {
    const encoded = `=?UTF-8?B?${Buffer.from('Card 4111 1111 1111 1111 please').toString('base64')}?=`;
    const raw = message(['From: a@b.example', `Subject: ${encoded}`, 'X-Ref: 4111 1111 1111 1111', 'X-Plain: =?UTF-8?Q?caf=C3=A9?=']);
    const block = auditHeaderBlock(raw, { complete: true, policy: CARDS });
    assert.doesNotMatch(block, /4111 1111 1111 1111/);
    assert.doesNotMatch(block, new RegExp(encoded.replace(/[?=]/g, '\\$&')), 'the encoded form would carry the number in base64');
    assert.match(block, /^X-Plain: =\?UTF-8\?Q\?caf=C3=A9\?=$/m, 'a field with nothing to redact stays as received');
    assert.equal(auditHeaderBlock(raw, { complete: true, policy: NONE }).includes('X-Ref: 4111 1111 1111 1111'), true, 'a queue that redacts nothing keeps it');
  });

  test('8-bit header bytes that are not UTF-8 survive as latin1; a limit below 256 is refused', () => {
    const raw = Buffer.concat([Buffer.from('Subject: caf'), Buffer.from([0xe9]), Buffer.from('\r\n\r\nbody')]);
    assert.equal(auditHeaderBlock(raw, { complete: true, policy: NONE }), 'Subject: café');
    assert.throws(() => auditHeaderBlock(raw, { complete: true, policy: NONE, limit: 0 }), RangeError);
  });
});

describe('ServiceNow headers field', () => {
  test('replies are appended after the first message, each under its Message-ID', () => {
    const field = appendHeaders(appendHeaders('', headersSection('a@x', 'From: a')), headersSection('b@x', 'From: b'));
    assert.equal(field, '==== Message-ID <a@x> ====\nFrom: a\n\n==== Message-ID <b@x> ====\nFrom: b');
  });

  test('a header line that imitates a section line cannot split the field', () => {
    assert.equal(headersSection('a@x', 'From: a\n==== Message-ID <evil@x> ===='), '==== Message-ID <a@x> ====\nFrom: a\n ==== Message-ID <evil@x> ====');
  });

  test('past the field length the oldest replies give way, never the first message, and a line counts them', () => {
    let field = appendHeaders('', headersSection('first@x', `From: first\n${'F'.repeat(10_000)}`));
    for (let i = 0; i < 12; i++) field = appendHeaders(field, headersSection(`r${i}@x`, `From: r${i}\n${'R'.repeat(10_000)}`));
    assert.ok(field.length <= MAX_HEADERS_FIELD_CHARS);
    assert.match(field, /^==== Message-ID <first@x> ====/);
    assert.match(field, /==== Message-ID <r11@x> ====/, 'the newest reply is kept');
    assert.doesNotMatch(field, /<r0@x>/);
    const dropped = Number(/the header blocks of (\d+) earlier replies were dropped/.exec(field)?.[1]);
    const kept = (field.match(/==== Message-ID <r\d+@x> ====/g) ?? []).length;
    assert.equal(dropped + kept, 12, 'every reply is either kept or counted');
  });
});
