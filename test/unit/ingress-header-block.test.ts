/**
 * The ingress header reader on the shapes real mail arrives in (issue 14, class 1): where the block
 * starts, broken lines inside it, the size cap, and what it refuses.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSha256 } from '../../src/domain/content-hash';
import { addressesOf, NotAnEmailError, readHeaderBlock } from '../../src/ingress/mime-headers';

const HEADERS = 'From: Ann <ann@customer.example>\r\nTo: support@mailgate.local\r\nCc: billing@mailgate.local\r\nSubject: Printer jam\r\nMessage-ID: <jam@customer.example>\r\n';

describe('the ingress header reader', () => {
  test('reads the recipients and the Message-ID below an mbox separator line', () => {
    const headers = readHeaderBlock(Buffer.from(`From ann@customer.example Mon Jan  1 00:00:00 2001\r\n${HEADERS}\r\nbody`));
    assert.deepEqual(addressesOf(headers.all('to')), ['support@mailgate.local']);
    assert.deepEqual(addressesOf(headers.all('cc')), ['billing@mailgate.local']);
    assert.equal(headers.get('message-id'), '<jam@customer.example>');
  });

  test('two deliveries of one message whose mbox separators differ have the same content hash', () => {
    const hash = (separator: string): string => {
      const raw = Buffer.from(`${separator}\r\n${HEADERS}\r\nbody`);
      const headers = readHeaderBlock(raw);
      assert.equal(headers.prefixBytes, separator.length + 2);
      return contentSha256(raw.subarray(headers.prefixBytes));
    };
    assert.equal(hash('From ann@customer.example Mon Jan  1 00:00:00 2001'), hash('From ann@customer.example Tue Jan  2 09:30:00 2001'));
    assert.equal(readHeaderBlock(Buffer.from(`${HEADERS}\r\nbody`)).prefixBytes, 0);
  });

  test('reads the headers below leading blank lines and below a stray line', () => {
    assert.equal(readHeaderBlock(Buffer.from(`\r\n\r\n${HEADERS}\r\nbody`)).get('subject'), 'Printer jam');
    assert.equal(readHeaderBlock(Buffer.from(`>From ann@customer.example\n${HEADERS.replace(/\r\n/g, '\n')}\nbody`)).get('subject'), 'Printer jam');
  });

  test('passes over a broken line inside the block and keeps the fields after it, folded ones included', () => {
    const headers = readHeaderBlock(Buffer.from('From: Ann <ann@customer.example>\r\n=?broken line\r\n continued\r\nTo: support@mailgate.local,\r\n billing@mailgate.local\r\nSubject: hi\r\n\r\nbody'));
    assert.deepEqual(addressesOf(headers.all('to')), ['support@mailgate.local', 'billing@mailgate.local']);
    assert.equal(headers.get('subject'), 'hi');
    assert.equal(headers.get('from'), 'Ann <ann@customer.example>');
  });

  test('a body without headers has no fields, so only an envelope can give it a recipient', () => {
    const headers = readHeaderBlock(Buffer.from('The printer jams.\n'));
    assert.deepEqual(headers.all('to'), []);
  });

  test('keeps the header size cap below the prefix', () => {
    const big = `From ann@customer.example Mon Jan  1 00:00:00 2001\r\nFrom: a@x.org\r\n${'X-Junk: v\r\n'.repeat(2000)}\r\nbody`;
    assert.doesNotThrow(() => readHeaderBlock(Buffer.from(big)));
    assert.throws(() => readHeaderBlock(Buffer.from(big), 4096), /no end of the header block within 4096 bytes/);
  });

  test('refuses what is plainly not mail with the reason, and never a message with headers for its body', () => {
    assert.throws(() => readHeaderBlock(Buffer.from('[{"id":1},{"id":2}]')), (e: unknown) => e instanceof NotAnEmailError && /JSON/.test(e.message));
    assert.throws(() => readHeaderBlock(Buffer.from('\r\n<html><head></head></html>')), /HTML page/);
    assert.doesNotThrow(() => readHeaderBlock(Buffer.from(`${HEADERS}Content-Transfer-Encoding: binary\r\n\r\n\0\x01\x02binary body`)));
    assert.doesNotThrow(() => readHeaderBlock(Buffer.from('[URGENT] printer jams\n')));
  });
});
