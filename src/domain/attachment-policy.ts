/**
 * Which attachments may reach a ticket. Safe by default: executables, scripts, installers and
 * macro-enabled Office documents are blocked whatever they are called, an archive of any format is
 * judged by what it holds (parsing/archive-inspect.ts) and is unscannable when that cannot be
 * seen, and a name or declared type that disagrees with the content is flagged. The type always comes from the bytes; a name can add a dangerous kind, never remove one.
 */
import type { ArchiveReport } from './archive-report';
import { isArchiveAttachment } from './archive-format';
import { detectType, extensionOf, findKinds, type AttachmentKind, type DetectedType } from './attachment-type';

export type { AttachmentKind } from './attachment-type';

export interface AttachmentPolicy {
  /** Kinds that block an attachment; leave one out to let that kind through. */
  blockedKinds: readonly AttachmentKind[];
  /**
   * Extensions (no dot) allowed whatever kind their files are, but only when the content agrees
   * with the name: allowing "pdf" does not let a Windows executable named "invoice.pdf" through.
   */
  allowExtensions: readonly string[];
  /** Entries in one archive, nested archives' entries included. */
  maxArchiveEntries: number;
  /** Bytes inflated for one archive, nested archives included: a budget enforced while inflating. */
  maxArchiveUncompressedBytes: number;
  /** Uncompressed to compressed size, per entry and overall (judged from 1 MiB uncompressed). */
  maxCompressionRatio: number;
  /** Archive levels opened: 1 is a zip with no archive inside it. */
  maxArchiveDepth: number;
}

export const ATTACHMENT_KINDS: readonly AttachmentKind[] = Object.freeze([
  'executable',
  'script',
  'installer',
  'macro-office',
  'archive-with-blocked',
]);

export const DEFAULT_ATTACHMENT_POLICY: Readonly<AttachmentPolicy> = Object.freeze({
  blockedKinds: ATTACHMENT_KINDS,
  allowExtensions: Object.freeze([]),
  // Office packages hold tens to hundreds of parts; 20,000 empty entries (an entry-count bomb) is
  // refused from the end record alone, before any entry is read.
  maxArchiveEntries: 10_000,
  // Ten times the 25 MiB attachment limit, so text zips at 3-5:1 fit. Measured on the 2-core
  // reference machine, a 1 MB zip that inflates to 1 GiB is stopped here after 0.23-0.34 s.
  maxArchiveUncompressedBytes: 256 * 1024 * 1024,
  // One deflate stream tops out near 1032:1 (RFC 1951: a 258-byte match per ~2 bits) and bombs sit
  // there; ordinary documents and logs stay well under 100:1.
  maxCompressionRatio: 100,
  // A document in a zip in a zip; recursive bombs such as 42.zip nest 5 and 6 levels.
  maxArchiveDepth: 3,
});

export class InvalidAttachmentPolicyError extends Error {
  override name = 'InvalidAttachmentPolicyError';
}

/** A limit of 0 or NaN must never read as "no limit": every limit is checked before use. */
export function assertAttachmentPolicy(policy: AttachmentPolicy): void {
  for (const field of ['maxArchiveEntries', 'maxArchiveUncompressedBytes', 'maxArchiveDepth'] as const) {
    if (!Number.isSafeInteger(policy[field]) || policy[field] < 1) {
      throw new InvalidAttachmentPolicyError(`${field} must be a whole number of at least 1, got ${policy[field]}`);
    }
  }
  if (!Number.isFinite(policy.maxCompressionRatio) || policy.maxCompressionRatio < 1) {
    throw new InvalidAttachmentPolicyError(`maxCompressionRatio must be a number of at least 1, got ${policy.maxCompressionRatio}`);
  }
  const unknown = policy.blockedKinds.find((kind) => !ATTACHMENT_KINDS.includes(kind));
  if (unknown !== undefined) throw new InvalidAttachmentPolicyError(`blockedKinds: unknown kind "${unknown}"`);
  const badExtension = policy.allowExtensions.find((ext) => !/^\.?[a-z0-9]+$/i.test(ext));
  if (badExtension !== undefined) throw new InvalidAttachmentPolicyError(`allowExtensions: "${badExtension}" is not an extension`);
}

export interface AttachmentInput {
  filename: string;
  /** Content-Type as the sender declared it. */
  declaredType: string;
  size: number;
  /** The first 64 KiB (or the whole part, if smaller). */
  head: Buffer;
  /** inspectArchive's report, run with the same policy; required for any archive, which is unscannable without one. */
  archive?: ArchiveReport;
}

export interface AttachmentDecision {
  /**
   * 'unscannable': an archive whose contents could not all be seen (corrupt, truncated, encrypted,
   * or a format not opened, such as 7z or RAR), so nothing vouches for it; a bomb stays 'blocked'.
   */
  verdict: 'allowed' | 'blocked' | 'unscannable';
  detectedType: string | null;
  /** The name or the declared type disagrees with the content: a flag, never a block by itself. */
  mismatch: boolean;
  /** For a human: 'blocked: Windows executable (PE) named "invoice.pdf"', 'unscannable: ...'. */
  reasons: string[];
}

export async function evaluateAttachment(input: AttachmentInput, policy: AttachmentPolicy): Promise<AttachmentDecision> {
  assertAttachmentPolicy(policy);
  const isArchive = input.archive !== undefined || isArchiveAttachment(input.head, input.filename);
  const findings = isArchive ? archiveFindings(input.filename, input.archive) : { blocking: [], unscannable: [] };
  const judged = await judgeFile(input, policy, findings.blocking);
  // Not overridable by the allowlist: a name cannot vouch for contents nobody has seen.
  const unscannable = policy.blockedKinds.includes('archive-with-blocked') ? findings.unscannable.map((text) => `unscannable: ${text}`) : [];
  return {
    verdict: judged.blockedBy !== null ? 'blocked' : unscannable.length > 0 ? 'unscannable' : 'allowed',
    detectedType: judged.detected?.mime ?? null,
    mismatch: judged.mismatch,
    reasons: [...judged.reasons.filter((r) => r.startsWith('blocked: ')), ...unscannable, ...judged.reasons.filter((r) => !r.startsWith('blocked: '))],
  };
}

export interface Finding {
  kind: AttachmentKind;
  text: string;
}

export interface FileJudgement {
  detected: DetectedType | null;
  /** The first blocking finding ('Windows executable (PE) named "a.pdf"'), or null when allowed. */
  blockedBy: string | null;
  mismatch: boolean;
  reasons: string[];
}

/** One file's verdict, shared by attachments and the entries of an archive. */
export async function judgeFile(
  file: { filename: string; declaredType?: string; head: Buffer },
  policy: AttachmentPolicy,
  extra: Finding[] = [],
): Promise<FileJudgement> {
  const detected = file.head.length > 0 ? await detectType(file.head) : null;
  const mismatches = file.head.length > 0 ? mismatchesOf(file.filename, file.declaredType ?? '', detected) : [];
  const nameMismatch = mismatches.some((m) => m.by === 'name');
  const found = [
    ...findKinds(file.filename, file.head, detected).map((f) => ({ kind: f.kind, text: `${f.label} named "${file.filename}"` })),
    ...extra,
  ].filter((f) => policy.blockedKinds.includes(f.kind));
  const ext = extensionOf(file.filename);
  const allowlisted = ext !== '' && policy.allowExtensions.some((allowed) => allowed.replace(/^\./, '').toLowerCase() === ext);
  const notes: string[] = [];
  let blocking = found;
  if (found.length > 0 && allowlisted) {
    if (!nameMismatch) {
      notes.push(...found.map((f) => `allowed: ".${ext}" is on the allowlist, overriding: ${f.text}`));
      blocking = [];
    } else {
      notes.push(`allowlist not applied: the content of "${file.filename}" is not what ".${ext}" names`);
    }
  }
  return {
    detected,
    blockedBy: blocking[0]?.text ?? null,
    mismatch: mismatches.length > 0,
    reasons: [...blocking.map((f) => `blocked: ${f.text}`), ...mismatches.map((m) => m.text), ...notes],
  };
}

/** Blocked entries named in the reasons; the archive report lists the rest. */
const MAX_ENTRY_REASONS = 5;

function archiveFindings(filename: string, archive: ArchiveReport | undefined): { blocking: Finding[]; unscannable: string[] } {
  const kind = 'archive-with-blocked';
  const name = `"${filename}"`;
  if (!archive) return { blocking: [], unscannable: [`archive ${name} that was not inspected`] };
  const found: Finding[] = [];
  const unscannable: string[] = [];
  if (archive.bomb) found.push({ kind, text: `zip bomb ${name}: ${archive.bomb}` });
  if (archive.encrypted) unscannable.push(`encrypted archive ${name}, whose contents cannot be inspected`);
  if (archive.errors[0]) unscannable.push(`archive ${name} that could not be fully inspected: ${archive.errors[0]}`);
  // An Office package holding a VBA project is a macro document whatever its name (.docx, .xlsx).
  const isVba = (entryName: string): boolean => /(^|\/)vbaproject\.bin$/i.test(entryName);
  const vba = archive.entries.find((e) => isVba(e.name));
  if (vba) found.push({ kind: 'macro-office', text: `Office document with a VBA macro project ("${vba.name}") named ${name}` });
  const blocked = archive.entries.filter((e) => e.blockedReason !== null && !isVba(e.name));
  for (const entry of blocked.slice(0, MAX_ENTRY_REASONS)) found.push({ kind, text: `archive ${name} holding ${entry.blockedReason}` });
  return { blocking: found, unscannable };
}

/** Types that say nothing about the content; a sender's client uses them when it does not know. */
const GENERIC_TYPES = new Set(['application/octet-stream', 'binary/octet-stream', 'application/unknown', 'application/x-download', 'application/download', 'application/force-download']);
const GENERIC_EXTENSIONS = new Set(['bin', 'dat', 'tmp', 'file']);
/** Other spellings of a format, as extensions and as MIME subtypes. */
const ALIASES: Record<string, string> = {
  jpeg: 'jpg',
  jpe: 'jpg',
  pjpeg: 'jpg',
  tiff: 'tif',
  htm: 'html',
  'x-png': 'png',
  'x-zip-compressed': 'zip',
  msword: 'doc',
  'vnd.ms-excel': 'xls',
  'vnd.ms-powerpoint': 'ppt',
  'x-msdownload': 'exe',
  'vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
};
/** A container detected only generically agrees with every format built on it, and the reverse. */
const FAMILIES: Record<string, readonly string[]> = {
  zip: ['docx', 'docm', 'dotx', 'dotm', 'xlsx', 'xlsm', 'xltx', 'xltm', 'xlam', 'pptx', 'pptm', 'potx', 'potm', 'ppsx', 'ppsm', 'ppam', 'vsdx', 'odt', 'ods', 'odp', 'odg', 'epub', 'jar', 'apk', 'xpi'],
  cfb: ['doc', 'dot', 'xls', 'xlt', 'ppt', 'pot', 'pps', 'msg', 'msi', 'msp', 'mst', 'pub', 'vsd'],
  exe: ['dll', 'scr', 'com', 'cpl', 'ocx', 'sys', 'pif', 'efi'],
};
/** Formats that always begin with a signature file-type knows: no detection means the claim is false. */
const SIGNED_FORMATS = new Set(['pdf', 'png', 'jpg', 'gif', 'zip', 'docx', 'xlsx', 'pptx', 'doc', 'xls', 'ppt', 'exe', 'msi']);

function canonical(format: string): string {
  return ALIASES[format] ?? format;
}

function agrees(claimed: string, detected: DetectedType): boolean {
  const a = canonical(claimed);
  const b = canonical(detected.ext);
  return a === b || FAMILIES[a]?.includes(b) === true || FAMILIES[b]?.includes(a) === true;
}

function mismatchesOf(filename: string, declaredType: string, detected: DetectedType | null): { by: 'name' | 'type'; text: string }[] {
  const claims: { by: 'name' | 'type'; format: string; claim: string }[] = [];
  const ext = extensionOf(filename);
  if (ext !== '' && !GENERIC_EXTENSIONS.has(ext)) claims.push({ by: 'name', format: ext, claim: `named "${filename}"` });
  const declared = (declaredType.split(';')[0] ?? '').trim().toLowerCase();
  if (declared.includes('/') && !GENERIC_TYPES.has(declared) && declared !== detected?.mime) {
    const subtype = declared.slice(declared.indexOf('/') + 1);
    claims.push({ by: 'type', format: ALIASES[subtype] ?? subtype.replace(/^x-/, ''), claim: `declared as ${declared}` });
  }
  return claims
    .filter(({ format }) => (detected ? !agrees(format, detected) : SIGNED_FORMATS.has(canonical(format))))
    .map(({ by, format, claim }) => ({
      by,
      text: detected ? `mismatch: ${claim} but the content is ${detected.mime}` : `mismatch: ${claim} but the content has no ${canonical(format).toUpperCase()} signature`,
    }));
}
