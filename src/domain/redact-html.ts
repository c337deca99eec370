import { decodeHTML } from 'entities';
import { ProjectionBuilder, applyEdits, percentAt, type Edit, type Projection } from './redact-projection';
import { resolveReadings, summary, tally, type Redaction, type RedactionPolicy } from './redact-text';

/** `url`: the value of an attribute that holds a URL, where a replacement is %-escaped. */
interface Range { start: number; end: number; quoted: boolean; url: boolean }
/** `name`: the lower-case tag name, "!--" for a comment, "!" for a doctype or processing instruction. */
interface Segment { markup: boolean; raw: string; values: Range[]; name: string }

// Elements whose content the HTML tokenizer reads as text up to the matching end tag.
const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes']);
const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';

/**
 * Splits HTML into text and markup (tags, comments, doctypes) by the WHATWG tokenizer's rules for
 * where a tag and each attribute value end, so redaction rewrites nothing between < and > except
 * inside an attribute value. Linear: each character is visited a bounded number of times.
 */
function splitHtml(html: string): Segment[] {
  const segments: Segment[] = [];
  let lower: string | undefined;
  let textStart = 0;
  let pos = 0;
  const push = (lt: number, end: number, name: string, values: Range[] = []): void => {
    if (lt > textStart) segments.push({ markup: false, raw: html.slice(textStart, lt), values: [], name: '' });
    segments.push({ markup: true, raw: html.slice(lt, end), values, name });
    textStart = pos = end;
  };
  while (pos < html.length) {
    const lt = html.indexOf('<', pos);
    if (lt < 0) break;
    const next = html.charAt(lt + 1);
    if (html.startsWith('<!--', lt)) {
      // A comment's body is redacted like an attribute value: it is text a reader of the source sees.
      const close = html.indexOf('-->', lt + 4);
      const end = close < 0 ? html.length : close;
      push(lt, close < 0 ? end : end + 3, '!--', [{ start: 4, end: end - lt, quoted: true, url: false }]);
    } else if (isLetter(next) || (next === '/' && isLetter(html.charAt(lt + 2)))) {
      const tag = scanTag(html, lt);
      push(lt, tag.end, tag.name, tag.values);
      if (next !== '/' && RAW_TEXT.has(tag.name)) {
        lower ??= html.toLowerCase();
        const close = lower.indexOf(`</${tag.name}`, tag.end);
        pos = close < 0 ? html.length : close;
      }
    } else if (next === '!' || next === '?') {
      const close = html.indexOf('>', lt);
      push(lt, close < 0 ? html.length : close + 1, '!');
    } else {
      pos = lt + 1;
    }
  }
  if (textStart < html.length) segments.push({ markup: false, raw: html.slice(textStart), values: [], name: '' });
  return segments;
}

/** The tag opened at `lt`: its lower-case name, its end (past '>') and its attribute values. */
function scanTag(html: string, lt: number): { name: string; end: number; values: Range[] } {
  const values: Range[] = [];
  let k = lt + (html.charAt(lt + 1) === '/' ? 2 : 1);
  const nameStart = k;
  while (k < html.length && !isSpace(html.charAt(k)) && html.charAt(k) !== '/' && html.charAt(k) !== '>') k++;
  const name = html.slice(nameStart, k).toLowerCase();
  const skip = (also: string): void => {
    while (k < html.length && (isSpace(html.charAt(k)) || html.charAt(k) === also)) k++;
  };
  for (;;) {
    skip('/');
    if (k >= html.length) return { name, end: html.length, values };
    if (html.charAt(k) === '>') return { name, end: k + 1, values };
    const attrStart = k;
    k++;
    while (k < html.length && !isSpace(html.charAt(k)) && !'/>='.includes(html.charAt(k))) k++;
    const url = URL_ATTRIBUTES.has(html.slice(attrStart, k).toLowerCase());
    skip('');
    if (html.charAt(k) !== '=') continue;
    k++;
    skip('');
    const quote = html.charAt(k);
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, k + 1);
      if (close < 0) return { name, end: html.length, values };
      values.push({ start: k + 1 - lt, end: close - lt, quoted: true, url });
      k = close + 1;
    } else if (quote !== '>') {
      const start = k;
      while (k < html.length && !isSpace(html.charAt(k)) && html.charAt(k) !== '>') k++;
      values.push({ start: start - lt, end: k - lt, quoted: false, url });
    }
  }
}

// Attributes whose value is a URL: a replacement there is %-escaped the way the sanitizer writes a URL.
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'cite', 'background', 'poster', 'longdesc', 'data', 'ping', 'xlink:href']);

// Phrasing elements: a reader sees their text run on, so "4111<b>1111</b>…" is one number. Table
// cells and rows are boundaries no number crosses (neighbouring cells are separate values); every
// other tag (block, <br>) reads as a line break. Comments read as nothing, like inline tags.
const INLINE = new Set(['a', 'abbr', 'b', 'bdi', 'bdo', 'big', 'cite', 'code', 'data', 'del', 'dfn', 'em', 'font', 'i', 'ins', 'kbd',
  'mark', 'nobr', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time', 'tt', 'u', 'var', 'wbr', 'label', '!--']);
const CELL = new Set(['td', 'th', 'tr', 'table', 'thead', 'tbody', 'tfoot', 'caption', 'col', 'colgroup']);
const CELL_BOUNDARY = '\u0001';
// A character reference (WHATWG §13.2.5.72): numeric, or a named one with or without its ";".
const ENTITY = /&(?:#[0-9]{1,8};?|#[xX][0-9a-fA-F]{1,8};?|[A-Za-z][A-Za-z0-9]{1,31};?)/y;

/** One text run or attribute value of the source: entities decoded, and in values %XX too (URLs). */
function projectHtmlText(builder: ProjectionBuilder, html: string, start: number, end: number, percent: boolean): void {
  const run = html.slice(start, end);
  const special = percent ? /[&%]/g : /&/g;
  let plain = 0;
  for (let m = special.exec(run); m; m = special.exec(run)) {
    const pieces = m[0] === '&' ? entityAt(run, m.index) : percentAt(run, m.index);
    if (pieces.length === 0) continue;
    builder.text(html, start + plain, start + m.index);
    let from = m.index;
    for (const piece of pieces) {
      builder.decoded(piece.chars, start + from, start + piece.end);
      from = piece.end;
    }
    plain = from;
    special.lastIndex = from;
  }
  builder.text(html, start + plain, end);
}

function entityAt(run: string, at: number): { chars: string; end: number }[] {
  ENTITY.lastIndex = at;
  const m = ENTITY.exec(run);
  if (!m) return [];
  const chars = decodeHTML(m[0]);
  return chars === m[0] ? [] : [{ chars, end: at + m[0].length }];
}

/** The text as a reader sees it: tags as boundaries, inline tags as `inline`. */
function projectText(html: string, segments: Segment[], inline: '' | ' ', invisibleAs: '' | ' '): Projection {
  const builder = new ProjectionBuilder(invisibleAs);
  // Tags in a row read as one boundary, the strongest of them: "</p><p>" is one line break.
  let pending = '';
  const rank = (boundary: string): number => ['', ' ', '\n', CELL_BOUNDARY].indexOf(boundary);
  let at = 0;
  for (const s of segments) {
    if (s.markup) {
      const boundary = INLINE.has(s.name) ? inline : CELL.has(s.name) ? CELL_BOUNDARY : '\n';
      if (rank(boundary) > rank(pending)) pending = boundary;
    } else {
      builder.markup(pending);
      pending = '';
      projectHtmlText(builder, html, at, at + s.raw.length, false);
    }
    at += s.raw.length;
  }
  builder.markup(pending);
  return builder.build();
}

/** Every attribute value and comment body, each after a NUL, which no pattern matches across. */
function projectValues(html: string, segments: Segment[], invisibleAs: '' | ' '): Projection {
  const builder = new ProjectionBuilder(invisibleAs);
  let at = 0;
  for (const s of segments) {
    for (const range of s.values) {
      builder.markup('\0');
      projectHtmlText(builder, html, at + range.start, at + range.end, true);
    }
    at += s.raw.length;
  }
  return builder.build();
}

/**
 * Redacts HTML on what a reader sees: the text content across tags and character references, and
 * every attribute value (title, alt, href and its %-escaped query) and comment. The source is cut
 * only inside text runs and attribute values, never inside a tag, and replacements carry no markup
 * characters, so sanitized input stays sanitized.
 *
 * Read twice: with inline tags and invisible characters joining their neighbours ("4111<b>1111</b>…")
 * and with both as spaces ("<b>Card</b>4111 …", where joining would glue the number to a word).
 * Where the two readings overlap, the earlier and then the longer hit wins.
 */
export function redactHtml(html: string, policy: RedactionPolicy): { html: string; redactions: Redaction[] } {
  if (policy.kinds.length === 0) return { html, redactions: [] };
  const segments = splitHtml(html);
  const joined = projectText(html, segments, '', '');
  // Without inline tags or invisible characters both readings are the same text: read it once.
  const readings = joined.invisible || segments.some((s) => s.markup && INLINE.has(s.name)) ? [joined, projectText(html, segments, ' ', ' ')] : [joined];
  const values = projectValues(html, segments, '');
  const valueReadings = values.invisible ? [values, projectValues(html, segments, ' ')] : [values];
  const { hits, edits } = resolveReadings([...readings, ...valueReadings], policy);
  return { html: applyEdits(html, quoteUnquoted(html, segments, escapeInUrls(segments, edits))), redactions: summary(tally(hits)) };
}

/**
 * A replacement inside a URL (a mailto subject, a query) has its spaces and non-ASCII characters
 * %-escaped, so the link stays a valid URL and sanitizing the output changes nothing.
 */
function escapeInUrls(segments: Segment[], edits: Edit[]): Edit[] {
  const urls: { start: number; end: number }[] = [];
  let at = 0;
  for (const s of segments) {
    for (const range of s.values) if (range.url) urls.push({ start: at + range.start, end: at + range.end });
    at += s.raw.length;
  }
  if (urls.length === 0) return edits;
  let u = 0;
  return edits.map((edit) => {
    for (let value = urls[u]; value && value.end < edit.end; value = urls[u]) u++;
    const value = urls[u];
    if (!value || edit.start < value.start) return edit;
    return { ...edit, replacement: edit.replacement.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)) };
  });
}

/** A replacement contains spaces, so an unquoted attribute value with an edit is quoted whole. */
function quoteUnquoted(html: string, segments: Segment[], edits: Edit[]): Edit[] {
  const unquoted: { start: number; end: number }[] = [];
  let at = 0;
  for (const s of segments) {
    for (const range of s.values) if (!range.quoted) unquoted.push({ start: at + range.start, end: at + range.end });
    at += s.raw.length;
  }
  if (unquoted.length === 0) return edits;
  const out: Edit[] = [];
  let v = 0;
  let inside: Edit[] = [];
  const flush = (): void => {
    const value = unquoted[v];
    if (value && inside.length > 0) {
      const rewritten = applyEdits(html.slice(value.start, value.end), inside).replaceAll('"', '&quot;');
      out.push({ start: value.start, end: value.end, replacement: `"${rewritten}"` });
    }
    inside = [];
  };
  for (const edit of edits) {
    for (let value = unquoted[v]; value && value.end <= edit.start; value = unquoted[v]) {
      flush();
      v += 1;
    }
    const value = unquoted[v];
    if (value && value.start <= edit.start && edit.end <= value.end) inside.push({ ...edit, start: edit.start - value.start, end: edit.end - value.start });
    else out.push(edit);
  }
  flush();
  return out;
}
