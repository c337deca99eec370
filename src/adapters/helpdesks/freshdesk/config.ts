/**
 * The Freshdesk connector's settings, read under a prefix (`FRESHDESK_` by default). The API key is
 * never put in an error or a log.
 */
import { vendorEnv, type AttachmentMode } from '../vendor-env';

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

export function freshdeskConfigFromEnv(env: NodeJS.ProcessEnv, prefix = 'FRESHDESK_'): FreshdeskConfig {
  const v = vendorEnv(env, prefix, 'Freshdesk');
  const field = /^cf_[a-z0-9_]+$/;
  return {
    baseUrl: v.baseUrl(),
    apiKey: v.required('API_KEY'),
    idField: v.matching('ID_FIELD', 'cf_mailgate_id', field, 'a custom field (cf_…, lower case)'),
    metaField: v.matching('META_FIELD', 'cf_mailgate_meta', field, 'a custom field (cf_…, lower case)'),
    attachments: v.attachments(),
    timeoutMs: v.timeoutMs(),
  };
}
