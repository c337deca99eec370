/**
 * scan: every kept attachment part through clamd (INSTREAM), then, when clean, through the type
 * and archive policy (content, not name: src/domain/attachment-policy.ts, src/parsing/
 * archive-inspect.ts). "FOUND" is a verdict; an unreachable clamd fails the activity as transient
 * so Temporal retries it. A part clamd could not read to the end (a limit, encryption, a refusal),
 * or an archive the inspector could not open, is "unscannable"; a part the policy blocks or a limit
 * cut before scanning is "skipped". Neither is ever treated as clean, and each carries its reason.
 * A declared type or name that disagrees with the content is flagged. A clean file's detail names
 * the engine and signature version that found it clean ("clean (ClamAV 1.4.3/27480)"), so a ticket
 * says what the scan was, not merely that one ran.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import type { Scanner } from '../adapters/clamd';
import { ObjectStoreError, type ObjectStore } from '../adapters/object-store';
import type { ScanStatus, UnscannablePolicy } from '../adapters/ticket-store/types';
import { evaluateAttachment, type AttachmentPolicy } from '../domain/attachment-policy';
import { isArchiveAttachment } from '../domain/archive-format';
import { ErrorType } from '../domain/errors';
import { inspectArchive } from '../parsing/archive-inspect';
import { metrics } from '../metrics';
import { streamed } from '../gc-pacing';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';
import { activityLog } from './log';

export interface ScanAttachmentsInput {
  parts: { index: number; partKey: string; skippedReason: string | null; filename?: string; contentType?: string; size?: number }[];
}

export interface ScanResult {
  index: number;
  status: ScanStatus;
  /** Signature name when infected; the reason when skipped; the engine that passed it when clean. */
  detail: string | null;
  /** Findings that do not block (a type mismatch). */
  flags?: string[];
}

interface Deps {
  store: ObjectStore;
  scanner: Scanner;
  attachmentPolicy: AttachmentPolicy;
  unscannableAttachments: UnscannablePolicy;
}

/** The ticket note and the email's state say what became of the file (store-attachments.ts acts on it). */
function unscannable(index: number, reason: string, policy: UnscannablePolicy): ScanResult {
  const fate = policy === 'quarantine' ? 'kept in quarantine for an operator' : 'deleted (UNSCANNABLE_ATTACHMENTS=strip)';
  return { index, status: 'unscannable', detail: `${reason}; ${fate}` };
}

const HEAD_BYTES = 64 * 1024;

/**
 * Passes a stream through unchanged and keeps its first HEAD_BYTES: the type policy sniffs the head
 * of the same read the virus scanner gets, so a part is not fetched a second time for it.
 */
function keepHead(source: Readable): { stream: Readable; head: () => Buffer; bytes: () => number } {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      streamed(chunk.length);
      if (kept < HEAD_BYTES) {
        const slice = chunk.subarray(0, HEAD_BYTES - kept);
        chunks.push(Buffer.from(slice));
        kept += slice.length;
      }
      done(null, chunk);
    },
  });
  source.on('error', (error) => stream.destroy(error));
  source.pipe(stream);
  return { stream, head: () => Buffer.concat(chunks), bytes: () => total };
}

export function createScanAttachments(deps: Deps) {
  return (input: ScanAttachmentsInput): Promise<ScanResult[]> => whileAlive(() => scanAll(deps, input));
}

/**
 * "ClamAV 1.4.3/27480/Mon Dec  7 08:12:01 2026" → "ClamAV 1.4.3/27480": the engine and the
 * signature database version; the database's date adds nothing the version does not say.
 */
export function engineOf(version: string): string {
  const [engine, signatures] = version.trim().split('/');
  const name = engine?.trim() || 'ClamAV';
  return signatures && /^\d+$/.test(signatures.trim()) ? `${name}/${signatures.trim()}` : name;
}

/** Asked once per activity and only when a file came out clean; a failed VERSION still says it was clamd. */
function engineOnce(scanner: Scanner): () => Promise<string> {
  let engine: Promise<string> | undefined;
  return () =>
    (engine ??= scanner.version().then(engineOf, (error: unknown) => {
      activityLog().warn('clamd VERSION failed; the clean verdict names no version', { error: error instanceof Error ? error.message : String(error) });
      return 'ClamAV';
    }));
}

async function scanAll(deps: Deps, input: ScanAttachmentsInput): Promise<ScanResult[]> {
  const results: ScanResult[] = [];
  const engine = engineOnce(deps.scanner);
  for (const part of input.parts) {
    if (part.skippedReason) {
      results.push({ index: part.index, status: 'skipped', detail: part.skippedReason });
      continue;
    }
    try {
      const read = keepHead(await deps.store.getStream(part.partKey));
      const verdict = await deps.scanner.scan(read.stream);
      if (verdict.status === 'infected') {
        results.push({ index: part.index, status: 'infected', detail: verdict.signature });
        continue;
      }
      if (verdict.status === 'unscannable') {
        results.push(unscannable(part.index, verdict.reason, deps.unscannableAttachments));
        continue;
      }
      // A read that ended short sent clamd only part of the file: its "clean" covers that part.
      // Transient (a cut connection to the store), so the activity is retried, never passed.
      if (part.size !== undefined && read.bytes() !== part.size) {
        throw new ObjectStoreError(ErrorType.ObjectStoreUnavailable, `read ${read.bytes()} of the ${part.size} bytes of ${part.partKey} for the virus scan`);
      }
      const first = read.head();
      // The inspector reads the archive as a stream, twice at most: each read is a fresh GET.
      const again = (): Readable => {
        const pass = new PassThrough();
        deps.store.getStream(part.partKey).then((s) => s.pipe(pass), (error: unknown) => pass.destroy(error as Error));
        return pass;
      };
      const archive = isArchiveAttachment(first, part.filename ?? '') ? await inspectArchive(again, deps.attachmentPolicy, part.filename ?? '') : undefined;
      const decision = await evaluateAttachment(
        { filename: part.filename ?? `part-${part.index}`, declaredType: part.contentType ?? 'application/octet-stream', size: part.size ?? first.length, head: first, archive },
        deps.attachmentPolicy,
      );
      if (decision.verdict === 'unscannable') {
        results.push(unscannable(part.index, `the archive could not be inspected: ${decision.reasons.join('; ')}`, deps.unscannableAttachments));
      } else if (decision.verdict === 'blocked') {
        results.push({ index: part.index, status: 'skipped', detail: `blocked by the attachment policy: ${decision.reasons.join('; ')}` });
      } else {
        results.push({ index: part.index, status: 'clean', detail: `clean (${await engine()})`, ...(decision.mismatch ? { flags: decision.reasons } : {}) });
      }
    } catch (error) {
      if ((error as { type?: string }).type === ErrorType.ScannerRejected) {
        results.push(unscannable(part.index, `not scanned: ${(error as Error).message}`, deps.unscannableAttachments));
        continue;
      }
      rethrowAsFailure(error);
    }
  }
  for (const result of results) metrics.avVerdict(result.status);
  const withheld = results.filter((r) => r.status !== 'clean');
  if (results.length > 0) {
    const fields = {
      scanned: results.length,
      infected: results.filter((r) => r.status === 'infected').map((r) => r.detail),
      skipped: results.filter((r) => r.status === 'skipped').length,
      unscannable: results.filter((r) => r.status === 'unscannable').length,
    };
    if (withheld.length > 0) activityLog().warn('attachments scanned', fields);
    else activityLog().info('attachments scanned', fields);
  }
  for (const part of input.parts) if (part.size !== undefined) metrics.attachmentBytes(part.size);
  return results;
}
