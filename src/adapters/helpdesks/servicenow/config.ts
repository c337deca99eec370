/**
 * The ServiceNow connector's settings, read under a prefix (`SERVICENOW_` by default). The password
 * is never put in an error or a log.
 */
import { VendorConfigError, vendorEnv, type AttachmentMode } from '../vendor-env';

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
  /**
   * The custom string field keeping each message's header block for audit (null: none kept).
   * Default `u_mailgate_headers`; `none` turns it off.
   */
  headersField: string | null;
  /** Queue address → the assignment group (sys_id or name) its tickets go to; a move changes it. */
  assignmentGroups: Record<string, string>;
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
    headersField: headersField(v.matching('HEADERS_FIELD', 'u_mailgate_headers', /^(u_[a-z0-9_]+|none)$/, 'a custom field (u_…, lower case) or none')),
    assignmentGroups: assignmentGroups(v.get('ASSIGNMENT_GROUPS'), prefix),
    closeCode: v.get('CLOSE_CODE') ?? 'Solved (Permanently)',
    attachments: v.attachments(),
    timeoutMs: v.timeoutMs(),
  };
}

function headersField(value: string): string | null {
  return value === 'none' ? null : value;
}

/** `{"billing@acme.example":"Billing"}`: queue addresses (compared lower-cased) to group sys_ids or names. */
function assignmentGroups(value: string | undefined, prefix: string): Record<string, string> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new VendorConfigError(`${prefix}ASSIGNMENT_GROUPS must be a JSON object of queue address → group`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.values(parsed).every((g) => typeof g === 'string' && g.trim() !== '')) {
    throw new VendorConfigError(`${prefix}ASSIGNMENT_GROUPS must be a JSON object of queue address → group`);
  }
  return Object.fromEntries(Object.entries(parsed as Record<string, string>).map(([q, g]) => [q.toLowerCase(), g.trim()]));
}
