/**
 * Issue 12, class 4, in HTML: numbers split by tags and character references, and numbers in
 * attribute values (title, alt, a mailto link's %-escaped query). Redaction works on the text a
 * reader sees and cuts only text, so every tag of the input is still there, in order, and the
 * sanitizer has nothing to change in the output.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sanitizeEmailHtml } from '../../src/domain/html';
import { DEFAULT_REDACTION_POLICY, redactHtml } from '../../src/domain/redact';

const CARD = '[redacted card ••••1111]';
const IBAN = '[redacted IBAN DE••••3000]';
// In a URL the marker is %-escaped the way the sanitizer writes a link.
const inUrl = (marker: string): string => marker.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
const tagsOf = (html: string): string[] => html.match(/<[^>]*>/g) ?? [];

/** Redacts, and checks that no tag was added, removed or changed outside attribute values. */
function redact(html: string): string {
  const out = redactHtml(html, DEFAULT_REDACTION_POLICY).html;
  const names = (h: string): string[] => tagsOf(h).map((t) => /^<\/?[a-z0-9!-]*/i.exec(t)?.[0] ?? t);
  assert.deepEqual(names(out), names(html), 'the same tags in the same order');
  return out;
}

describe('card numbers split by markup', () => {
  const variants: Record<string, [string, string]> = {
    'bold and a decimal character reference (the probe)': ['4111<b>1111</b>1111&#49;111', `${CARD}<b></b>`],
    'a span per group': ['<p><span>4111</span><span>1111</span><span>1111</span><span>1111</span></p>', `<p><span>${CARD}</span><span></span><span></span><span></span></p>`],
    'nested inline tags': ['<p>4<i>1<b>1</b>1</i> 1111 1111 1111</p>', `<p>${CARD}<i><b></b></i></p>`],
    'nested inline tags that merge two printed groups': ['<p>4<i>1<b>1</b>1</i>1111 1111 1111</p>', `<p>${CARD}<i><b></b></i></p>`],
    'an empty inline tag in the middle': ['41111111<span></span>11111111', `${CARD}<span></span>`],
    'a comment in the middle': ['4111<!-- x -->111111111111', `${CARD}<!-- x -->`],
    'a <wbr> in each group': ['4111<wbr>1111<wbr>1111<wbr>1111', `${CARD}<wbr><wbr><wbr>`],
    'a <br> after each group (one group a line)': ['4111<br>1111<br>1111<br>1111', `${CARD}<br><br><br>`],
    'two groups per paragraph': ['<p>4111 1111</p><p>1111 1111</p>', `<p>${CARD}</p><p></p>`],
    'paragraphs on their own source lines': ['<p>4111 1111</p>\n<p>1111 1111</p>', `<p>${CARD}</p><p></p>`],
    'a hexadecimal character reference': ['4111 1111 1111 111&#x31;', CARD],
    'a character reference without its semicolon': ['4111 1111 1111 111&#49 ok', `${CARD} ok`],
    'named spaces between groups (&nbsp; &thinsp; &ensp;)': ['4111&nbsp;1111&thinsp;1111&ensp;1111', CARD],
    'a zero-width space reference between groups': ['4111&ZeroWidthSpace;1111&#8203;1111&zwnj;1111', CARD],
    'soft hyphen references inside groups': ['41&shy;11 11&shy;11 1111 1111', CARD],
    'full-width digits as references': ['&#65300;&#65297;&#65297;&#65297; 1111 1111 1111', CARD],
    'a word glued to the number by a tag': ['<b>Card</b>4111 1111 1111 1111', `<b>Card</b>${CARD}`],
    'a dot-separated number inside a link text': ['<a href="https://x.example/">4111.1111.1111.1111</a>', `<a href="https://x.example/">${CARD}</a>`],
  };
  for (const [name, [html, expected]] of Object.entries(variants)) {
    test(`a card split by ${name} is redacted and the tags stay`, () => {
      assert.equal(redact(html), expected);
    });
  }
  test('escaped angle brackets next to a card stay escaped', () => {
    assert.equal(redact('&lt;4111 1111 1111 1111&gt; &amp; more'), `&lt;${CARD}&gt; &amp; more`);
  });
  test('numbers in neighbouring table cells are still never joined', () => {
    const html = '<table><tr><td>4111</td><td>1111</td><td>1111</td><td>1111</td></tr></table>';
    assert.equal(redact(html), html);
  });
});

describe('IBANs split by markup', () => {
  test('a lower-case IBAN split by tags and references is redacted', () => {
    assert.equal(redact('<p>IBAN <b>de89</b> 3704&nbsp;0044 <i>0532</i> 0130 00</p>'), `<p>IBAN <b>${IBAN}</b><i></i></p>`);
  });
  test('an IBAN glued to a label by a tag is redacted', () => {
    assert.equal(redact('<b>IBAN</b>DE89370400440532013000'), `<b>IBAN</b>${IBAN}`);
  });
});

describe('attribute values', () => {
  const variants: Record<string, [string, string]> = {
    'title': ['<span title="card 4111.1111.1111.1111">x</span>', `<span title="card ${CARD}">x</span>`],
    'alt, with a character reference': ['<img alt="4111&#32;1111 1111 1111" src="cid:a">', `<img alt="${CARD}" src="cid:a">`],
    'a mailto link\'s %-escaped subject': ['<a href="mailto:pay@x.example?subject=4111%201111%201111%201111">m</a>', `<a href="mailto:pay@x.example?subject=${inUrl(CARD)}">m</a>`],
    'a %-escaped compact card in a query': ['<a href="https://x.example/?pan=%34%31%31%31111111111111">m</a>', `<a href="https://x.example/?pan=${inUrl(CARD)}">m</a>`],
    'a %-escaped UTF-8 no-break space between groups': ['<a href="https://x.example/?p=4111%C2%A01111%C2%A01111%C2%A01111">m</a>', `<a href="https://x.example/?p=${inUrl(CARD)}">m</a>`],
    'a lower-case IBAN in a query': ['<a href="https://x.example/?iban=de89%203704%200044%200532%200130%2000">m</a>', `<a href="https://x.example/?iban=${inUrl(IBAN)}">m</a>`],
    'a link\'s path': ['<a href="https://pay.example/card/4111111111111111/confirm">m</a>', `<a href="https://pay.example/card/${inUrl(CARD)}/confirm">m</a>`],
    'a link\'s fragment': ['<a href="https://pay.example/#4111-1111-1111-1111">m</a>', `<a href="https://pay.example/#${inUrl(CARD)}">m</a>`],
    'an unquoted value': ['<img alt=4111.1111.1111.1111 src=cid:a>', `<img alt="${CARD}" src=cid:a>`],
  };
  for (const [name, [html, expected]] of Object.entries(variants)) {
    test(`a card or IBAN in ${name} is redacted`, () => {
      assert.equal(redact(html), expected);
    });
  }
});

describe('the output stays sanitized', () => {
  test('redacting sanitized HTML full of split numbers leaves nothing for the sanitizer to change', () => {
    const dirty = '<p title="4111 1111 1111 1111">4111<b>1111</b>1111&#49;111 and <i>de89</i> 3704 0044 0532 0130 00</p>'
      + '<a href="mailto:a@b.example?subject=4111%201111%201111%201111">m</a><img alt="5555.5555.5555.4444" src="cid:x">';
    const clean = sanitizeEmailHtml(dirty);
    const { html, redactions } = redactHtml(clean, DEFAULT_REDACTION_POLICY);
    // The sanitizer reorders some attributes of its own output; past that it finds nothing to change.
    assert.equal(sanitizeEmailHtml(html), redactHtml(sanitizeEmailHtml(clean), DEFAULT_REDACTION_POLICY).html);
    assert.deepEqual(tagsOf(html).length, tagsOf(clean).length);
    for (const secret of ['4111', 'de89', '3704', '5555']) assert.ok(!html.includes(secret), `${secret} is gone: ${html}`);
    assert.ok((redactions.find((r) => r.kind === 'card')?.count ?? 0) >= 3, JSON.stringify(redactions));
  });
  test('markup-like text in a value is never turned into markup', () => {
    const out = redact('<span title="&lt;b&gt;4111 1111 1111 1111&lt;/b&gt;">x</span>');
    assert.equal(out, `<span title="&lt;b&gt;${CARD}&lt;/b&gt;">x</span>`);
  });
});
