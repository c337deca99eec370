/**
 * Parsed documents kept in this worker's memory for the steps that follow the parse step in the same
 * workflow task (a small email's parse, thread and ticket steps run back to back as local activities),
 * so a small email costs the object store its raw message only: stored by the ingress, read once here.
 * Bounded by bytes and by age; entries are JSON text, so a reader never shares an object with another.
 * A miss is never an error: the reader parses the raw message again (parse-email.ts, loadDocument).
 */
export interface DocumentCacheOptions {
  maxBytes?: number;
  ttlMs?: number;
  now?: () => number;
}

export const DOCUMENT_CACHE_MAX_BYTES = 32 * 1024 * 1024;
export const DOCUMENT_CACHE_TTL_MS = 10 * 60_000;

export class DocumentCache {
  private readonly entries = new Map<string, { json: string; bytes: number; at: number }>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: DocumentCacheOptions = {}) {
    this.maxBytes = options.maxBytes ?? DOCUMENT_CACHE_MAX_BYTES;
    this.ttlMs = options.ttlMs ?? DOCUMENT_CACHE_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Keeps a document's JSON; one over 1/32 of the cache (1 MB by default) is not kept. */
  set(key: string, json: string): void {
    const bytes = Buffer.byteLength(json);
    this.delete(key);
    if (bytes > this.maxBytes / 32) return;
    this.entries.set(key, { json, bytes, at: this.now() });
    this.bytes += bytes;
    // Oldest first: a Map iterates in insertion order, and a read re-inserts what it returns.
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(oldest);
    }
  }

  get(key: string): string | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (this.now() - entry.at > this.ttlMs) {
      this.bytes -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry);
    return entry.json;
  }

  get size(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}

/** The worker's one cache (documents are content-addressed: any activity of the process may read them). */
export const documentCache = new DocumentCache();
