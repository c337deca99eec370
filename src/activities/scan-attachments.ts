/**
 * scan: every kept attachment part through clamd (INSTREAM). "FOUND" is a verdict; an unreachable
 * clamd fails the activity as transient so Temporal retries it. A part clamd refuses to scan is
 * never treated as clean: it is kept out of the ticket as "skipped".
 */
import type { Scanner } from '../adapters/clamd';
import type { ObjectStore } from '../adapters/object-store';
import { ErrorType } from '../domain/errors';
import type { ScanStatus } from '../adapters/ticket-store/types';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface ScanAttachmentsInput {
  parts: { index: number; partKey: string; skippedReason: string | null }[];
}

export interface ScanResult {
  index: number;
  status: ScanStatus;
  /** Signature name when infected; the reason when skipped. */
  detail: string | null;
}

export function createScanAttachments(deps: { store: ObjectStore; scanner: Scanner }) {
  return (input: ScanAttachmentsInput): Promise<ScanResult[]> => whileAlive(() => scanAll(deps, input));
}

async function scanAll(deps: { store: ObjectStore; scanner: Scanner }, input: ScanAttachmentsInput): Promise<ScanResult[]> {
  const results: ScanResult[] = [];
  for (const part of input.parts) {
    if (part.skippedReason) {
      results.push({ index: part.index, status: 'skipped', detail: part.skippedReason });
      continue;
    }
    try {
      const verdict = await deps.scanner.scan(await deps.store.getStream(part.partKey));
      results.push(
        verdict.infected
          ? { index: part.index, status: 'infected', detail: verdict.signature }
          : { index: part.index, status: 'clean', detail: null },
      );
    } catch (error) {
      if ((error as { type?: string }).type === ErrorType.ScannerRejected) {
        results.push({ index: part.index, status: 'skipped', detail: `not scanned: ${(error as Error).message}` });
        continue;
      }
      rethrowAsFailure(error);
    }
  }
  return results;
}
