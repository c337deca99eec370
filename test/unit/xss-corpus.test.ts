import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sanitizeEmailHtml } from '../../src/domain/html';
import { decodeEntities, parseTags } from '../helpers/html-tokens';

// Public filter-evasion vectors (sources and licences in test/fixtures/xss/README.md).
const CORPUS_FILE = path.resolve(__dirname, '../../..', 'test/fixtures/xss/vectors.txt');
const corpus: unknown = JSON.parse(readFileSync(CORPUS_FILE, 'utf8'));
if (!Array.isArray(corpus) || !corpus.every((v) => typeof v === 'string')) throw new Error(`${CORPUS_FILE} must be a JSON array of strings`);
const CORPUS: readonly string[] = corpus;

// --- An independent reading of the sanitizer's output (tokenizer in test/helpers/html-tokens.ts). ---

const ACTIVE_TAGS = new Set([
  'script', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'form', 'input', 'button', 'textarea', 'select',
  'option', 'isindex', 'keygen', 'svg', 'math', 'style', 'link', 'meta', 'base', 'template', 'noscript', 'xml', 'xmp',
  'plaintext', 'noembed', 'noframes', 'portal', 'video', 'audio', 'source', 'marquee', 'body', 'html', 'head', 'title',
  'image', 'animate', 'set', 'handler', 'listing',
]);
const URL_ATTRIBUTES = new Set([
  'href', 'src', 'action', 'formaction', 'xlink:href', 'background', 'poster', 'dynsrc', 'lowsrc', 'data', 'codebase',
  'cite', 'longdesc', 'srcset', 'ping', 'usemap', 'profile', 'manifest', 'icon', 'classid', 'from', 'to', 'values',
]);
const INVISIBLE = /[\s\u007f-\u009f\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]/u;

/** What a URL's scheme reads as once entities are decoded and every blank or control character is gone. */
function bareUrl(value: string): string {
  return [...decodeEntities(value)].filter((c) => c > ' ' && !INVISIBLE.test(c)).join('').toLowerCase();
}

/** Every way the sanitized HTML could still run script or load an active document; empty if inert. */
function activeContent(html: string): string[] {
  const problems: string[] = [];
  // Text is always escaped by the sanitizer, so a raw "<name" here is a real tag, whatever the parse.
  const rawTag = /<\s*\/?\s*(script|iframe|object|embed|form|svg|math|style|link|meta|base)\b/i.exec(html);
  if (rawTag) problems.push(`raw <${rawTag[1] ?? ''}`);
  for (const tag of parseTags(html)) {
    if (ACTIVE_TAGS.has(tag.name)) problems.push(`<${tag.name}> element`);
    for (const { name, value } of tag.attributes) {
      if (/^on/i.test(name)) problems.push(`${name} handler on <${tag.name}>`);
      if (name === 'srcdoc') problems.push(`srcdoc on <${tag.name}>`);
      if (URL_ATTRIBUTES.has(name)) {
        const url = bareUrl(value);
        if (/^(?:javascript|vbscript|livescript|mocha):/.test(url)) problems.push(`${name}="${value}" runs script`);
        if (/^data:/.test(url) && !/^data:image\/(?:png|gif|jpeg|webp);base64,/.test(url)) problems.push(`${name}="${value}" is an active data: URL`);
      }
      if (name === 'style') {
        const css = decodeEntities(value).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\\/g, '').toLowerCase();
        if (/expression\s*\(|url\s*\(\s*['"]?\s*(?:javascript|vbscript):|behavior\s*:|-moz-binding/.test(bareUrl(css))) problems.push(`style="${value}" runs script`);
      }
    }
  }
  return problems;
}

function failures(vectors: readonly string[]): string[] {
  return vectors.flatMap((vector) => {
    const output = sanitizeEmailHtml(vector);
    const problems = activeContent(output);
    return problems.length === 0 ? [] : [`${JSON.stringify(vector)} -> ${JSON.stringify(output)}: ${problems.join('; ')}`];
  });
}

// --- Variants generated from known-dangerous shapes. ---

const mixCase = (s: string): string => [...s].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('');
const encodeEach = (s: string, encode: (code: number) => string): string => [...s].map((c) => encode(c.codePointAt(0) ?? 0)).join('');

const ACTIVE_URLS = [
  'javascript:alert(1)',
  'vbscript:msgbox(1)',
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  'data:text/html,<script>alert(1)</script>',
  'data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+',
];

/** The same URL with its scheme disguised the ways filters have been fooled: case, entities, blanks. */
function disguises(url: string): string[] {
  const colon = url.indexOf(':');
  const scheme = url.slice(0, colon);
  const rest = url.slice(colon + 1);
  const half = Math.ceil(scheme.length / 2);
  const split = (sep: string): string => `${scheme.slice(0, half)}${sep}${scheme.slice(half)}:${rest}`;
  return [
    url,
    `${mixCase(scheme)}:${rest}`,
    `${scheme.toUpperCase()}:${rest}`,
    `${encodeEach(`${scheme}:`, (c) => `&#${c};`)}${rest}`,
    `${encodeEach(`${scheme}:`, (c) => `&#x${c.toString(16)};`)}${rest}`,
    `${encodeEach(`${scheme}:`, (c) => `&#${String(c).padStart(7, '0')}`)}${rest}`,
    `${encodeEach(`${scheme}:`, (c) => `&#X${c.toString(16).toUpperCase()}`)}${rest}`,
    `${scheme}&colon;${rest}`,
    `${scheme}&#58;${rest}`,
    ...['\t', '\n', '\r', '\0', '&#x09;', '&#10;', '&#x0D;', '&Tab;', '&NewLine;', '&#0;', '\u00AD'].map(split),
    ...[' ', '\u0001', '\u2028', '&#xA0;', '&#x200B;', '\uFEFF', '\t\n ', '&#x3000;', '\u180E'].map((lead) => `${lead}${url}`),
  ];
}

const URL_CONTEXTS: ReadonlyArray<(url: string) => string> = [
  (u) => `<a href="${u}">x</a>`,
  (u) => `<a href='${u}'>x</a>`,
  (u) => `<a href=${u}>x</a>`,
  (u) => `<img src="${u}">`,
  (u) => `<IMG SRC=${u}>`,
  (u) => `<iframe src="${u}"></iframe>`,
  (u) => `<form action="${u}"><button>go</button></form>`,
  (u) => `<button formaction="${u}">go</button>`,
  (u) => `<svg><a xlink:href="${u}"><text>x</text></a></svg>`,
  (u) => `<object data="${u}"></object>`,
  (u) => `<table background="${u}"><tr><td>x</td></tr></table>`,
  (u) => `<math href="${u}">x</math>`,
];
const URL_VARIANTS = ACTIVE_URLS.flatMap((url) => disguises(url).flatMap((disguised) => URL_CONTEXTS.map((context) => context(disguised))));

const EVENTS = [
  'onload', 'onerror', 'onclick', 'ondblclick', 'onmouseover', 'onmouseout', 'onmouseenter', 'onmousemove', 'onmousedown',
  'onmouseup', 'onfocus', 'onblur', 'onfocusin', 'onchange', 'oninput', 'onsubmit', 'onkeydown', 'onkeyup', 'onkeypress',
  'onscroll', 'onresize', 'onanimationstart', 'onanimationend', 'ontransitionend', 'onpointerdown', 'onpointerover',
  'ontoggle', 'onbeforetoggle', 'oncontextmenu', 'oncopy', 'onpaste', 'oncut', 'ondrag', 'ondrop', 'onwheel', 'onbegin',
  'onstart', 'onfinish', 'onpageshow', 'onhashchange', 'onmessage', 'onpopstate', 'onauxclick', 'onloadstart',
  'onbeforescriptexecute', 'onafterscriptexecute', 'onsearch', 'onshow', 'ontouchstart', 'onselectstart',
];
const HANDLER_CONTEXTS: ReadonlyArray<(event: string) => string> = [
  (e) => `<b ${e}=alert(1)>x</b>`,
  (e) => `<img src="cid:logo" ${mixCase(e)}="alert(1)">`,
  (e) => `<a href="https://example.com" ${e}='alert(1)'>x</a>`,
  (e) => `<p/${e}=alert(1)>x</p>`,
  (e) => `<td\n${e.toUpperCase()}\n=\nalert(1)>x</td>`,
  (e) => `<div title="x"${e}=alert(1)>x</div>`,
];
const HANDLER_VARIANTS = EVENTS.flatMap((event) => HANDLER_CONTEXTS.map((context) => context(event)));

const ELEMENTS = ['script', 'iframe', 'object', 'embed', 'svg', 'math', 'style', 'form', 'base', 'meta', 'link', 'template'];
/** Each active element smuggled by case, odd separators, NUL, nesting and broken closing tags. */
const ELEMENT_VARIANTS = ELEMENTS.flatMap((el) => [
  `<${mixCase(el)} src=x onload=alert(1)>alert(1)</${el}>`,
  `<${el}/x onload=alert(1)>alert(1)</${el}>`,
  `<${el}\n\tonload=alert(1)\n>alert(1)</${el}\n>`,
  `<${el.slice(0, 2)}<${el}>${el.slice(2)} onload=alert(1)>alert(1)</${el}>`,
  `<<${el}>${el} onload=alert(1)>alert(1)<</${el}>/${el}>`,
  `<${el}\0 onload=alert(1)>alert(1)</${el}>`,
  `<b><${el} onload=alert(1)>alert(1)</b></${el}>`,
  `<${el} a=">" onload=alert(1)>alert(1)</${el}>`,
  `<!--><${el} onload=alert(1)>alert(1)</${el}>-->`,
  `<p title="</p><${el} onload=alert(1)>">x</p>`,
]);

const NUL_AND_NESTING_VARIANTS = [
  '<img src=x\0onerror=alert(1)>',
  '<im\0g src=x onerror=alert(1)>',
  '<img\0src=x onerror=alert(1)>',
  '<a href="java\0script:alert(1)">x</a>',
  '<a href="javascript\0:alert(1)">x</a>',
  '<a\0href="javascript:alert(1)">x</a>',
  '<scr\0ipt>alert(1)</scr\0ipt>',
  '<a href="jav&#x0;ascript:alert(1)">x</a>',
  '<a href="javas\u0000cript:alert(1)">x</a>',
  '<img """><script>alert(1)</script>">',
  '<img src="cid:x" alt="<script>alert(1)</script>">',
  '<a href="https://example.com" title="\'><script>alert(1)</script>">x</a>',
  '<b><i><u><s><script>alert(1)</script></s></u></i></b>',
  '<table><tr><td><svg><script>alert(1)</script></svg></td></tr></table>',
  '<div><div><div><div><div><iframe src=javascript:alert(1)></iframe></div></div></div></div></div>',
  '<blockquote><font><img src=x onerror=alert(1)></font></blockquote>',
];

const GENERATED = [...URL_VARIANTS, ...HANDLER_VARIANTS, ...ELEMENT_VARIANTS, ...NUL_AND_NESTING_VARIANTS];

describe('the inertness check itself', () => {
  test('flags scripts, handlers, script URLs behind entities and blanks, active data: URLs and CSS expressions', () => {
    assert.notDeepEqual(activeContent('<script>alert(1)</script>'), []);
    assert.notDeepEqual(activeContent('<img src="cid:x" ONERROR="alert(1)">'), []);
    assert.notDeepEqual(activeContent('<a href="jav&#x09;ascript&colon;alert(1)">x</a>'), []);
    assert.notDeepEqual(activeContent('<a href="\u2028javascript:alert(1)">x</a>'), []);
    assert.notDeepEqual(activeContent('<img src="data:text/html;base64,PHNjcmlwdD4=">'), []);
    assert.notDeepEqual(activeContent('<img src="data:image/svg+xml,<svg onload=alert(1)>">'), []);
    assert.notDeepEqual(activeContent('<p style="width: ex/**/pression(alert(1))">x</p>'), []);
    assert.notDeepEqual(activeContent('<p style="background:url( \'javascript:alert(1)\')">x</p>'), []);
    assert.notDeepEqual(activeContent('<svg><a xlink:href="javascript:alert(1)">x</a></svg>'), []);
  });
  test('passes escaped text that merely mentions scripts, and ordinary links and images', () => {
    assert.deepEqual(activeContent('&lt;script&gt;alert(1)&lt;/script&gt; onerror="x" javascript:alert(1)'), []);
    assert.deepEqual(activeContent('<a href="https://example.com/?q=javascript:1" title="onload=1">x</a>'), []);
    assert.deepEqual(activeContent('<img src="cid:logo" alt="x" /><img src="data:image/png;base64,iVBORw0KGgo=" />'), []);
  });
});

describe('the XSS corpus through sanitizeEmailHtml', () => {
  test('holds at least 500 cases, public vectors and generated variants together', () => {
    assert.ok(CORPUS.length >= 300, `public corpus has ${CORPUS.length} vectors`);
    assert.ok(CORPUS.length + GENERATED.length >= 500, `${CORPUS.length + GENERATED.length} cases`);
  });
  test(`every public filter-evasion vector (${CORPUS.length}) comes out inert`, () => {
    assert.deepEqual(failures(CORPUS), []);
  });
  test(`every script or data: URL with a disguised scheme (${URL_VARIANTS.length}) is dropped, in every URL attribute`, () => {
    assert.deepEqual(failures(URL_VARIANTS), []);
  });
  test(`every event handler (${HANDLER_VARIANTS.length}) is dropped whatever its case or separator`, () => {
    assert.deepEqual(failures(HANDLER_VARIANTS), []);
  });
  test(`every active element smuggled by case, NUL, nesting or broken tags (${ELEMENT_VARIANTS.length}) is dropped`, () => {
    assert.deepEqual(failures(ELEMENT_VARIANTS), []);
  });
  test(`NUL bytes and deep nesting (${NUL_AND_NESTING_VARIANTS.length}) smuggle nothing through`, () => {
    assert.deepEqual(failures(NUL_AND_NESTING_VARIANTS), []);
  });
});

describe('images and links the sanitizer keeps', () => {
  const src = (html: string): string | undefined => parseTags(sanitizeEmailHtml(html)).find((t) => t.name === 'img')?.attributes.find((a) => a.name === 'src')?.value;
  const href = (html: string): string | undefined => parseTags(sanitizeEmailHtml(html)).find((t) => t.name === 'a')?.attributes.find((a) => a.name === 'href')?.value;

  test('a base64 PNG, GIF, JPEG or WebP data: image is kept', () => {
    for (const type of ['png', 'gif', 'jpeg', 'webp']) {
      assert.equal(src(`<img src="data:image/${type};base64,R0lGODlhAQABAAAAACw=">`), `data:image/${type};base64,R0lGODlhAQABAAAAACw=`);
    }
  });
  test('a data: image wrapped over lines, as mail clients wrap base64, is kept without the line breaks', () => {
    assert.equal(src('<img src="DATA:image/PNG;base64,iVBORw0K\r\n GgoAAAAN">'), 'DATA:image/PNG;base64,iVBORw0KGgoAAAAN');
  });
  test('SVG, HTML, non-base64 and typeless data: URLs are dropped from images', () => {
    for (const url of ['data:image/svg+xml;base64,PHN2Zz4=', 'data:text/html;base64,PHNjcmlwdD4=', 'data:image/png,rawbytes', 'data:,123', 'data:image/png;base64,<script>']) {
      assert.equal(src(`<img src="${url}">`), undefined, url);
    }
  });
  test('an inline cid: image is kept; remote, protocol-relative and relative images are dropped', () => {
    assert.equal(src('<img src="cid:logo@mail.example">'), 'cid:logo@mail.example');
    for (const url of ['https://t.example/p.gif', '//t.example/p.gif', '/api/tickets/1/close', 'x']) assert.equal(src(`<img src="${url}">`), undefined, url);
  });
  test('http(s) and mailto links are kept; relative links and in-page fragments, which resolve against the helpdesk\'s own page, are dropped', () => {
    assert.equal(href('<a href="https://ok.example/a?b=c">x</a>'), 'https://ok.example/a?b=c');
    assert.equal(href('<a href="mailto:help@example.com">x</a>'), 'mailto:help@example.com');
    assert.equal(href('<a href="#section-2">x</a>'), undefined);
    assert.equal(href('<a href="/logout">x</a>'), undefined);
  });
});
