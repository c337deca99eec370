/**
 * What a clamd INSTREAM reply means. "OK" is clean only when clamd finished the file: with
 * AlertExceedsMax, AlertEncrypted and AlertBrokenExecutables (config/clamav/clamd.conf.in) clamd
 * names every early stop with a heuristic instead of answering OK, and each of those is an
 * "unscannable" verdict, never clean and never a detection (issue 12, class 1). Names as clamd 1.4
 * emits them, checked against the real daemon by test/integration/trust-scan-limits.test.ts.
 */
import { ErrorType, TypedError } from '../domain/errors';

export type ScanVerdict =
  | { status: 'clean' }
  | { status: 'infected'; signature: string }
  /** clamd stopped before the end of the file (a limit, encryption, a format it cannot parse). */
  | { status: 'unscannable'; reason: string; signature: string | null };

export class ScannerError extends TypedError {}

interface Rule {
  pattern: RegExp;
  reason: (match: RegExpExecArray) => string;
}

/**
 * clamd's heuristics that mean "not looked at whole". Heuristics.Limits.Exceeded.<Limit> for
 * MaxFileSize, MaxScanSize, MaxRecursion, MaxFiles, MaxScanTime and the format-specific ones
 * (MailMaterialization, MaxRecHWP3 ...); Heuristics.Encrypted.<Zip|RAR|7Zip|PDF|Doc>;
 * Heuristics.Broken.<Executable|Media.*>. Any other Heuristics.* name (phishing, macros) is a finding.
 */
const UNSCANNABLE: readonly Rule[] = [
  {
    pattern: /^Heuristics\.Limits\.Exceeded(?:\.([\w.]+))?$/,
    reason: (m) => `the virus scanner stopped at its ${m[1] ?? 'scan'} limit before the end of the file`,
  },
  {
    pattern: /^Heuristics\.Encrypted(?:\.([\w.]+))?$/,
    reason: (m) => `encrypted${m[1] ? ` ${m[1]}` : ''} content the virus scanner cannot read`,
  },
  {
    pattern: /^Heuristics\.Broken\.([\w.]+)$/,
    reason: (m) => `a broken ${m[1]!.replace(/\./g, ' ').toLowerCase()} the virus scanner could not parse`,
  },
];

/** clamd's own refusals that concern the file, not the daemon: the file was not scanned. */
const REFUSED_FILE = /size limit exceeded/i;

function unscannableReason(signature: string): string | null {
  const name = signature.replace(/\.UNOFFICIAL$/, '');
  for (const rule of UNSCANNABLE) {
    const match = rule.pattern.exec(name);
    if (match) return `${rule.reason(match)} (${signature})`;
  }
  return null;
}

/**
 * One reply, possibly of several lines (AllMatchScan). A real signature anywhere wins: the file is
 * infected whatever else stopped the scan. Otherwise any early stop makes it unscannable, and only
 * a reply that is OK and nothing else is clean.
 */
export function parseScanReply(reply: string): ScanVerdict {
  const lines = reply
    .split(/[\0\n]+/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) throw new ScannerError(ErrorType.ScannerUnavailable, 'clamd closed the connection without a verdict');
  let unscannable: ScanVerdict | null = null;
  let clean = false;
  for (const text of lines) {
    const found = /^(?:stream|[^:]*): (.+) FOUND$/.exec(text);
    if (found?.[1]) {
      const reason = unscannableReason(found[1]);
      if (reason === null) return { status: 'infected', signature: found[1] };
      unscannable ??= { status: 'unscannable', reason, signature: found[1] };
    } else if (/^(?:stream|[^:]*): OK$/.test(text)) {
      clean = true;
    } else if (REFUSED_FILE.test(text)) {
      unscannable ??= { status: 'unscannable', reason: `the virus scanner refused the file: ${text}`, signature: null };
    } else {
      throw new ScannerError(ErrorType.ScannerRejected, `clamd refused the stream: ${text}`);
    }
  }
  if (unscannable) return unscannable;
  if (clean && lines.length === 1) return { status: 'clean' };
  throw new ScannerError(ErrorType.ScannerRejected, `clamd answered something other than one verdict: ${lines.join(' | ')}`);
}
