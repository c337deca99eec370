/**
 * store: clean parts are copied to attachments/<sha256> (content-addressed, so the same file sent
 * twice is stored once); infected parts to quarantine/<sha256>, which no ticket ever links. A part
 * the scanner could not read whole goes to quarantine/<sha256> too, or is deleted, as
 * UNSCANNABLE_ATTACHMENTS says; it is never linked either way.
 */
import type { ObjectStore } from '../adapters/object-store';
import type { ScanStatus, UnscannablePolicy } from '../adapters/ticket-store/types';
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

interface Deps {
  store: ObjectStore;
  unscannableAttachments: UnscannablePolicy;
}

export function createStoreAttachments(deps: Deps) {
  return (input: StoreAttachmentsInput): Promise<StoredPart[]> => whileAlive(() => storeAll(deps, input));
}

async function quarantine(store: ObjectStore, part: StoreAttachmentsInput['parts'][number]): Promise<string> {
  const key = `quarantine/${part.sha256}`;
  // refresh, not exists: a copy kept for an earlier email is young again, so retention keeps it.
  if (!(await store.refresh(key))) await store.copy(part.partKey, key);
  return key;
}

async function storeAll(deps: Deps, input: StoreAttachmentsInput): Promise<StoredPart[]> {
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
        out.push({ index: part.index, storageKey: null, quarantineKey: await quarantine(deps.store, part) });
      } else if (part.status === 'unscannable' && part.partKey !== '') {
        if (deps.unscannableAttachments === 'quarantine') {
          out.push({ index: part.index, storageKey: null, quarantineKey: await quarantine(deps.store, part) });
        } else {
          // strip: the only stored copy goes; what remains is the raw message, which no ticket links.
          await deps.store.delete(part.partKey);
          out.push({ index: part.index, storageKey: null, quarantineKey: null });
        }
      } else {
        out.push({ index: part.index, storageKey: null, quarantineKey: null });
      }
    }
  } catch (error) {
    rethrowAsFailure(error);
  }
  return out;
}
