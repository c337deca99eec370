/**
 * What the detectors read: a projection of the source with what a reader does not see removed and
 * what a reader sees as the same folded together, each projected character remembering the source
 * range it came from, so a hit found in the projection is cut out of the source.
 *
 * Issue 12, class 4: card numbers got through split by zero-width characters, thin or no-break
 * spaces, look-alike dashes and full-width digits. Folded here, once for every detector:
 * - format characters (zero-width space/joiners, word joiner, BOM, soft hyphen, bidi marks, tag
 *   characters: Unicode category Cf) and combining marks (Mn, Me) are dropped;
 * - everything else goes through NFKC (full-width and mathematical digits become ASCII digits, every
 *   Unicode space becomes U+0020), then dashes, dots and slashes that NFKC keeps are mapped to ASCII;
 * - line and paragraph separators (U+2028, U+2029) become "\n".
 * ASCII passes through untouched, so plain mail costs one array entry per character.
 */
import type { Hit } from './redact-hit';

/**
 * A run of projected characters: `identity` runs map source[source, source + length) one to one
 * (the characters may be folded, "４" read as "4", but each stands for one source unit);
 * other runs stand for source[source, sourceEnd) as a whole (a decoded character or entity); markup
 * runs (source -1) stand for a tag and are never cut. `claim`: where the run's source begins when
 * a hit runs into it from before, taking the invisible characters dropped in between.
 */
interface Run { at: number; length: number; source: number; sourceEnd: number; identity: boolean; claim: number }

export interface Projection {
  text: string;
  runs: Run[];
  /** Whether an invisible character was dropped (or, read as a space, kept as one). */
  invisible: boolean;
}

/** One replacement of source[start, end). */
export interface Edit { start: number; end: number; replacement: string }

const DROPPED = /^[\p{Cf}\p{Mn}\p{Me}]$/u;
const LINE_BREAK = /^[\p{Zl}\p{Zp}]$/u;
// Look-alikes NFKC leaves alone: hyphens and dashes (Pd), minus signs; middle dots and bullets used
// as group separators; fraction and division slashes.
const DASH = /^[\p{Pd}\u2212\u2796]$/u;
const DOT = /^[\u00B7\u2022\u2027\u2219\u22C5\u30FB]$/u;
const SLASH = /^[\u2044\u2215\u29F8]$/u;

// Mail uses a small alphabet: each distinct character is folded once per process.
const FOLDED = new Map<string, string>();
const MAX_FOLDED = 65_536;

function fold(ch: string): string {
  let folded = FOLDED.get(ch);
  if (folded === undefined) {
    folded = foldUncached(ch);
    if (FOLDED.size < MAX_FOLDED) FOLDED.set(ch, folded);
  }
  return folded;
}

function foldUncached(ch: string): string {
  if (DROPPED.test(ch)) return '';
  if (LINE_BREAK.test(ch)) return '\n';
  const n = ch.normalize('NFKC');
  if (n.length === 1 && n !== ch) return foldPunctuation(n);
  return n.length === 1 ? foldPunctuation(ch) : n;
}

function foldPunctuation(ch: string): string {
  if (ch.charCodeAt(0) < 0x80) return ch;
  if (DASH.test(ch)) return '-';
  if (DOT.test(ch)) return '.';
  if (SLASH.test(ch)) return '/';
  return ch;
}

/**
 * `invisibleAs`: what an invisible character reads as. Dropped ('') it rejoins a number split inside
 * a group ("41\u200B11…"); as a space it keeps apart groups it separates ("4111 1111 1111\u200B1111").
 * Text that has invisible characters is read both ways (see redactText).
 */
export class ProjectionBuilder {
  private projected = '';
  private readonly runs: Run[] = [];
  private length = 0;
  private invisible = false;
  // Start of the invisible characters dropped since the last projected one (-1: none).
  private droppedFrom = -1;

  constructor(private readonly invisibleAs: '' | ' ' = '') {}

  /** source[start, end) as plain text. */
  text(source: string, start: number, end: number): void {
    let ascii = start;
    for (let k = start; k < end;) {
      const code = source.charCodeAt(k);
      if (code < 0x80) {
        k += 1;
        continue;
      }
      this.ascii(source, ascii, k);
      const units = code >= 0xd800 && code <= 0xdbff && k + 1 < end ? 2 : 1;
      this.decoded(units === 1 ? source.charAt(k) : source.slice(k, k + 2), k, k + units);
      k += units;
      ascii = k;
    }
    this.ascii(source, ascii, end);
  }

  /** Characters that stand for source[start, end) (a decoded entity or escape), each folded. */
  decoded(chars: string, start: number, end: number): void {
    let folded = '';
    if (chars.length === 1 || (chars.length === 2 && chars.codePointAt(0)! > 0xffff)) folded = chars.charCodeAt(0) < 0x80 ? chars : fold(chars);
    else for (const ch of chars) folded += ch.charCodeAt(0) < 0x80 ? ch : fold(ch);
    if (folded === '') {
      this.invisible = true;
      if (this.invisibleAs !== '') this.push(this.invisibleAs, { source: start, sourceEnd: end, identity: end - start === 1 });
      else if (this.droppedFrom < 0) this.droppedFrom = start;
      return;
    }
    this.push(folded, { source: start, sourceEnd: end, identity: folded.length === end - start });
  }

  /** Text that stands for markup: a boundary the detectors see, never cut from the source. */
  markup(chars: string): void {
    if (chars !== '') this.push(chars, { source: -1, sourceEnd: -1, identity: false });
  }

  build(): Projection {
    return { text: this.projected, runs: this.runs, invisible: this.invisible };
  }

  private ascii(source: string, start: number, end: number): void {
    if (end > start) this.push(source.slice(start, end), { source: start, sourceEnd: end, identity: true });
  }

  private push(chars: string, run: { source: number; sourceEnd: number; identity: boolean }): void {
    this.projected += chars;
    const last = this.runs[this.runs.length - 1];
    const claim = this.droppedFrom >= 0 && run.source >= 0 ? this.droppedFrom : run.source;
    this.droppedFrom = -1;
    // One-to-one characters right after a one-to-one run extend it: full-width text is one run.
    if (last && run.identity && last.identity && last.sourceEnd === run.source && claim === run.source) {
      last.length += chars.length;
      last.sourceEnd = run.sourceEnd;
    } else {
      this.runs.push({ at: this.length, length: chars.length, source: run.source, sourceEnd: run.sourceEnd, identity: run.identity, claim });
    }
    this.length += chars.length;
  }
}

const PERCENT = /(?:%[0-9A-Fa-f]{2})+/y;

/** The %XX escapes starting at `at` in `run`, decoded; none when there are none. */
export function percentAt(run: string, at: number): { chars: string; end: number }[] {
  PERCENT.lastIndex = at;
  const m = PERCENT.exec(run);
  return m ? percentDecoded(m[0], at) : [];
}

/** %XX escapes, one UTF-8 sequence at a time; an invalid sequence stops the decoding there. */
function percentDecoded(escapes: string, at: number): { chars: string; end: number }[] {
  const pieces: { chars: string; end: number }[] = [];
  for (let k = 0; k < escapes.length;) {
    const lead = parseInt(escapes.slice(k + 1, k + 3), 16);
    const bytes = lead < 0x80 ? 1 : lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (bytes === 0 || k + bytes * 3 > escapes.length) break;
    let chars: string;
    try {
      chars = decodeURIComponent(escapes.slice(k, k + bytes * 3));
    } catch {
      break;
    }
    k += bytes * 3;
    pieces.push({ chars, end: at + k });
  }
  return pieces;
}

/**
 * Plain text (a body, a subject, a name, a file name), %XX escapes decoded: links in text bodies
 * carry card numbers in their queries ("?pan=4111%201111%20…") as readably as attributes do.
 */
export function projectText(text: string, invisibleAs: '' | ' ' = ''): Projection {
  const builder = new ProjectionBuilder(invisibleAs);
  let plain = 0;
  for (let k = text.indexOf('%'); k >= 0; k = text.indexOf('%', Math.max(k + 1, plain))) {
    const pieces = percentAt(text, k);
    if (pieces.length === 0) continue;
    builder.text(text, plain, k);
    let from = k;
    for (const piece of pieces) {
      builder.decoded(piece.chars, from, piece.end);
      from = piece.end;
    }
    plain = from;
  }
  builder.text(text, plain, text.length);
  return builder.build();
}

/** The index of the run holding projected character k (runs are sorted and contiguous). */
function runAt(runs: readonly Run[], k: number): number {
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((runs[mid]?.at ?? 0) <= k) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The source edits of one hit: its projected characters' source ranges, merged where they touch.
 * The first carries the replacement; the others (text between tags the hit spans) are emptied, so
 * markup inside a hit stays where it was and no markup is ever created.
 */
export function editsOf(projection: Projection, hit: Hit): Edit[] {
  const edits: Edit[] = [];
  const runs = projection.runs;
  for (let r = runAt(runs, hit.start); r < runs.length; r++) {
    const run = runs[r];
    if (!run || run.at >= hit.end) break;
    if (run.source < 0) continue;
    // A run the hit enters from before also takes the invisible characters dropped before it.
    const from = run.at > hit.start ? run.claim : run.identity ? run.source + hit.start - run.at : run.source;
    const to = run.identity ? run.source + Math.min(run.length, hit.end - run.at) : run.sourceEnd;
    const last = edits[edits.length - 1];
    if (last && from <= last.end) last.end = Math.max(last.end, to);
    else edits.push({ start: from, end: to, replacement: '' });
  }
  if (edits[0]) edits[0].replacement = hit.replacement;
  return edits;
}
/** Applies edits sorted by start and not overlapping. */
export function applyEdits(source: string, edits: readonly Edit[]): string {
  let out = '';
  let pos = 0;
  for (const edit of edits) {
    out += source.slice(pos, edit.start) + edit.replacement;
    pos = edit.end;
  }
  return out + source.slice(pos);
}
