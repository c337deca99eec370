/**
 * Headers written as raw 8-bit bytes in a legacy charset (GBK, Big5, Shift_JIS, EUC-KR, KOI8-R,
 * ISO-8859-x, Windows-125x …) instead of RFC 2047 encoded-words. mailsplit hands over every header
 * line as a binary string (one character per byte) and mailparser reads it as UTF-8, so such bytes
 * became U+FFFD and were lost. Here each line is read by these rules, in order:
 *
 * 1. pure ASCII stays as it is, and encoded-words inside keep their own charset (decoded later);
 * 2. ISO-2022-JP escape sequences (7-bit Japanese sent without encoded-words) are read as such;
 * 3. valid UTF-8 is UTF-8 (RFC 6532) and wins over any declaration;
 * 4. otherwise the charset the message declares for its body (top-level Content-Type, or the first
 *    text part of a multipart; charset-sources.ts), if that charset can read these bytes: a
 *    declaration of UTF-8 or ASCII, or one whose decoder meets an invalid sequence, is a wrong one
 *    and is passed over for the lines it cannot read;
 * 5. otherwise chardet over the 8-bit bytes of the headers and the start of the body, if confident;
 * 6. otherwise windows-1252, so the text is readable Latin and never U+FFFD.
 *
 * A single-byte declaration reads any bytes, so a wrong one cannot be told from rare characters: it
 * is believed. chardet cannot overrule it on one header's worth of text (a 20-byte Shift_JIS subject
 * is not even among its guesses); the original bytes stay in the record (`rawHeaders`) instead.
 */
import { isUtf8 } from 'node:buffer';
import chardet from 'chardet';
import libmime from 'libmime';
import { parseAddressHeader, type AddressObject } from 'mailparser';
import type { RawHeader } from '../domain/email';
import { EIGHT_BIT, eightBitLines } from './charset-sources';

/** A header line as mailsplit gives it: lower-case key, line as a binary (latin1) string. */
export interface HeaderLine {
  key: string;
  line: string;
}

/** Entries kept in the record, and bytes kept per entry: a header block is capped upstream too. */
export const MAX_RAW_HEADERS = 64;
export const MAX_RAW_HEADER_BYTES = 4096;
/** The most the detector is given. */
const MAX_DETECTION_SAMPLE = 8 * 1024;
/**
 * Below this chardet confidence (0–100) a guess is not used. Measured on 15–30 byte subjects: right
 * single-byte guesses scored 39–70, a wrong one (EUC-KR taken for ISO-8859-6) 30; CJK guesses on so
 * little text scored 10 whether right or wrong, and 100 once a few lines of body were added.
 */
export const MIN_DETECTION_CONFIDENCE = 35;
/** Charsets that say nothing about 8-bit header bytes, or cannot be what a header is written in. */
const NOT_FOR_8BIT = /^(?:(?:us-?)?ascii|ansi_x3\.4-1968|utf-?8|utf-?7|7bit|8bit|binary|utf-?(?:16|32)(?:[bl]e)?|ucs-?[24]|iso-?2022-.*)$/;

const ESC = '\u001b';
const ISO_2022_JP_DESIGNATIONS = ['$B', '$@', '(J', '$(D'];

/** ESC $ B and its kin (RFC 1468): Japanese in 7 bits, never mistaken for other ASCII text. */
function hasIso2022JpEscape(line: string): boolean {
  for (let i = line.indexOf(ESC); i >= 0; i = line.indexOf(ESC, i + 1)) {
    if (ISO_2022_JP_DESIGNATIONS.some((d) => line.startsWith(d, i + 1))) return true;
  }
  return false;
}

interface Reading {
  charset: string;
  source: RawHeader['source'];
  confidence: number | null;
}

const supportCache = new Map<string, boolean>();
/** Whether libmime (iconv-lite, encoding-japanese) really decodes this charset, rather than UTF-8. */
function decodable(charset: string): boolean {
  const name = libmime.normalizeCharset(charset);
  let known = supportCache.get(name);
  if (known === undefined) {
    known = libmime.createDecodeStream(name).supported;
    // Names come from mail; the cache stays small whatever a sender writes.
    if (supportCache.size < 256) supportCache.set(name, known);
  }
  return known;
}

/**
 * The same decoder encoded-words go through, so a charset reads alike in both forms; except that
 * windows-1252 (what libmime makes of ISO-8859-1 and ASCII too) reads its five unassigned bytes as
 * latin1 C1 controls, as WHATWG does, instead of U+FFFD: every byte of it is text.
 */
function decode(bytes: Buffer, charset: string): string {
  const text = libmime.decodeWord(charset, 'B', bytes.toString('base64'));
  if (!text.includes('\uFFFD') || text.length !== bytes.length || libmime.normalizeCharset(charset) !== 'windows-1252') return text;
  return Array.from(text, (ch, i) => (ch === '\uFFFD' ? String.fromCharCode(bytes[i] ?? 0x3f) : ch)).join('');
}

function usableDeclared(charset: string | null): boolean {
  return charset !== null && !NOT_FOR_8BIT.test(charset.toLowerCase().trim()) && decodable(charset);
}

/** chardet's name → the charset to read with: ISO-8859-1 is read as its superset windows-1252 (WHATWG). */
function readingName(detected: string): string {
  return detected === 'ISO-8859-1' ? 'windows-1252' : detected;
}

/** One guess for all the lines: a message's headers are written by one program in one charset. */
function detect(values: Buffer[], lines: Buffer[], bodySample: () => Buffer): Reading {
  const sample = Buffer.concat([...values, bodySample()]).subarray(0, MAX_DETECTION_SAMPLE);
  let best = 0;
  for (const match of chardet.analyse(sample)) {
    best = Math.max(best, match.confidence);
    if (match.confidence < MIN_DETECTION_CONFIDENCE) break;
    const charset = readingName(match.name);
    if (NOT_FOR_8BIT.test(charset.toLowerCase()) || !decodable(charset)) continue;
    if (lines.every((bytes) => !decode(bytes, charset).includes('\uFFFD'))) {
      return { charset, source: 'detected', confidence: match.confidence };
    }
  }
  return { charset: 'windows-1252', source: 'fallback', confidence: best };
}

export interface DecodedHeaderLines {
  /** Each line as text, in input order; ASCII lines are the input strings themselves. */
  lines: string[];
  /** The lines read in a legacy charset, with their original bytes. */
  rawHeaders: RawHeader[];
  /** Keys of the lines in rawHeaders (and of ISO-2022-JP lines): their parsed values need redoing. */
  redecodedKeys: Set<string>;
}

export interface CharsetContext {
  /** The charset the message declares for its body, or null; asked only when a line needs it. */
  declared: () => string | null;
  /** 8-bit bytes from the start of the body, for the detector; asked only when detection runs. */
  bodySample: () => Buffer;
}

/** Reads each header line by the rules at the top of this file. */
export function decodeHeaderLines(input: readonly HeaderLine[], context: CharsetContext): DecodedHeaderLines {
  const lines: string[] = new Array<string>(input.length);
  const redecodedKeys = new Set<string>();
  const legacy: number[] = [];
  const readings: Reading[] = [];
  input.forEach(({ key, line }, i) => {
    const eightBit = EIGHT_BIT.test(line);
    if (!eightBit && !hasIso2022JpEscape(line)) {
      lines[i] = line;
      return;
    }
    const bytes = Buffer.from(line, 'latin1');
    if (!eightBit) {
      lines[i] = decode(bytes, 'ISO-2022-JP');
      redecodedKeys.add(key);
      return;
    }
    if (isUtf8(bytes)) {
      lines[i] = bytes.toString('utf8');
      return;
    }
    legacy.push(i);
  });
  if (legacy.length === 0) return { lines, rawHeaders: [], redecodedKeys };

  const bytesOf = (i: number): Buffer => Buffer.from(input[i]?.line ?? '', 'latin1');
  // Header names are ASCII and would only dilute the detector's statistics.
  const valueBytesOf = (i: number): Buffer => Buffer.from(valueOf(input[i]?.line ?? ''), 'latin1');
  const declared = context.declared();
  let undeclared: number[] = legacy;
  if (usableDeclared(declared) && declared) {
    const charset = libmime.normalizeCharset(declared);
    undeclared = [];
    for (const i of legacy) {
      const text = decode(bytesOf(i), charset);
      if (!text.includes('\uFFFD')) {
        lines[i] = text;
        readings[i] = { charset, source: 'declared', confidence: null };
      } else {
        undeclared.push(i);
      }
    }
  }
  if (undeclared.length > 0) {
    const reading = detect(undeclared.map(valueBytesOf), undeclared.map(bytesOf), context.bodySample);
    for (const i of undeclared) {
      lines[i] = decode(bytesOf(i), reading.charset);
      readings[i] = reading;
    }
  }

  const rawHeaders: RawHeader[] = [];
  for (const i of legacy) {
    const header = input[i];
    const reading = readings[i];
    if (!header || !reading) continue;
    redecodedKeys.add(header.key);
    if (rawHeaders.length >= MAX_RAW_HEADERS) continue;
    const bytes = Buffer.from(header.line, 'latin1');
    rawHeaders.push({
      name: header.key,
      bytes: bytes.subarray(0, MAX_RAW_HEADER_BYTES).toString('base64'),
      truncated: bytes.length > MAX_RAW_HEADER_BYTES,
      charset: reading.charset,
      source: reading.source,
      confidence: reading.confidence,
      declaredButUnusable: reading.source === 'declared' || declared === null ? null : declared.slice(0, 100),
    });
  }
  return { lines, rawHeaders, redecodedKeys };
}

function valueOf(line: string): string {
  const colon = line.indexOf(':');
  return colon < 0 ? line : line.slice(colon + 1);
}

/** A header line's value, unfolded and trimmed, as mailparser reads it before it decodes words. */
function unfoldedValue(line: string): string {
  return String(libmime.decodeHeader(line).value ?? '').trim();
}

const ADDRESS_KEYS = ['from', 'to', 'cc', 'reply-to'] as const;
const SINGLE_ADDRESS_KEYS = new Set(['from', 'reply-to']);

/**
 * Subject and address headers parsed again from the re-read text, for the keys that had a line
 * re-read; the same shape mailparser gives, so the caller prefers these over its values. As in
 * mailparser, From, Reply-To and Subject take their first occurrence.
 */
export function redecodedFields(input: readonly HeaderLine[], decoded: DecodedHeaderLines): Map<string, unknown> {
  const fields = new Map<string, unknown>();
  if (decoded.redecodedKeys.size === 0) return fields;
  const valuesOf = (key: string): string[] =>
    input.flatMap((h, i) => (h.key === key ? [unfoldedValue(decoded.lines[i] ?? '')] : [])).filter((v) => v !== '');
  if (decoded.redecodedKeys.has('subject')) {
    const subject = valuesOf('subject')[0];
    if (subject !== undefined) fields.set('subject', libmime.decodeWords(subject));
  }
  for (const key of ADDRESS_KEYS) {
    if (!decoded.redecodedKeys.has(key)) continue;
    const objects: AddressObject[] = valuesOf(key).map((value) => parseAddressHeader(value));
    if (objects.length === 0) continue;
    fields.set(key, SINGLE_ADDRESS_KEYS.has(key) || objects.length === 1 ? objects[0] : objects);
  }
  return fields;
}

/**
 * One unfolded header value as the ingress reads it (latin1, from the header block alone), read by
 * the same rules with the charset the block's own Content-Type declares; encoded-words are left
 * for the caller. Without the body there is less for the detector, so short CJK text may fall back.
 */
export function decodeLatin1HeaderValue(name: string, value: string, contentType: string | undefined): string {
  const declared = contentType ? charsetParam(contentType) : null;
  const prefix = `${name}: `;
  const { lines } = decodeHeaderLines([{ key: name.toLowerCase(), line: prefix + value }], { declared: () => declared, bodySample: () => Buffer.alloc(0) });
  return (lines[0] ?? prefix + value).slice(prefix.length);
}

function charsetParam(contentType: string): string | null {
  return libmime.parseHeaderValue(contentType).params['charset']?.trim() || null;
}

/**
 * An embedded message's first bytes (message/rfc822, text/rfc822-headers) as text: its header block
 * read by the same rules, with its own Content-Type's charset as the declaration and its own body
 * as the detector's sample; the rest as UTF-8.
 */
export function decodeEmbeddedHead(head: Buffer): string {
  const text = head.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text)?.index ?? text.length;
  const input: HeaderLine[] = text
    .slice(0, end)
    .split(/\r?\n(?![ \t])/)
    .map((line) => ({ key: line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase(), line }));
  const contentType = input.find((h) => h.key === 'content-type');
  const declared = contentType ? charsetParam(unfoldedValue(contentType.line)) : null;
  const decoded = decodeHeaderLines(input, { declared: () => declared, bodySample: () => eightBitLines(text.slice(end)) });
  return decoded.lines.join('\r\n') + head.subarray(end).toString('utf8');
}
