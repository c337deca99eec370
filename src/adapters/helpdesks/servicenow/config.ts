/**
 * The ServiceNow connector's settings, read under a prefix (`SERVICENOW_` by default). The password
 * is never put in an error or a log.
 */
import type { AttachmentMode } from '../jira-sm/config';

export interface ServiceNowConfig {
  /** https://<instance>.service-now.com */
  baseUrl: string;
  /** A web-service-only user (Basic auth). */
  user: string;
  password: string;
  /** The task table tickets go to (default incident). */
  table: string;
  /** The table's number prefix (INC for incident): ticket number 42 is INC0000042. */
  numberPrefix: string;
  /** The custom string field holding Mailgate's record (JSON). */
  metaField: string;
  /** close_code sent when Mailgate closes an incident (the data policy makes it mandatory). */
  closeCode: string;
  attachments: AttachmentMode;
  timeoutMs: number;
}

export class ServiceNowConfigError extends Error {}

export function serviceNowConfigFromEnv(env: NodeJS.ProcessEnv, prefix = 'SERVICENOW_'): ServiceNowConfig {
  const get = (name: string): string | undefined => env[`${prefix}${name}`]?.trim() || undefined;
  const required = (name: string): string => {
    const value = get(name);
    if (value === undefined) throw new ServiceNowConfigError(`${prefix}${name} is required for the ServiceNow connector`);
    return value;
  };
  let url: URL;
  try {
    url = new URL(required('BASE_URL'));
  } catch (error) {
    if (error instanceof ServiceNowConfigError) throw error;
    throw new ServiceNowConfigError(`${prefix}BASE_URL must be an absolute URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new ServiceNowConfigError(`${prefix}BASE_URL must use https (plain http only to a loopback stand-in)`);
  const name = (key: string, fallback: string, pattern: RegExp, what: string): string => {
    const value = get(key) ?? fallback;
    if (!pattern.test(value)) throw new ServiceNowConfigError(`${prefix}${key} must be ${what}`);
    return value;
  };
  const attachments = get('ATTACHMENTS') ?? 'upload';
  if (attachments !== 'upload' && attachments !== 'links') throw new ServiceNowConfigError(`${prefix}ATTACHMENTS must be upload or links`);
  const timeoutMs = Number(get('TIMEOUT_MS') ?? '30000');
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1_000 || timeoutMs > 300_000) throw new ServiceNowConfigError(`${prefix}TIMEOUT_MS must be an integer from 1000 to 300000`);
  return {
    baseUrl: url.toString().replace(/\/$/, ''),
    user: required('USER'),
    password: required('PASSWORD'),
    table: name('TABLE', 'incident', /^[a-z][a-z0-9_]*$/, 'a table name (lower case)'),
    numberPrefix: name('NUMBER_PREFIX', 'INC', /^[A-Z]{2,6}$/, 'the table\'s number prefix (e.g. INC)'),
    metaField: name('META_FIELD', 'u_mailgate_meta', /^u_[a-z0-9_]+$/, 'a custom field (u_…, lower case)'),
    closeCode: get('CLOSE_CODE') ?? 'Solved (Permanently)',
    attachments,
    timeoutMs,
  };
}
