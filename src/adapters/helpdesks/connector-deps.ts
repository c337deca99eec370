/**
 * What a vendor connector needs besides HTTP: where clean files come from, and where Mailgate
 * remembers which external ticket an origin key became (the vendors' searches lag their writes, so
 * "already created" must be Mailgate's own answer first).
 */
import type { AttachmentRecord } from '../../ports/helpdesk';
import { HelpdeskHttp, type HttpMetricsHook } from './http';

/** Where clean files come from: bytes to upload, or a link to Mailgate's copy. */
export interface AttachmentSource {
  read(storageKey: string): Promise<Uint8Array>;
  link(storageKey: string): Promise<string>;
}

/** Origin key → external ticket id, remembered by Mailgate (the ledger). */
export interface OriginIndex {
  get(originKey: string): Promise<string | null>;
  put(originKey: string, externalId: string): Promise<void>;
}

/** An index in memory: enough for one worker's lifetime and for tests; the worker passes the ledger's. */
export function memoryOriginIndex(): OriginIndex {
  const keys = new Map<string, string>();
  return { get: async (k) => keys.get(k) ?? null, put: async (k, v) => void keys.set(k, v) };
}

export type CleanFile = AttachmentRecord & { storageKey: string };

/** The files that may go into a helpdesk: a clean verdict and a stored copy. */
export function cleanFiles(files: readonly AttachmentRecord[]): CleanFile[] {
  return files.filter((a): a is CleanFile => a.scanStatus === 'clean' && a.storageKey !== null);
}

/** Links to the clean copies, for a footer in links mode. */
export async function linksFor(source: AttachmentSource, files: readonly CleanFile[]): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  for (const file of files) links.set(file.storageKey, await source.link(file.storageKey));
  return links;
}

/** The shared HTTP client with Basic auth; the password and the encoded pair are masked in every error. */
export function basicAuthHttp(options: {
  connector: string;
  baseUrl: string;
  timeoutMs: number;
  user: string;
  password: string;
  /** Freshdesk's user name is its API key: masked too. */
  userIsSecret?: boolean;
  metrics?: HttpMetricsHook;
  fetch?: typeof fetch;
}): HelpdeskHttp {
  const basic = Buffer.from(`${options.user}:${options.password}`).toString('base64');
  return new HelpdeskHttp({
    connector: options.connector,
    baseUrl: options.baseUrl,
    timeoutMs: options.timeoutMs,
    headers: () => ({ authorization: `Basic ${basic}` }),
    secrets: [...(options.userIsSecret ? [options.user] : []), options.password, basic],
    metrics: options.metrics,
    fetch: options.fetch,
  });
}
