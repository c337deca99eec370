/**
 * store: clean parts are copied to attachments/<sha256> (content-addressed, so the same file sent
 * twice is stored once); infected parts to quarantine/<sha256>, which no ticket ever links.
 */
import type { ObjectStore } from '../adapters/object-store';
import type { ScanStatus } from '../adapters/ticket-store/types';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface StoreAttachmentsInput {
  parts: { index: number; partKey: string; sha256: string; status: ScanStatus }[];
}

export interface StoredPart {
  index: number;
  /** Key of the clean copy, or null when the part is not linkable. */
  storageKey: string | null;
  quarantineKey: string | null;
}

export function createStoreAttachments(deps: { store: ObjectStore }) {
  return (input: StoreAttachmentsInput): Promise<StoredPart[]> => whileAlive(() => storeAll(deps, input));
}

async function storeAll(deps: { store: ObjectStore }, input: StoreAttachmentsInput): Promise<StoredPart[]> {
  const out: StoredPart[] = [];
  try {
    for (const part of input.parts) {
      if (part.status === 'clean') {
        const key = `attachments/${part.sha256}`;
        // An existing copy is refreshed, not skipped: retention goes by age and must not take the
        // file this email is about to link.
        if (!(await deps.store.refresh(key))) await deps.store.copy(part.partKey, key);
        out.push({ index: part.index, storageKey: key, quarantineKey: null });
      } else if (part.status === 'infected') {
        const key = `quarantine/${part.sha256}`;
        if (!(await deps.store.refresh(key))) await deps.store.copy(part.partKey, key);
        out.push({ index: part.index, storageKey: null, quarantineKey: key });
      } else {
        out.push({ index: part.index, storageKey: null, quarantineKey: null });
      }
    }
  } catch (error) {
    rethrowAsFailure(error);
  }
  return out;
}
