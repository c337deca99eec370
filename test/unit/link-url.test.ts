/**
 * Issue 12, class 8: links are normalised before they are judged. Each case is a form a browser
 * reads differently from its text; the normaliser must refuse it or return the URL the browser
 * will actually follow. The cases are test/fixtures/xss/links.json (add the probe's new ones there).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseLink, normaliseSrcset, type LinkRefusal } from '../../src/domain/link-url';
import { LINKS } from '../helpers/link-vectors';

// Two bases that stand for "the helpdesk's own page": a kept link must go to the same place
// whichever page shows it.
const OUR_PAGES = ['https://helpdesk.mailgate.test/v1/tickets/42', 'http://127.0.0.1:3000/'];

export const KEPT: ReadonlyArray<[input: string, href: string]> = LINKS.kept;
export const REFUSED: ReadonlyArray<[input: string, refusal: LinkRefusal]> = LINKS.refused;

describe('normaliseLink', () => {
  test(`absolute http(s) and mailto links (${KEPT.length}) are kept as the URL parser serialises them`, () => {
    for (const [input, href] of KEPT) assert.deepEqual(normaliseLink(input), { ok: true, href }, JSON.stringify(input));
  });

  test('a kept link goes to the same place whichever page of ours shows it, and re-judging it changes nothing', () => {
    for (const [input] of KEPT) {
      const verdict = normaliseLink(input);
      assert.ok(verdict.ok);
      for (const page of OUR_PAGES) {
        assert.equal(new URL(input, page).href, verdict.href, `${JSON.stringify(input)} against ${page}`);
        assert.notEqual(new URL(verdict.href).origin, new URL(page).origin);
      }
      assert.deepEqual(normaliseLink(verdict.href), verdict, 'idempotent');
    }
  });

  test(`relative, scheme-relative, slash-less, script, look-alike, credential and IDN forms (${REFUSED.length}) are refused with the reason`, () => {
    for (const [input, refusal] of REFUSED) assert.deepEqual(normaliseLink(input), { ok: false, refusal }, JSON.stringify(input));
  });

  test('the probe\'s forms resolve to our own origin in a browser, which is why they are refused', () => {
    const page = OUR_PAGES[0]!;
    for (const input of ['https:/v1/tickets/1/close', 'https:v1/admin', 'HTTPS:/\tlogout', '/v1/emails', '?status=closed', './x', '#top']) {
      assert.equal(new URL(input, page).origin, new URL(page).origin, input);
      assert.equal(normaliseLink(input).ok, false, input);
    }
    // Scheme-relative forms take the page's scheme: where they go depends on the page showing them.
    for (const input of ['//evil.example/', '\\\\evil.example', '/\\evil.example']) {
      assert.notEqual(new URL(input, OUR_PAGES[0]).protocol, new URL(input, OUR_PAGES[1]).protocol, input);
      assert.equal(normaliseLink(input).ok, false, input);
    }
  });

  test('a mailto link may only be mailto: other schemes are refused even when asked for by name', () => {
    assert.deepEqual(normaliseLink('https://ok.example/', new Set(['mailto:'])), { ok: false, refusal: 'scheme' });
  });
});

describe('normaliseSrcset', () => {
  const image = (url: string): string | undefined => (/^cid:./i.test(url) ? url : undefined);
  const link = (url: string): string | undefined => {
    const verdict = normaliseLink(url);
    return verdict.ok ? verdict.href : undefined;
  };

  test('each candidate is judged and rewritten; descriptors are kept', () => {
    assert.equal(normaliseSrcset('cid:a 1x, cid:b 2x', image), 'cid:a 1x, cid:b 2x');
    assert.equal(normaliseSrcset('HTTPS://OK.example/a.png 100w,https://ok.example/b.png 200w', link), 'https://ok.example/a.png 100w, https://ok.example/b.png 200w');
    // A URL runs to whitespace (HTML's srcset parser): without a blank the comma is part of it.
    assert.equal(normaliseSrcset('https://ok.example/a.png,https://ok.example/b.png', link), 'https://ok.example/a.png,https://ok.example/b.png');
    assert.equal(normaliseSrcset('https://ok.example/a.png, https://ok.example/b.png', link), 'https://ok.example/a.png, https://ok.example/b.png');
  });

  test('one refused candidate drops the whole srcset, wherever it stands', () => {
    for (const value of [
      'cid:a 1x, javascript:alert(1) 2x',
      'javascript:alert(1) 1x, cid:a 2x',
      'cid:a 1x, //evil.example/p.png 2x',
      'https://ok.example/a.png 1x, https:/logout 2x',
      'https://ok.example/a.png 1x,/logout 2x',
      'cid:a 1x (onerror=alert(1))',
      '   ,  ',
    ]) {
      assert.equal(normaliseSrcset(value, value.includes('cid:') ? image : link), undefined, value);
    }
  });
});
