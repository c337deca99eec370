/**
 * The ServiceNow connector's settings, read under a prefix (`SERVICENOW_` by default). The password
 * is never put in an error or a log.
 */
import { vendorEnv, type AttachmentMode } from '../vendor-env';

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

export function serviceNowConfigFromEnv(env: NodeJS.ProcessEnv, prefix = 'SERVICENOW_'): ServiceNowConfig {
  const v = vendorEnv(env, prefix, 'ServiceNow');
  return {
    baseUrl: v.baseUrl(),
    user: v.required('USER'),
    password: v.required('PASSWORD'),
    table: v.matching('TABLE', 'incident', /^[a-z][a-z0-9_]*$/, 'a table name (lower case)'),
    numberPrefix: v.matching('NUMBER_PREFIX', 'INC', /^[A-Z]{2,6}$/, "the table's number prefix (e.g. INC)"),
    metaField: v.matching('META_FIELD', 'u_mailgate_meta', /^u_[a-z0-9_]+$/, 'a custom field (u_…, lower case)'),
    closeCode: v.get('CLOSE_CODE') ?? 'Solved (Permanently)',
    attachments: v.attachments(),
    timeoutMs: v.timeoutMs(),
  };
}
