/**
 * Payment card numbers (PANs). A candidate is a run of digit groups; a card is a slice of whole
 * groups whose digits pass the issuer prefix and Luhn tests and whose grouping is one a person
 * prints. Runs from the projection (redact-projection.ts), so invisible characters, look-alike
 * dashes, dots and spaces and full-width digits are already folded.
 *
 * Issue 12, class 4: an outside probe got card numbers through by changing only the separators
 * (dots, slashes, line wraps, zero-width characters) and by splitting them across lines. So any mix
 * of separators is accepted between groups; the grouping and the two checksums carry the precision.
 */
import { MASK, type Hit } from './redact-hit';

// Between two groups: spaces or tabs; one dash, dot or slash with a space either side at most; or up
// to three line breaks, each with the next line's indentation or quote marks ("> ") after it (a
// wrap, or paragraphs in HTML). Each alternative is
// bounded and none starts with a digit, so a run is matched in one pass (no backtracking blow-up).
const SEPARATOR = String.raw`(?:[ \t]{1,3}|[ \t]{0,3}(?:(?:\r\n?|\n)[ \t>]{0,4}){1,3}|[ \t]?[-./][ \t]?)`;
const DIGIT_RUN = new RegExp(String.raw`(?<!\d)\d+(?:${SEPARATOR}\d+)*`, 'g');
// Cards are 13-19 digits; single-digit groups are the longest way to spell one.
const MIN_DIGITS = 13;
const MAX_DIGITS = 19;
const MAX_CARD_GROUPS = MAX_DIGITS;

interface Groups { starts: number[]; ends: number[]; digits: string[]; joinedBefore: boolean[] }

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/**
 * The run's digit groups; `joinedBefore`: glued to the group before it by one dash, dot or slash
 * and nothing else, as identifiers are (INV-2024-4111…, v1.4111…).
 * With `mergeWraps`, digits either side of a bare line break (followed by nothing but the next
 * line's indentation or quote marks) are one group, a wrap inside a group ("41111111⏎11111111");
 * without, the break separates groups, a wrap between them. A run with a break is read both ways.
 * One pass over the characters: runs can be a megabyte of "1 1 1 …".
 */
function groupsOf(text: string, runStart: number, runEnd: number, mergeWraps: boolean): Groups {
  const groups: Groups = { starts: [], ends: [], digits: [], joinedBefore: [] };
  let k = runStart;
  let separatorStart = -1;
  while (k < runEnd) {
    const groupStart = k;
    while (k < runEnd && isDigit(text.charCodeAt(k))) k++;
    const last = groups.digits.length - 1;
    // DIGIT_RUN admits one separator form per gap, so its first character says which one it is.
    const first = separatorStart < 0 ? 0 : text.charCodeAt(separatorStart);
    const wrap = first === 0x0a || first === 0x0d;
    if (mergeWraps && last >= 0 && wrap) {
      groups.ends[last] = k;
      // Past 19 digits a group is in no card; capping it keeps a megabyte of "4⏎4⏎…" linear.
      if ((groups.digits[last]?.length ?? 0) <= MAX_DIGITS) groups.digits[last] += text.slice(groupStart, Math.min(k, groupStart + MAX_DIGITS + 1));
    } else {
      groups.starts.push(groupStart);
      groups.ends.push(k);
      groups.digits.push(text.slice(groupStart, Math.min(k, groupStart + MAX_DIGITS + 1)));
      groups.joinedBefore.push(groupStart - separatorStart === 1 && (first === 0x2d || first === 0x2e || first === 0x2f));
    }
    separatorStart = k;
    while (k < runEnd && !isDigit(text.charCodeAt(k))) k++;
  }
  return groups;
}

/** Overlapping hits of the two readings of a wrapped run are resolved by the caller (findHits). */
export function cardHits(text: string): Hit[] {
  const hits: Hit[] = [];
  for (const run of text.matchAll(DIGIT_RUN)) {
    if (run[0].length < MIN_DIGITS) continue;
    const end = run.index + run[0].length;
    hits.push(...runHits(text, run.index, end, false));
    if (/[\r\n]/.test(run[0])) hits.push(...runHits(text, run.index, end, true));
  }
  return hits;
}

function runHits(text: string, runStart: number, runEnd: number, mergeWraps: boolean): Hit[] {
  const hits: Hit[] = [];
  const groups = groupsOf(text, runStart, runEnd, mergeWraps);
  // A run glued to letters ("…1111abc", "…1111-x") ends in part of some other identifier; a slash
  // then a word ("…/confirm") starts the next path segment.
  const count = /^(?:[A-Za-z_]|-[A-Za-z_])/.test(text.slice(runEnd, runEnd + 2)) ? groups.digits.length - 1 : groups.digits.length;
  // A run that continues an identifier ("ORD-4111…", "v2.4111…", "12/4111…") starts inside it. A
  // slash after a word is a path ("…/card/4111…" in a link) and starts a new segment.
  const before = text.slice(Math.max(0, runStart - 2), runStart);
  const first = { joined: /[A-Za-z0-9_][-.]$|\d\/$/.test(before), glued: /[A-Za-z_]$/.test(before) };
  for (let i = 0; i < count;) {
    const card = cardAt(groups, i, count, i === 0 ? first : { joined: groups.joinedBefore[i] ?? false, glued: false });
    if (!card) {
      i += 1;
      continue;
    }
    hits.push({ start: groups.starts[i] ?? 0, end: groups.ends[card.last] ?? 0, kind: 'card', replacement: `[redacted card ${MASK}${card.digits.slice(-4)}]` });
    i = card.last + 1;
  }
  return hits;
}

/**
 * The longest card made of whole groups starting at group i, if any. One pass over at most 19
 * digits, keeping Luhn sums for both parities, so every candidate length is checked in O(1): a run
 * of a megabyte of "4 4 4 …" costs a few dozen operations per group.
 */
function cardAt(groups: Groups, i: number, count: number, before: { joined: boolean; glued: boolean }): { last: number; digits: string } | null {
  // Every known issuer starts with 2 to 6 (knownIssuer); most groups of a long run end here.
  const lead = groups.digits[i]?.charCodeAt(0) ?? 0;
  if (before.joined || lead < 50 || lead > 54) return null;
  const size = groups.digits[i]?.length ?? 0;
  const plain = [0, 0];
  const doubled = [0, 0];
  let total = 0;
  let head = '';
  let issuer: boolean | null = null;
  let equalBefore = true;
  let fours = true;
  let best = -1;
  for (let g = i; g < count && g < i + MAX_CARD_GROUPS; g++) {
    const group = groups.digits[g] ?? '';
    if (total + group.length > MAX_DIGITS) break;
    for (let c = 0; c < group.length; c++) {
      const x = group.charCodeAt(c) - 48;
      const parity = (total + c) % 2;
      plain[parity] = (plain[parity] ?? 0) + x;
      doubled[parity] = (doubled[parity] ?? 0) + (x * 2 > 9 ? x * 2 - 9 : x * 2);
    }
    if (head.length < 4) head = (head + group).slice(0, 4);
    total += group.length;
    const n = g - i + 1;
    if (total >= MIN_DIGITS && cardShape(n, { first: size, second: groups.digits[i + 1]?.length ?? 0, last: group.length }, equalBefore, fours)
      // Glued to letters in front, only a printed grouping is a card; one long number is an identifier.
      && !(n === 1 && before.glued)
      // A slice of a dash- or dot-joined identifier ("4111-1111-1111-1111-2024") is not a card.
      && !groups.joinedBefore[g + 1]) {
      issuer ??= knownIssuer(head);
      // Luhn: from the right, every second digit is doubled; the last digit (index total-1) is not.
      const odd = (total - 1) % 2;
      if (issuer && ((plain[odd] ?? 0) + (doubled[1 - odd] ?? 0)) % 10 === 0) best = g;
    }
    if (n > 1 && group.length !== size) equalBefore = false;
    if (group.length % 4 !== 0) fours = false;
  }
  return best < 0 ? null : { last: best, digits: groups.digits.slice(i, best + 1).join('') };
}

/**
 * Card brands print 4-4-4-4(-3), Amex 4-6-5 and Diners 4-6-4, and markup or a wrap can merge two
 * printed groups into one of 8 or 12; people reading a number out also write it in equal groups of
 * one to three digits. Anything else (a phone number's 2-4-4-4, an ISBN's 3-1-2-6-1) is not a card
 * even when it passes Luhn. `equalBefore`: every group before the last has the first group's size;
 * `fours`: every group before the last is 4, 8 or 12 digits long.
 */
function cardShape(count: number, sizes: { first: number; second: number; last: number }, equalBefore: boolean, fours: boolean): boolean {
  const { first: size, second, last: lastSize } = sizes;
  if (count === 1) return true;
  if (count === 3 && size === 4 && second === 6 && (lastSize === 5 || lastSize === 4)) return true;
  if (fours) return lastSize <= 4 || lastSize % 4 === 0;
  return equalBefore && size <= 3 && count >= 5 && lastSize <= size;
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
