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

export type RedactionKind = 'card' | 'iban' | 'us-ssn' | 'api-key';

export interface Hit { start: number; end: number; kind: RedactionKind; replacement: string }

const MASK = '••••';

// Groups of digits joined by single spaces, no-break spaces or dashes; the lookbehind keeps a run
// from starting inside a word or a dash-joined identifier such as INV-2024-000123.
const DIGIT_RUN = /(?<![\w-])\d+(?:[ \u00A0-]\d+)*/g;
const DIGIT_GROUP = /\d+/g;
// Card brands print 4-4-4-4(-3), Amex 4-6-5 and Diners 4-6-4 (see cardShape); anything else, a
// phone number's 2-4-4-4 or an ISBN's 3-1-2-6-1, is not a card even when it passes Luhn.
const MAX_CARD_GROUPS = 5;

function cardHits(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const run of text.matchAll(DIGIT_RUN)) {
    if (run[0].length < 13) continue;
    const starts: number[] = [];
    const lengths: number[] = [];
    for (const group of run[0].matchAll(DIGIT_GROUP)) {
      starts.push(run.index + group.index);
      lengths.push(group[0].length);
    }
    const runEnd = run.index + run[0].length;
    // A run glued to letters ("…1111abc", "…1111-x") ends in part of some other identifier.
    if (/^(?:[A-Za-z_]|-\w)/.test(text.slice(runEnd, runEnd + 2))) {
      starts.pop();
      lengths.pop();
    }
    for (let i = 0; i < starts.length;) {
      const card = cardAt(text, starts, lengths, i);
      if (!card) {
        i += 1;
        continue;
      }
      hits.push({ start: starts[i] ?? 0, end: card.end, kind: 'card', replacement: `[redacted card ${MASK}${card.digits.slice(-4)}]` });
      i = card.nextGroup;
    }
  }
  return hits;
}

/** The longest card made of whole digit groups starting at group i, if any. */
function cardAt(text: string, starts: number[], lengths: number[], i: number): { end: number; digits: string; nextGroup: number } | null {
  for (let j = Math.min(starts.length, i + MAX_CARD_GROUPS); j > i; j--) {
    if (!cardShape(lengths, i, j)) continue;
    const start = starts[i] ?? 0;
    const end = (starts[j - 1] ?? 0) + (lengths[j - 1] ?? 0);
    // One separator throughout; and a dash-joined run is one identifier, so never a slice of one.
    const separator = text.charAt((starts[i + 1] ?? 0) - 1);
    let digits = text.slice(start, start + (lengths[i] ?? 0));
    for (let g = i + 1; g < j && digits; g++) {
      digits = text.charAt((starts[g] ?? 0) - 1) === separator ? digits + text.slice(starts[g], (starts[g] ?? 0) + (lengths[g] ?? 0)) : '';
    }
    if (!digits || text.charAt(start - 1) === '-' || text.charAt(end) === '-') continue;
    if (knownIssuer(digits) && luhnValid(digits)) return { end, digits, nextGroup: j };
  }
  return null;
}

function cardShape(lengths: number[], i: number, j: number): boolean {
  let total = 0;
  for (let g = i; g < j; g++) total += lengths[g] ?? 0;
  if (total < 13 || total > 19) return false;
  const count = j - i;
  if (count === 1) return true;
  if (count === 3) return lengths[i] === 4 && lengths[i + 1] === 6 && (lengths[i + 2] === 5 || lengths[i + 2] === 4);
  for (let g = i; g < j - 1; g++) if (lengths[g] !== 4) return false;
  return count >= 4 && (lengths[j - 1] ?? 0) <= 4;
}

// Issuer identification number ranges of the brands a support desk actually sees.
function knownIssuer(d: string): boolean {
  const p2 = Number(d.slice(0, 2));
  const p3 = Number(d.slice(0, 3));
  const p4 = Number(d.slice(0, 4));
  return d.startsWith('4')
    || (p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)
    || p2 === 34 || p2 === 37
    || p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649)
    || (p4 >= 3528 && p4 <= 3589)
    || p2 === 36 || p2 === 38 || (p3 >= 300 && p3 <= 305)
    || p2 === 62;
}

function luhnValid(d: string): boolean {
  let sum = 0;
  for (let k = 0; k < d.length; k++) {
    let x = d.charCodeAt(d.length - 1 - k) - 48;
    if (k % 2 === 1) x = x * 2 > 9 ? x * 2 - 9 : x * 2;
    sum += x;
  }
  return sum % 10 === 0;
}

// ISO 13616 IBAN lengths: every SEPA country plus the other registry members mail tends to carry.
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28,
  CZ: 24, DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18,
  GR: 27, GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32,
  LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15,
  PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25,
  SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
};
const IBAN_CANDIDATE = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ \u00A0]?[A-Za-z0-9]){11,30}/g;

function ibanHits(text: string): Hit[] {
  const hits: Hit[] = [];
  const re = new RegExp(IBAN_CANDIDATE.source, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const hit = ibanAt(text, m.index, m[0]);
    if (hit) hits.push(hit);
    // A rejected candidate may have swallowed the start of a real IBAN ("XX12 DE89 …"); candidates
    // are at most 64 characters, so retrying one word later keeps the scan linear.
    re.lastIndex = hit ? hit.end : m.index + 1;
  }
  return hits;
}

function ibanAt(text: string, start: number, candidate: string): Hit | null {
  const country = candidate.slice(0, 2);
  const length = IBAN_LENGTHS[country];
  if (length === undefined) return null;
  const codes: number[] = [];
  let group = 0;
  let spaced = false;
  let k = 0;
  for (; k < candidate.length && codes.length < length; k++) {
    const c = candidate.charCodeAt(k);
    if (c === 0x20 || c === 0xa0) {
      // Printed IBANs are either compact or in groups of four; any other spacing is prose.
      if (group !== 4) return null;
      spaced = true;
      group = 0;
    } else {
      codes.push(c >= 0x61 ? c - 0x20 : c);
      group += 1;
    }
  }
  if (codes.length < length || (spaced && group > 4) || /[A-Za-z0-9]/.test(text.charAt(start + k))) return null;
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
