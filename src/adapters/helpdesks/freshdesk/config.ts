/**
 * The Freshdesk connector's settings, read under a prefix (`FRESHDESK_` by default). The API key is
 * never put in an error or a log.
 */
import type { AttachmentMode } from '../jira-sm/config';

export interface FreshdeskConfig {
  /** https://<domain>.freshdesk.com (Freshdesk serves the API on its own domains only, no CNAMEs). */
  baseUrl: string;
  apiKey: string;
  /** The custom text field holding Mailgate's id for the conversation (searchable). */
  idField: string;
  /** The custom paragraph field holding queues, requester, link and each message's file records (JSON). */
  metaField: string;
  attachments: AttachmentMode;
  timeoutMs: number;
}

export class FreshdeskConfigError extends Error {}

export function freshdeskConfigFromEnv(env: NodeJS.ProcessEnv, prefix = 'FRESHDESK_'): FreshdeskConfig {
  const get = (name: string): string | undefined => env[`${prefix}${name}`]?.trim() || undefined;
  const required = (name: string): string => {
    const value = get(name);
    if (value === undefined) throw new FreshdeskConfigError(`${prefix}${name} is required for the Freshdesk connector`);
    return value;
  };
  let url: URL;
  try {
    url = new URL(required('BASE_URL'));
  } catch (error) {
    if (error instanceof FreshdeskConfigError) throw error;
    throw new FreshdeskConfigError(`${prefix}BASE_URL must be an absolute URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new FreshdeskConfigError(`${prefix}BASE_URL must use https (plain http only to a loopback stand-in)`);
  const field = (name: string, fallback: string): string => {
    const value = get(name) ?? fallback;
    if (!/^cf_[a-z0-9_]+$/.test(value)) throw new FreshdeskConfigError(`${prefix}${name} must name a custom field (cf_…, lower case)`);
    return value;
  };
  const attachments = get('ATTACHMENTS') ?? 'upload';
  if (attachments !== 'upload' && attachments !== 'links') throw new FreshdeskConfigError(`${prefix}ATTACHMENTS must be upload or links`);
  const timeoutMs = Number(get('TIMEOUT_MS') ?? '30000');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1_000 || timeoutMs > 300_000) throw new FreshdeskConfigError(`${prefix}TIMEOUT_MS must be an integer from 1000 to 300000`);
  return {
    baseUrl: url.toString().replace(/\/$/, ''),
    apiKey: required('API_KEY'),
    idField: field('ID_FIELD', 'cf_mailgate_id'),
    metaField: field('META_FIELD', 'cf_mailgate_meta'),
    attachments,
    timeoutMs,
  };
}
