import type { Hit } from './redact-detectors';
import { applyHits, findHits, summary, tally, type Redaction, type RedactionPolicy } from './redact-text';

interface Range { start: number; end: number; quoted: boolean }
interface Segment { markup: boolean; raw: string; values: Range[] }

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
  const push = (lt: number, end: number, values: Range[] = []): void => {
    if (lt > textStart) segments.push({ markup: false, raw: html.slice(textStart, lt), values: [] });
    segments.push({ markup: true, raw: html.slice(lt, end), values });
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
      push(lt, close < 0 ? end : end + 3, [{ start: 4, end: end - lt, quoted: true }]);
    } else if (isLetter(next) || (next === '/' && isLetter(html.charAt(lt + 2)))) {
      const tag = scanTag(html, lt);
      push(lt, tag.end, tag.values);
      if (next !== '/' && RAW_TEXT.has(tag.name)) {
        lower ??= html.toLowerCase();
        const close = lower.indexOf(`</${tag.name}`, tag.end);
        pos = close < 0 ? html.length : close;
      }
    } else if (next === '!' || next === '?') {
      const close = html.indexOf('>', lt);
      push(lt, close < 0 ? html.length : close + 1);
    } else {
      pos = lt + 1;
    }
  }
  if (textStart < html.length) segments.push({ markup: false, raw: html.slice(textStart), values: [] });
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
    k++;
    while (k < html.length && !isSpace(html.charAt(k)) && !'/>='.includes(html.charAt(k))) k++;
    skip('');
    if (html.charAt(k) !== '=') continue;
    k++;
    skip('');
    const quote = html.charAt(k);
    if (quote === '"' || quote === "'") {
      const close = html.indexOf(quote, k + 1);
      if (close < 0) return { name, end: html.length, values };
      values.push({ start: k + 1 - lt, end: close - lt, quoted: true });
      k = close + 1;
    } else if (quote !== '>') {
      const start = k;
      while (k < html.length && !isSpace(html.charAt(k)) && html.charAt(k) !== '>') k++;
      values.push({ start: start - lt, end: k - lt, quoted: false });
    }
  }
}

export function redactHtml(html: string, policy: RedactionPolicy): { html: string; redactions: Redaction[] } {
  const segments = splitHtml(html);
  // One scan for the whole document. Text comes first, each tag standing in as a line break, so a
  // key split by <br> lines is still found while table cells never join into one number; then every
  // attribute value and comment body, each after a NUL, which no pattern matches across.
  const text = segments.map((s) => (s.markup ? '\n' : s.raw)).join('');
  const values = segments.flatMap((s) => s.values.map((range) => s.raw.slice(range.start, range.end)));
  const hits = findHits(`${text}\0${values.join('\0')}`, policy);
  const split = hits.findIndex((hit) => hit.start > text.length);
  const textHits = split < 0 ? hits : hits.slice(0, split);
  const valueHits = split < 0 ? [] : hits.slice(split);
  const applied: Hit[] = [];
  let h = 0;
  let v = 0;
  let offset = 0;
  let valueAt = text.length + 1;
  let out = '';
  for (const segment of segments) {
    if (segment.markup) {
      let pos = 0;
      for (const range of segment.values) {
        const valueEnd = valueAt + range.end - range.start;
        const own: Hit[] = [];
        for (let hit = valueHits[v]; hit && hit.start < valueEnd; hit = valueHits[++v]) {
          if (hit.start >= valueAt && hit.end <= valueEnd) own.push({ ...hit, start: hit.start - valueAt, end: hit.end - valueAt });
        }
        if (own.length > 0) {
          applied.push(...own);
          const value = applyHits(segment.raw.slice(range.start, range.end), own);
          // A replacement contains spaces, so an unquoted value is quoted to stay one attribute.
          out += segment.raw.slice(pos, range.start) + (range.quoted ? value : `"${value.replaceAll('"', '&quot;')}"`);
          pos = range.end;
        }
        valueAt = valueEnd + 1;
      }
      out += segment.raw.slice(pos);
      offset += 1;
      while ((textHits[h]?.end ?? Infinity) <= offset) h += 1;
      continue;
    }
    const end = offset + segment.raw.length;
    let pos = offset;
    for (let hit = textHits[h]; hit && hit.start < end; hit = textHits[h]) {
      if (hit.start >= pos) {
        out += segment.raw.slice(pos - offset, hit.start - offset) + hit.replacement;
        applied.push(hit);
      }
      pos = Math.max(pos, Math.min(hit.end, end));
      if (hit.end > end) break;
      h += 1;
    }
    out += segment.raw.slice(pos - offset);
    offset = end;
  }
  return { html: out, redactions: summary(tally(applied)) };
}
