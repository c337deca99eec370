import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailboxDomainOf, mailboxOf } from '../../src/domain/mailbox';

describe('the mailbox behind an address (rate-limit keys)', () => {
  test('spellings that reach one inbox are one mailbox: case, plus-tags, angle brackets, spaces', () => {
    for (const spelling of ['ann@customer.example', 'Ann@Customer.Example', 'ann+1@customer.example', 'ANN+news@customer.example', ' <ann+x@customer.example> ']) {
      assert.equal(mailboxOf(spelling), 'ann@customer.example', spelling);
    }
  });

  test('only the first plus starts the tag, so several plus signs are one tag', () => {
    assert.equal(mailboxOf('ann+1+2@customer.example'), 'ann@customer.example');
    assert.equal(mailboxOf('ann++@customer.example'), 'ann@customer.example');
  });

  test('a local part that is only a tag counts as the empty mailbox of its domain, not one budget per tag', () => {
    assert.equal(mailboxOf('+1@customer.example'), '@customer.example');
    assert.equal(mailboxOf('+2@customer.example'), mailboxOf('+1@customer.example'));
  });

  test('Gmail ignores dots and googlemail.com is gmail.com', () => {
    for (const spelling of ['a.n.n@gmail.com', 'A.N.N+promo@GMAIL.COM', 'ann@googlemail.com', 'a.nn+x@googlemail.com', 'ann@gmail.com.']) {
      assert.equal(mailboxOf(spelling), 'ann@gmail.com', spelling);
    }
  });

  test('dots matter at every other provider', () => {
    assert.equal(mailboxOf('a.n.n@customer.example'), 'a.n.n@customer.example');
    assert.notEqual(mailboxOf('a.nn@customer.example'), mailboxOf('ann@customer.example'));
  });

  test('a quoted local part is unquoted before the tag and the dots are removed', () => {
    assert.equal(mailboxOf('"ann+1"@customer.example'), 'ann@customer.example');
    assert.equal(mailboxOf('"A.N.N"@gmail.com'), 'ann@gmail.com');
    assert.equal(mailboxOf('"a\\"b+c"@customer.example'), 'a"b@customer.example');
    assert.equal(mailboxOf('"x@y"@customer.example'), 'x@y@customer.example', 'the domain is after the last @');
    assert.equal(mailboxDomainOf('"x@y"@customer.example'), 'customer.example');
  });

  test('an internationalised domain is one mailbox in Unicode, upper case or punycode', () => {
    const ascii = 'ann@xn--bcher-kva.example';
    assert.equal(mailboxOf('ann@bücher.example'), ascii);
    assert.equal(mailboxOf('Ann+1@BÜCHER.example'), ascii);
    assert.equal(mailboxOf('ann@XN--BCHER-KVA.example'), ascii);
    assert.equal(mailboxOf('ann@ｇｍａｉｌ.com'), 'ann@gmail.com', 'full-width letters fold to Gmail too');
  });

  test('a Unicode local part is compared in one normal form', () => {
    assert.equal(mailboxOf('jose\u0301@customer.example'), mailboxOf('jos\u00e9@customer.example'));
    assert.equal(mailboxOf('JOSÉ+1@customer.example'), 'josé@customer.example');
  });

  test('input without an @ is a bare local part, lower-cased and untagged; it has no domain', () => {
    assert.equal(mailboxOf('Ann+1'), 'ann');
    assert.equal(mailboxOf(''), '');
    assert.equal(mailboxDomainOf('Ann+1'), '');
    assert.equal(mailboxOf('ann@'), 'ann@');
    assert.equal(mailboxDomainOf('ann@'), '');
  });

  test('a domain that is not a host name is kept lower-cased rather than read as another host', () => {
    assert.equal(mailboxOf('ann@ü.example/evil'), 'ann@ü.example/evil');
    assert.equal(mailboxDomainOf('ann+1@Customer.Example'), 'customer.example');
    assert.equal(mailboxDomainOf('x@googlemail.com'), 'gmail.com');
  });
});
