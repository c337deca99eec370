/**
 * Issue 12, class 8, through the sanitizer: every link of test/fixtures/xss/links.json, written into
 * HTML raw and behind entities, in every element and attribute that takes a URL. What comes out is
 * read back by an independent tokenizer: a URL attribute survives only as an absolute http(s) or
 * mailto link equal to what the URL parser makes of it (or a cid:/raster data: image source).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { judgeUrlAttributes, sanitizeEmailHtml, URL_ATTRIBUTES } from '../../src/domain/html';
import { parseTags } from '../helpers/html-tokens';
import { LINKS } from '../helpers/link-vectors';

const SAFE_HREF = 'https://ok.example/';
const attr = (value: string): string => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const NAMED: Readonly<Record<string, string>> = { ':': '&colon;', '\t': '&Tab;', '\n': '&NewLine;', '/': '&sol;', '\\': '&bsol;', '.': '&period;' };

/** The same URL as an attribute value: escaped only where needed, every character a numeric reference, named references. */
const ENCODINGS: ReadonlyArray<[name: string, encode: (url: string) => string]> = [
  ['raw', attr],
  ['decimal', (u) => [...u].map((c) => `&#${c.codePointAt(0)};`).join('')],
  ['hex without semicolons', (u) => [...u].map((c) => `&#x${(c.codePointAt(0) ?? 0).toString(16)}`).join('')],
  ['named', (u) => [...u].map((c) => NAMED[c] ?? attr(c)).join('')],
];

const CONTEXTS: ReadonlyArray<(value: string) => string> = [
  (v) => `<a href="${v}">x</a>`,
  (v) => `<A HREF="${v}">x</A>`,
  (v) => `<img src="${v}">`,
  (v) => `<img srcset="${v} 1x">`,
  (v) => `<img src="cid:ok" srcset="cid:ok 1x, ${v} 2x">`,
  (v) => `<form action="${v}"><button>go</button></form>`,
  (v) => `<button formaction="${v}">go</button>`,
  (v) => `<svg><a xlink:href="${v}"><text>x</text></a></svg>`,
  (v) => `<math><maction actiontype="statusline" xlink:href="${v}">x</maction></math>`,
  (v) => `<table background="${v}"><tr><td background="${v}">x</td></tr></table>`,
  (v) => `<video poster="${v}"></video>`,
  (v) => `<a href="${SAFE_HREF}" ping="${v}">x</a>`,
  (v) => `<blockquote cite="${v}">x</blockquote>`,
  (v) => `<q cite="${v}">x</q>`,
  (v) => `<div style="background:url(${v})">x</div>`,
  (v) => `<p style="background-image: image-set('${v}' 1x)">x</p>`,
  (v) => `<meta http-equiv="refresh" content="0;url=${v}">`,
  (v) => `<base href="${v}"><a href="x">x</a>`,
  (v) => `<map><area href="${v}"></map>`,
  (v) => `<iframe src="${v}"></iframe>`,
  (v) => `<object data="${v}"></object>`,
  (v) => `<embed src="${v}">`,
  (v) => `<link rel="stylesheet" href="${v}">`,
  (v) => `<input type="image" src="${v}">`,
  (v) => `<img lowsrc="${v}" dynsrc="${v}" longdesc="${v}">`,
  (v) => `<body background="${v}">x</body>`,
];

const IMAGE_SRC = /^(?:cid:.|data:image\/(?:png|gif|jpeg|webp);base64,)/i;
const URL_BEARING = new Set([...URL_ATTRIBUTES, 'style', 'content', 'lowsrc', 'dynsrc', 'longdesc', 'srcset']);

/** URL attributes in sanitized output that are not a normalised absolute link or an inline image. */
function unjudgedUrls(html: string): string[] {
  const problems: string[] = [];
  for (const tag of parseTags(html)) {
    for (const { name, value } of tag.attributes) {
      if (!URL_BEARING.has(name)) continue;
      if (tag.name === 'a' && name === 'href' && /^(?:https?:\/\/|mailto:)/.test(value) && new URL(value).href === value) continue;
      if (tag.name === 'img' && name === 'src' && IMAGE_SRC.test(value)) continue;
      problems.push(`<${tag.name} ${name}="${value}">`);
    }
  }
  return problems;
}

function hrefOf(html: string): string | undefined {
  return parseTags(html).find((t) => t.name === 'a')?.attributes.find((a) => a.name === 'href')?.value;
}

describe('links through sanitizeEmailHtml', () => {
  const refusedCases = LINKS.refused.length * ENCODINGS.length * CONTEXTS.length * 2;
  test(`every refused link, raw or behind entities, in every URL-bearing element and attribute (${refusedCases} cases) leaves no URL that was not judged`, () => {
    const failures: string[] = [];
    for (const [input] of LINKS.refused) {
      for (const [encoding, encode] of ENCODINGS) {
        for (const context of CONTEXTS) {
          for (const remoteImages of ['drop', 'link'] as const) {
            const html = context(encode(input));
            const output = sanitizeEmailHtml(html, { remoteImages });
            const problems = unjudgedUrls(output);
            const href = hrefOf(output);
            if (href !== undefined && href !== SAFE_HREF) problems.push(`kept href ${href}`);
            if (problems.length > 0) failures.push(`${JSON.stringify(input)} (${encoding}, ${remoteImages}) ${JSON.stringify(html)} -> ${JSON.stringify(output)}: ${problems.join('; ')}`);
          }
        }
      }
    }
    assert.deepEqual(failures.slice(0, 20), []);
  });

  test(`every kept link (${LINKS.kept.length}), raw or behind entities, comes out as exactly the href the URL parser makes of it`, () => {
    for (const [input, expected] of LINKS.kept) {
      for (const [encoding, encode] of ENCODINGS) {
        const output = sanitizeEmailHtml(`<a href="${encode(input)}">x</a>`);
        // A NUL reference is U+FFFD to an HTML parser, so the link becomes relative and is dropped.
        const href = hrefOf(output);
        if (input.includes('\u0000') && encoding !== 'raw' && encoding !== 'named') assert.equal(href, undefined, `${JSON.stringify(input)} (${encoding})`);
        else assert.equal(href, expected, `${JSON.stringify(input)} (${encoding}) -> ${output}`);
        assert.deepEqual(unjudgedUrls(output), []);
      }
    }
  });

  test('a remote image made into a link carries the normalised URL; one with a refused URL is dropped', () => {
    assert.equal(hrefOf(sanitizeEmailHtml('<img src="HTTPS://Tracker.example/p.gif?u=1" alt="logo">', { remoteImages: 'link' })), 'https://tracker.example/p.gif?u=1');
    for (const url of ['https:/p.gif', '//tracker.example/p.gif', 'https://user@tracker.example/p.gif', '\\\\tracker.example\\p.gif']) {
      const output = sanitizeEmailHtml(`<img src="${attr(url)}" alt="logo">`, { remoteImages: 'link' });
      assert.equal(hrefOf(output), undefined, url);
      assert.deepEqual(unjudgedUrls(output), [], url);
    }
  });
});

describe('judgeUrlAttributes, whatever the allowlist lets through', () => {
  const others = [...URL_ATTRIBUTES].filter((name) => name !== 'srcset' && name !== 'imagesrcset' && name !== 'content');

  test(`a refused link is removed from each URL attribute (${others.length} attributes × ${LINKS.refused.length} links)`, () => {
    for (const name of others) {
      for (const [input] of LINKS.refused) {
        const judged = judgeUrlAttributes('x-any', { [name]: input, title: 't' });
        assert.deepEqual(judged, { title: 't' }, `${name}=${JSON.stringify(input)}`);
      }
    }
  });

  test('a kept link is written out normalised in each URL attribute', () => {
    for (const name of others) {
      for (const [input, expected] of LINKS.kept) assert.deepEqual(judgeUrlAttributes('x-any', { [name]: input }), { [name]: expected }, `${name}=${JSON.stringify(input)}`);
    }
  });

  test('img src keeps only cid: and raster data: images; srcset is judged per candidate by its element\'s rule', () => {
    assert.deepEqual(judgeUrlAttributes('img', { src: 'cid:logo@x' }), { src: 'cid:logo@x' });
    assert.deepEqual(judgeUrlAttributes('img', { src: 'https://t.example/p.gif' }), {});
    assert.deepEqual(judgeUrlAttributes('img', { srcset: 'cid:a 1x, cid:b 2x' }), { srcset: 'cid:a 1x, cid:b 2x' });
    assert.deepEqual(judgeUrlAttributes('img', { srcset: 'cid:a 1x, https://t.example/p.gif 2x' }), {});
    assert.deepEqual(judgeUrlAttributes('link', { imagesrcset: 'HTTPS://ok.example/a.png 1x' }), { imagesrcset: 'https://ok.example/a.png 1x' });
    assert.deepEqual(judgeUrlAttributes('link', { imagesrcset: 'https:/a.png 1x' }), {});
  });

  test('a meta refresh target and a style that can load anything are removed', () => {
    assert.deepEqual(judgeUrlAttributes('meta', { 'http-equiv': 'refresh', content: '0;url=https:/logout' }), { 'http-equiv': 'refresh' });
    for (const style of ['background:url(https:/logout)', 'background:URL ( "//evil" )', 'background:image-set("x" 1x)', '@import "x"', 'width:expression(alert(1))', 'background:u\\72l(x)', 'behavior:url(x.htc)', '-moz-binding:url(x)']) {
      assert.deepEqual(judgeUrlAttributes('div', { style }), {}, style);
    }
    assert.deepEqual(judgeUrlAttributes('div', { style: 'color: red' }), { style: 'color: red' });
    assert.deepEqual(judgeUrlAttributes('abbr', { content: 'not a url' }), { content: 'not a url' });
  });
});
