/**
 * Retention: how long each kind of stored data is kept, and the pure decision whether one stored
 * object is due for deletion. Everything Mailgate stores used to be kept forever; the threat is a
 * store that, once read by the wrong party, hands over years of customers' mail.
 *
 * A period is a whole number of days or the word `never` (kept forever, on purpose). 0, an empty
 * value or anything else is refused at start-up: a typo must never silently mean "keep forever",
 * nor "delete everything now".
 */

export type RetentionPeriod = { days: number } | 'never';

/** The kinds with a period of their own. Parsed documents include the parsed parts (`parts/`). */
export type RetentionKind = 'raw' | 'parsed' | 'attachments' | 'quarantine' | 'emailRecords';
export type ObjectKind = Exclude<RetentionKind, 'emailRecords'>;

export type RetentionPolicy = Record<RetentionKind, RetentionPeriod>;

/** A hundred years: longer is a typo for `never` (and overflows Date arithmetic sooner or later). */
export const MAX_RETENTION_DAYS = 36_500;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The object-store prefixes of each object kind (see ARCHITECTURE: the keys the pipeline writes). */
export const OBJECT_PREFIXES: Readonly<Record<ObjectKind, readonly string[]>> = Object.freeze({
  raw: ['raw/'],
  parsed: ['parsed/', 'parts/'],
  attachments: ['attachments/'],
  quarantine: ['quarantine/'],
});

export const OBJECT_KINDS: readonly ObjectKind[] = ['raw', 'parsed', 'attachments', 'quarantine'];

/** `30`, `365` or `never`; returns a reason when the text is neither. */
export function parseRetentionPeriod(text: string): RetentionPeriod | { error: string } {
  const value = text.trim().toLowerCase();
  if (value === 'never') return 'never';
  if (!/^\d+$/.test(value)) return { error: `must be a whole number of days (1-${MAX_RETENTION_DAYS}) or "never"` };
  const days = Number(value);
  if (days < 1 || days > MAX_RETENTION_DAYS) return { error: `must be between 1 and ${MAX_RETENTION_DAYS} days, or "never"` };
  return { days };
}

export function describePeriod(period: RetentionPeriod): string {
  return period === 'never' ? 'never' : `${period.days}d`;
}

/** Data last touched before this instant is due; null = kept forever. */
export function cutoffOf(period: RetentionPeriod, now: Date): Date | null {
  return period === 'never' ? null : new Date(now.getTime() - period.days * DAY_MS);
}

/** The kind of a stored key and the raw message's sha256 it derives from (raw, parsed, parts). */
export function classifyKey(key: string): { kind: ObjectKind; rawSha256: string | null } | null {
  for (const kind of OBJECT_KINDS) {
    const prefix = OBJECT_PREFIXES[kind].find((p) => key.startsWith(p));
    if (!prefix) continue;
    const first = key.slice(prefix.length).split(/[/.]/)[0] ?? '';
    const sha = /^[0-9a-f]{64}$/.test(first) ? first : null;
    return { kind, rawSha256: kind === 'raw' || kind === 'parsed' ? sha : null };
  }
  return null;
}

export interface StoredObject {
  key: string;
  lastModified: Date;
}

/** What the sweep knows beyond the object itself, gathered by the activity for one batch. */
export interface RetentionFacts {
  /** Raw sha256s of emails not in a final state (running or parked workflows): never deleted. */
  inFlightRawSha256: ReadonlySet<string>;
  /** Raw sha256s an email record touched since the kind's cutoff (a newer email sharing the bytes). */
  recentlyUsedRawSha256: ReadonlySet<string>;
  /** Attachment keys a ticket attachment created since the cutoff links (content-addressed, shared). */
  recentlyLinkedKeys: ReadonlySet<string>;
}

export type RetentionVerdict =
  | { due: true }
  | { due: false; why: 'unknown-key' | 'kept-forever' | 'young' | 'in-flight' | 'recently-used' | 'recently-linked' };

/**
 * Whether one object is due. An object younger than its kind's period is kept; so is anything an
 * unfinished email still needs (its raw message and parsed document: a parked email is reprocessed
 * from them), and content-addressed bytes that a newer email or ticket shares: a raw message sent
 * again, or an attachment a new ticket links, is as young as its newest use, not its first write.
 * Keys outside the known prefixes are never touched.
 */
export function objectVerdict(object: StoredObject, policy: RetentionPolicy, now: Date, facts: RetentionFacts): RetentionVerdict {
  const kind = classifyKey(object.key);
  if (!kind) return { due: false, why: 'unknown-key' };
  const cutoff = cutoffOf(policy[kind.kind], now);
  if (!cutoff) return { due: false, why: 'kept-forever' };
  if (!(object.lastModified.getTime() < cutoff.getTime())) return { due: false, why: 'young' };
  if (kind.rawSha256 !== null) {
    if (facts.inFlightRawSha256.has(kind.rawSha256)) return { due: false, why: 'in-flight' };
    if (facts.recentlyUsedRawSha256.has(kind.rawSha256)) return { due: false, why: 'recently-used' };
  } else if (kind.kind === 'raw' || kind.kind === 'parsed') {
    // A raw or parsed key that does not carry a sha256 was not written by the pipeline: keep it.
    return { due: false, why: 'unknown-key' };
  }
  if (kind.kind === 'attachments' && facts.recentlyLinkedKeys.has(object.key)) return { due: false, why: 'recently-linked' };
  return { due: true };
}
