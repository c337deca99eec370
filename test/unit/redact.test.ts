import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeEmailHtml } from '../../src/domain/html';
import { DEFAULT_REDACTION_POLICY, redactHtml, redactText, type RedactionKind } from '../../src/domain/redact';
import { ADVERSARIAL, adversarial, fill, MB, SECRET_LINE } from '../../bench/redaction-inputs';

const redact = (text: string): string => redactText(text, DEFAULT_REDACTION_POLICY).text;
const untouched = (text: string): void => assert.equal(redact(text), text, `expected no redaction in ${JSON.stringify(text)}`);
const only = (...kinds: RedactionKind[]) => ({ kinds });

// Public test numbers: the card networks' and payment processors' documented test PANs, and the
// IBAN examples of the ISO 13616 registry. None belongs to a real account.
describe('card numbers', () => {
  test('Visa, Amex and Mastercard numbers become a marker that keeps only the last four digits', () => {
    assert.equal(
      redact('Visa 4111 1111 1111 1111, Amex 3782 822463 10005 and MC 5555555555554444.'),
      'Visa [redacted card ••••1111], Amex [redacted card ••••0005] and MC [redacted card ••••4444].',
    );
  });
  test('every listed issuer range is recognised: Mastercard 2-series, Discover, JCB, Diners, UnionPay', () => {
    for (const pan of ['2223003122003222', '6011111111111117', '6555900000604105', '3566002020360505', '3056930009020004', '36227206271667', '6200000000000005', '4222222222222']) {
      assert.equal(redact(`pan ${pan}`), `pan [redacted card ••••${pan.slice(-4)}]`);
    }
  });
  test('dashed and no-break-spaced groups in the printed groupings are cards too', () => {
    assert.equal(redact('5105-1051-0510-5100'), '[redacted card ••••5100]');
    assert.equal(redact('3530\u00A01113\u00A03330\u00A00000'), '[redacted card ••••0000]');
    assert.equal(redact('Diners 3056 930902 5904'), 'Diners [redacted card ••••5904]');
  });
  test('a card followed by other numbers is still found, the other numbers stay', () => {
    assert.equal(redact('card 4111 1111 1111 1111 2024 exp 12/27'), 'card [redacted card ••••1111] 2024 exp 12/27');
  });
  test('a number that fails Luhn, such as an order number, is left alone', () => {
    untouched('Order 4111111111111112 shipped');
    untouched('Tracking 4111 1111 1111 1112');
  });
  test('a Luhn-valid number outside the known issuer ranges is left alone', () => {
    untouched('Account 1234567812345670');
  });
  test('card digits glued into a longer identifier are not a card', () => {
    untouched('ref 4111-1111-1111-1111-2024');
    untouched('id 41111111111111111111');
    untouched('sku 4111111111111111abc');
    untouched('ORD-4111111111111111');
  });
  test('phone numbers, dates, invoice ids, ISBNs, tracking numbers, UUIDs and git SHAs are left alone', () => {
    untouched('Call +1 (555) 123-4567 or +44 20 7946 0958, or 0049 30 1234 5678 9012.');
    untouched('Due 2024-01-15, paid 15/01/2024 at 10:30:00.');
    untouched('Invoice INV-2024-000123 and INV 2024 000123.');
    untouched('ISBN 978-3-16-148410-0, also 9783161484100.');
    untouched('UPS 1Z999AA10123456784, USPS 9400 1000 0000 0000 0000 00, FedEx 123456789012.');
    untouched('uuid 550e8400-e29b-41d4-a716-446655440000 and 12345678-1234-1234-1234-123456789012');
    untouched('commit 3f786850e387550fdab836ed7e6dc881de23001b');
  });
});

describe('IBANs', () => {
  test('spaced SEPA and UK IBANs become a marker with the country and the last four characters', () => {
    assert.equal(redact('Pay to DE89 3704 0044 0532 0130 00 please'), 'Pay to [redacted IBAN DE••••3000] please');
    assert.equal(redact('GB82 WEST 1234 5698 7654 32'), '[redacted IBAN GB••••5432]');
    assert.equal(redact('FR14 2004 1010 0505 0001 3M02 606.'), '[redacted IBAN FR••••2606].');
  });
  test('compact IBANs of every length in the table are found, including lower-case bank codes', () => {
    for (const iban of ['DE89370400440532013000', 'NL91ABNA0417164300', 'BE68539007547034', 'CH9300762011623852957', 'NO9386011117947', 'MT84MALT011000012345MTLCAST001S']) {
      assert.equal(redact(`iban:${iban}`), `iban:[redacted IBAN ${iban.slice(0, 2)}••••${iban.slice(-4)}]`);
    }
    assert.equal(redact('NL91abna0417164300'), '[redacted IBAN NL••••4300]');
  });
  test('a wrong check digit, a wrong length, an unknown country or odd spacing is not an IBAN', () => {
    untouched('DE88 3704 0044 0532 0130 00');
    untouched('DE89 3704 0044 0532 0130 0');
    untouched('DE89 3704 0044 0532 0130 001');
    untouched('XX89 3704 0044 0532 0130 00');
    untouched('DE8937 0400 4405 3201 3000');
  });
  test('an IBAN right after a word that looks like an IBAN start is still found', () => {
    assert.equal(redact('XX12 DE89 3704 0044 0532 0130 00'), 'XX12 [redacted IBAN DE••••3000]');
  });
});

describe('US social security numbers', () => {
  test('dashed and spaced SSNs are replaced', () => {
    assert.equal(redact('SSN 123-45-6789 and 078 05 1121.'), 'SSN [redacted SSN] and [redacted SSN].');
  });
  test('numbers the SSA never issues are left alone: area 000, 666, 900-999, group 00, serial 0000', () => {
    untouched('000-12-3456 666-12-3456 900-12-3456 999-12-3456 123-00-4567 123-45-0000');
  });
  test('nine bare digits, mixed separators and slices of longer numbers are not SSNs', () => {
    untouched('order 123456789');
    untouched('code 123-45 6789');
    untouched('phone 1-123-45-6789 and 555-123-4567');
    untouched('parts 123-45-6789-01');
  });
});

describe('credentials', () => {
  const keys: Record<string, string> = {
    'an AWS access key id': 'AKIAIOSFODNN7EXAMPLE',
    'an AWS session key id': 'ASIAY34FZKBOKMUTVV7A',
    'a GitHub personal token': `ghp_${'a1B2c3D4e5'.repeat(3)}abcdef`,
    'a GitHub OAuth token': `gho_${'Z'.repeat(36)}`,
    'a GitHub fine-grained token': `github_pat_11ABCDEFG0123456789_${'x'.repeat(59)}`,
    'a Slack bot token': 'xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
    'a Slack user token': 'xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789',
    'a Stripe live secret key': `sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'}`,
    'a Stripe restricted key': `rk_live_${'51H8kcvAbCdEfGhIjKlMn0p'}`,
    'a Google API key': `AIza${'SyA-1b2C3d4E5f6G7h8I9j0K_lMnOpQrStU'}`,
    'a JWT': 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  };
  for (const [name, key] of Object.entries(keys)) {
    test(`${name} is replaced by [redacted api-key]`, () => {
      assert.equal(redact(`key: ${key} (rotate it)`), 'key: [redacted api-key] (rotate it)');
    });
  }
  test('a Bearer authorization value loses its token but keeps the scheme word', () => {
    assert.equal(redact('Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0.'), 'Authorization: Bearer [redacted api-key].');
  });
  test('prose that mentions a bearer is left alone', () => {
    untouched('The bearer of this letter is authorised to collect the parcel.');
    untouched('Bearer tokens expire after an hour.');
  });
  test('a PEM private key block is replaced whole, headers and base64 body included', () => {
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,3F17F5316E2BAC89\n\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----';
    assert.equal(redact(`here:\n${pem}\nthanks`), 'here:\n[redacted api-key]\nthanks');
  });
  test('a truncated private key loses its header and base64 lines, not the prose after it', () => {
    const text = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n\nThanks, Bob';
    assert.equal(redact(text), '[redacted api-key]\n\nThanks, Bob');
  });
  test('git SHAs, UUIDs and a public key block are left alone', () => {
    untouched('fixed in 3f786850e387550fdab836ed7e6dc881de23001b (550e8400-e29b-41d4-a716-446655440000)');
    untouched('-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----');
  });
});

describe('the redaction summary and policy', () => {
  test('counts each kind that was redacted, in a fixed kind order', () => {
    const { redactions } = redactText('AKIAIOSFODNN7EXAMPLE 4111111111111111 123-45-6789 5555555555554444', DEFAULT_REDACTION_POLICY);
    assert.deepEqual(redactions, [{ kind: 'card', count: 2 }, { kind: 'us-ssn', count: 1 }, { kind: 'api-key', count: 1 }]);
  });
  test('only the kinds named in the policy are redacted', () => {
    const text = 'card 4111111111111111, ssn 123-45-6789';
    assert.equal(redactText(text, only('us-ssn')).text, 'card 4111111111111111, ssn [redacted SSN]');
    assert.deepEqual(redactText(text, only()), { text, redactions: [] });
  });
  test('the default policy covers all four kinds', () => {
    assert.deepEqual([...DEFAULT_REDACTION_POLICY.kinds].sort(), ['api-key', 'card', 'iban', 'us-ssn']);
  });
});

describe('HTML redaction', () => {
  test('redacts in text nodes and attribute values and leaves every tag as it was', () => {
    const html = '<p dir="ltr">Card <b>4111 1111 1111 1111</b><br />IBAN DE89 3704 0044 0532 0130 00</p><a href="https://pay.example/?iban=DE89370400440532013000" title="SSN 123-45-6789">link</a>';
    assert.deepEqual(redactHtml(html, DEFAULT_REDACTION_POLICY), {
      html: '<p dir="ltr">Card <b>[redacted card ••••1111]</b><br />IBAN [redacted IBAN DE••••3000]</p><a href="https://pay.example/?iban=[redacted%20IBAN%20DE%E2%80%A2%E2%80%A2%E2%80%A2%E2%80%A23000]" title="SSN [redacted SSN]">link</a>',
      redactions: [{ kind: 'card', count: 1 }, { kind: 'iban', count: 2 }, { kind: 'us-ssn', count: 1 }],
    });
  });
  test('an unquoted attribute value is quoted when its replacement has spaces', () => {
    assert.equal(redactHtml('<img alt=4111111111111111 src=cid:x>', DEFAULT_REDACTION_POLICY).html, '<img alt="[redacted card ••••1111]" src=cid:x>');
  });
  test('a private key split across <br /> lines is removed while the <br /> tags stay', () => {
    const html = '<div>-----BEGIN PRIVATE KEY-----<br />MIIEvQIBADANBgkqhkiG9w0BAQEFAASC<br />-----END PRIVATE KEY-----</div>';
    assert.equal(redactHtml(html, DEFAULT_REDACTION_POLICY).html, '<div>[redacted api-key]<br /><br /></div>');
  });
  test('numbers in neighbouring table cells are never joined into one card', () => {
    const html = '<table><tr><td>4111</td><td>1111</td><td>1111</td><td>1111</td></tr></table>';
    assert.equal(redactHtml(html, DEFAULT_REDACTION_POLICY).html, html);
  });
  test('a comment body is redacted like text, the comment stays a comment', () => {
    assert.equal(redactHtml('<!-- 4111 1111 1111 1111 --><p>x</p>', DEFAULT_REDACTION_POLICY).html, '<!-- [redacted card ••••1111] --><p>x</p>');
  });
  test('markup without secrets comes back byte for byte, entities, comments and odd tags included', () => {
    const html = '<!DOCTYPE html><!-- 4111 --><p class=x title=\'a > b\'>AT&amp;T &lt;b&gt; 4 &gt; 3</p><script>if (a<b) x = "<p>";</script><br/>';
    assert.equal(redactHtml(html, DEFAULT_REDACTION_POLICY).html, html);
  });
  test('text that only looks like a tag inside a quoted attribute is not taken for markup', () => {
    const html = '<a title="<b>4111 1111 1111 1111</b>">x</a>';
    assert.equal(redactHtml(html, DEFAULT_REDACTION_POLICY).html, '<a title="<b>[redacted card ••••1111]</b>">x</a>');
  });
  test('works on the sanitizer\'s output, the form tickets store', () => {
    const clean = sanitizeEmailHtml('<p onclick="x()">Key <i>AKIAIOSFODNN7EXAMPLE</i>&nbsp;and 4111&nbsp;1111&nbsp;1111&nbsp;1111</p>');
    const { html, redactions } = redactHtml(clean, DEFAULT_REDACTION_POLICY);
    assert.equal(html, '<p>Key <i>[redacted api-key]</i>\u00A0and [redacted card ••••1111]</p>');
    assert.deepEqual(redactions, [{ kind: 'card', count: 1 }, { kind: 'api-key', count: 1 }]);
  });
});

describe('idempotence', () => {
  const sample = [
    'Visa 4111 1111 1111 1111 and 1111 4111 1111 1111 1111, Amex 378282246310005,',
    'IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789, key AKIAIOSFODNN7EXAMPLE,',
    'Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0',
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----',
  ].join('\n');
  test('redacting redacted text changes nothing and reports nothing', () => {
    const once = redact(sample);
    assert.notEqual(once, sample);
    assert.deepEqual(redactText(once, DEFAULT_REDACTION_POLICY), { text: once, redactions: [] });
  });
  test('redacting redacted HTML changes nothing and reports nothing', () => {
    const once = redactHtml(`<pre title="4111111111111111">${sample}</pre>`, DEFAULT_REDACTION_POLICY).html;
    assert.deepEqual(redactHtml(once, DEFAULT_REDACTION_POLICY), { html: once, redactions: [] });
  });
});

// Cost is measured by bench/redaction.ts (ms per MB beside a bare regex pass). Here only the shape:
// a backtracking pattern goes quadratic, so four times the input costs about sixteen times the time;
// a linear one about four. Comparing two sizes in one process holds on a loaded machine, where a
// wall-clock guard does not.
describe('cost grows linearly with the input', () => {
  const SMALL = MB / 4;
  const bestOf = (run: () => unknown): number => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const start = process.hrtime.bigint();
      run();
      best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
    }
    return best;
  };
  /** Time for 1 MB over time for a quarter of it; floors keep sub-millisecond noise from counting. */
  const growth = (small: string, large: string, run: (t: string) => unknown): number =>
    Math.max(bestOf(() => run(large)), 20) / Math.max(bestOf(() => run(small)), 5);
  const LINEAR_LIMIT = 10;

  test('1 MB of mail text with thousands of secrets finds every card, at linear cost', () => {
    const text = fill(SECRET_LINE);
    const cards = redactText(text, DEFAULT_REDACTION_POLICY).redactions.find((r) => r.kind === 'card')?.count ?? 0;
    assert.ok(cards >= Math.floor(MB / SECRET_LINE.length), `found ${cards} cards`);
    const g = growth(fill(SECRET_LINE, SMALL), text, (t) => redactText(t, DEFAULT_REDACTION_POLICY));
    assert.ok(g < LINEAR_LIMIT, `4x the input took ${g.toFixed(1)}x the time`);
  });
  for (const name of Object.keys(ADVERSARIAL)) {
    test(`stays linear on ${name}`, () => {
      const small = adversarial(name, SMALL);
      const large = adversarial(name);
      const text = growth(small, large, (t) => redactText(t, DEFAULT_REDACTION_POLICY));
      const html = growth(small, large, (t) => redactHtml(t, DEFAULT_REDACTION_POLICY));
      assert.ok(text < LINEAR_LIMIT && html < LINEAR_LIMIT, `4x the input took ${text.toFixed(1)}x (text), ${html.toFixed(1)}x (html) the time`);
    });
  }
});
