/**
 * Detectors of values to redact. Each pairs a cheap candidate regex with a checksum or shape test
 * (Luhn + issuer prefix, ISO 13616 mod-97 + country length, SSA number rules), because order
 * numbers, phone numbers and tracking numbers look like cards to a regex alone.
 *
 * Input is attacker-sized (up to the raw message cap), so every regex must stay linear: each one is
 * anchored by a lookbehind that rejects a start inside its own token characters, so a run of
 * candidate characters is scanned from its first position only, and no nested quantifier can match
 * the same text two ways. Measured on the 2-core dev machine: 1 MB of prose in about 15 ms; 1 MB
 * packed with 22,000 secrets in about 60 ms; the worst adversarial 1 MB inputs in the tests under 200 ms.
 */

import { cardHits } from './redact-cards';
import { MASK, type Hit, type RedactionKind } from './redact-hit';

export type { Hit, RedactionKind } from './redact-hit';

// ISO 13616 IBAN lengths: every SEPA country plus the other registry members mail tends to carry.
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15,
  PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25,
  SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};
// Any case ("de89 3704 …" was missed once: issue 12, class 4). Between characters: one space, tab,
// dot or dash, or a line break with the next line's indentation or quote marks; each alternative is
// bounded, so a candidate stays under 64 characters plus its separators.
const IBAN_SEPARATOR = String.raw`(?:[ \t.\-]|[ \t]?(?:\r\n?|\n)[ \t>]{0,4})`;
const IBAN_CANDIDATE = new RegExp(String.raw`(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:${IBAN_SEPARATOR}?[A-Za-z0-9]){11,30}`, 'g');
const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function ibanHits(text: string): Hit[] {
  const hits: Hit[] = [];
  const re = new RegExp(IBAN_CANDIDATE.source, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const hit = ibanAt(text, m.index, m[0]);
    if (hit) hits.push(hit);
    // A rejected candidate may have swallowed the start of a real IBAN ("XX12 DE89 …"); candidates
    // are bounded, so retrying one character later keeps the scan linear.
    re.lastIndex = hit ? hit.end : m.index + 1;
  }
  return hits;
}

function ibanAt(text: string, start: number, candidate: string): Hit | null {
  const country = candidate.slice(0, 2).toUpperCase();
  const length = IBAN_LENGTHS[country];
  if (length === undefined) return null;
  const codes: number[] = [];
  let group = 0;
  let spaced = false;
  let k = 0;
  // The first character of the separator before this one (0: none); the candidate regex allows one.
  let separator = 0;
  for (; k < candidate.length && codes.length < length; k++) {
    const c = candidate.charCodeAt(k);
    if (!isAlnum(c)) {
      if (separator === 0) separator = c;
      continue;
    }
    if (separator !== 0) {
      // Printed IBANs are either compact or in groups of four; any other spacing is prose. A bare
      // line break is a wrap, inside a group or between two.
      const wrap = separator === 0x0a || separator === 0x0d;
      if (!wrap && group !== 4) return null;
      if (!wrap) spaced = true;
      if (group === 4) group = 0;
      separator = 0;
    }
    codes.push(c >= 0x61 ? c - 0x20 : c);
    group += 1;
  }
  if (codes.length < length || (spaced && group > 4) || isAlnum(text.charCodeAt(start + k))) return null;
  // ISO 7064 MOD 97-10 over the BBAN followed by country and check digits, letters as 10..35.
  let rest = 0;
  for (let n = 0; n < length; n++) {
    const c = codes[(n + 4) % length] ?? 0;
    const value = c >= 0x41 ? c - 55 : c - 48;
    rest = (rest * (value > 9 ? 100 : 10) + value) % 97;
  }
  if (rest !== 1) return null;
  return { start, end: start + k, kind: 'iban', replacement: `[redacted IBAN ${country}${MASK}${String.fromCharCode(...codes.slice(-4))}]` };
}

// Dashes or spaces are required: nine bare digits are far more often an order or account number.
// The lookarounds keep an SSN from being a slice of a longer number joined by the same separator.
const SSN_PATTERNS: readonly RegExp[] = [
  /(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])/g,
  /(?<![\w-]|\d )(\d{3}) (\d{2}) (\d{4})(?![\w-]| \d)/g,
];

function ssnHits(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const m of SSN_PATTERNS.flatMap((pattern) => [...text.matchAll(pattern)])) {
    const [, area = '', group = '', serial = ''] = m;
    // SSA never issues area 000, 666 or 900-999, group 00 or serial 0000.
    if (area === '000' || area === '666' || area.startsWith('9') || group === '00' || serial === '0000') continue;
    hits.push({ start: m.index, end: m.index + m[0].length, kind: 'us-ssn', replacement: '[redacted SSN]' });
  }
  return hits;
}

// Credential shapes with a distinctive prefix; the lookbehind keeps each from matching mid-token.
const TOKEN_PATTERNS: readonly RegExp[] = [
  /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,251}(?![A-Za-z0-9_])/g,
  /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,244}/g,
  /(?<![A-Za-z0-9-])xox[bpar]-[A-Za-z0-9-]{10,250}/g,
  /(?<![A-Za-z0-9_])[sr]k_live_[A-Za-z0-9]{10,247}/g,
  /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g,
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*/g,
  // A PEM private key; when the END line is missing (a truncated paste), the header and the base64
  // lines that follow it. The body cannot contain "-----", so it stops at the next marker, nor NUL,
  // which redactHtml uses to keep attribute values apart.
  /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[^-\0]*(?:-(?!----)[^-\0]*)*-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|(?:\s+(?:(?:Proc-Type|DEK-Info): [^\r\n]*|[A-Za-z0-9+/=]{16,}))*)/g,
];
// RFC 6750 b64token after "Bearer"; only the token is replaced so the sentence still reads.
const BEARER = /(?<![A-Za-z0-9])bearer[ \t\u00A0]+([A-Za-z0-9._~+/-]{20,}=*)/gi;

function apiKeyHits(text: string): Hit[] {
  const hits: Hit[] = [];
  const replacement = '[redacted api-key]';
  for (const pattern of TOKEN_PATTERNS) {
    for (const m of text.matchAll(pattern)) hits.push({ start: m.index, end: m.index + m[0].length, kind: 'api-key', replacement });
  }
  for (const m of text.matchAll(BEARER)) {
    const token = (m[1] ?? '').replace(/\.+$/, '');
    // Prose ("the bearer of this letter") has no 20-character word with a digit in it.
    if (token.length < 20 || !/\d/.test(token)) continue;
    const start = m.index + m[0].length - (m[1] ?? '').length;
    hits.push({ start, end: start + token.length, kind: 'api-key', replacement });
  }
  return hits;
}

export const DETECTORS: Readonly<Record<RedactionKind, (text: string) => Hit[]>> = {
  card: cardHits,
  iban: ibanHits,
  'us-ssn': ssnHits,
  'api-key': apiKeyHits,
};
