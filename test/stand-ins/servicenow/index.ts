/**
 * A stateful ServiceNow stand-in on loopback (Table API and Attachment API), following the ServiceNow
 * REST API reference (no licensed spec exists, HELPDESK-CONTRACTS §4.5): Basic auth; records of the
 * `incident` and `sys_user` tables with sys_ids and INC numbers; `sysparm_query` with `=`, `LIKE`
 * and `^` (AND); `sysparm_fields`, `sysparm_limit`; PATCH with journal fields (`comments`,
 * `work_notes`) written to `sys_journal_field`; the data policy that makes close_code and
 * close_notes mandatory to resolve or close (a 403, as documented); `attachment/file` with raw
 * bytes; and ServiceNow's error shape `{error:{message,detail},status:"failure"}`. Like the real
 * Table API it ignores fields the table does not have, and its queries are consistent (no index lag).
 * Its incident table has Mailgate's two custom fields, `u_mailgate_meta` and `u_mailgate_headers`,
 * each a String of max length 65,000: a longer value is cut there, as ServiceNow cuts it.
 */
import { randomBytes } from 'node:crypto';
import { basicCredentials, isObject, jsonBody, startLoopback, type FaultSwitch, type StandInAnswer } from '../loopback';

export const SERVICENOW_USER = { name: 'mailgate.integration', password: 'sn-test-password-0123' };

export type SnRecord = Record<string, string>;

export interface SnAttachment {
  sys_id: string;
  table_sys_id: string;
  file_name: string;
  content_type: string;
  bytes: Buffer;
}

export interface ServiceNowStandIn {
  url: string;
  tables: Map<string, Map<string, SnRecord>>;
  attachments: SnAttachment[];
  faults: FaultSwitch;
  log: { method: string; path: string }[];
  close(): Promise<void>;
}

/** The columns the instance's incident table has (Mailgate's custom one included); others are ignored. */
const INCIDENT_COLUMNS = new Set([
  'number', 'short_description', 'description', 'caller_id', 'contact_type', 'correlation_id', 'correlation_display', 'state', 'impact', 'urgency',
  'priority', 'close_code', 'close_notes', 'hold_reason', 'assignment_group', 'u_mailgate_meta', 'u_mailgate_headers', 'sys_created_on',
]);
const CLOSED_STATES = new Set(['6', '7']);
/** ServiceNow's default priority lookup: impact × urgency. */
const PRIORITY_MATRIX: Record<string, string> = { '1,1': '1', '1,2': '2', '2,1': '2', '1,3': '3', '2,2': '3', '3,1': '3', '2,3': '4', '3,2': '4', '3,3': '5' };

function snError(status: number, message: string, detail: string | null = null): StandInAnswer {
  return { status, body: { error: { message, detail }, status: 'failure' } };
}

function sysId(): string {
  return randomBytes(16).toString('hex');
}

/** `a=b^cLIKEd`: every clause must hold. Unsupported operators are a 400, as an invalid query would be. */
function matcher(query: string): ((r: SnRecord) => boolean) | null {
  if (query === '') return () => true;
  const clauses = query.split('^').map((c) => /^(\w+)(=|LIKE)(.*)$/.exec(c));
  if (clauses.some((c) => c === null)) return null;
  return (r) => clauses.every((c) => (c?.[2] === '=' ? (r[c[1] ?? ''] ?? '') === c[3] : (r[c?.[1] ?? ''] ?? '').includes(c?.[3] ?? '')));
}

function pick(record: SnRecord, fields: string | null): SnRecord {
  if (!fields) return record;
  return Object.fromEntries(fields.split(',').map((f) => [f, record[f] ?? '']));
}

export async function startServiceNowStandIn(): Promise<ServiceNowStandIn> {
  const tables = new Map<string, Map<string, SnRecord>>([['incident', new Map()], ['sys_user', new Map()], ['sys_journal_field', new Map()]]);
  const attachments: SnAttachment[] = [];
  let numbers = 10_000;
  const journal = (table: string, element: 'comments' | 'work_notes', elementId: string, value: string): void => {
    const id = sysId();
    tables.get('sys_journal_field')?.set(id, { sys_id: id, name: table, element, element_id: elementId, value, sys_created_on: new Date().toISOString() });
  };
  const server = await startLoopback(async (req): Promise<StandInAnswer> => {
    const who = basicCredentials(req);
    if (!who || who.user !== SERVICENOW_USER.name || who.password !== SERVICENOW_USER.password) return snError(401, 'User Not Authenticated', 'Required to provide Auth information');
    const parts = req.path.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts[1] === 'now' && parts[2] === 'attachment' && parts[3] === 'file' && req.method === 'POST') {
      const tableName = req.query.get('table_name') ?? '';
      const recordId = req.query.get('table_sys_id') ?? '';
      const fileName = req.query.get('file_name') ?? '';
      if (!tableName || !recordId || !fileName) return snError(400, 'Failed to create the attachment', 'table_name, table_sys_id and file_name are required');
      if (!tables.get(tableName)?.has(recordId)) return snError(404, 'Record doesn\'t exist or ACL restricts the record retrieval');
      const attachment = { sys_id: sysId(), table_sys_id: recordId, file_name: fileName, content_type: String(req.headers['content-type'] ?? 'application/octet-stream'), bytes: req.body };
      attachments.push(attachment);
      return { status: 201, body: { result: { sys_id: attachment.sys_id, file_name: fileName, table_name: tableName, table_sys_id: recordId, size_bytes: String(req.body.length), content_type: attachment.content_type } } };
    }
    if (parts[0] !== 'api' || parts[1] !== 'now' || parts[2] !== 'table' || !parts[3]) return snError(400, 'Requested URI does not represent any resource');
    const table = tables.get(parts[3]);
    if (!table) return snError(400, 'Invalid table', parts[3]);
    const id = parts[4];
    const fields = req.query.get('sysparm_fields');
    if (!id && req.method === 'GET') {
      const match = matcher(req.query.get('sysparm_query') ?? '');
      if (!match) return snError(400, 'Invalid query', req.query.get('sysparm_query'));
      const limit = Number(req.query.get('sysparm_limit') ?? '10000');
      const found = [...table.values()].filter(match).sort((a, b) => (a.sys_created_on ?? '').localeCompare(b.sys_created_on ?? '')).slice(0, limit);
      return { status: 200, body: { result: found.map((r) => pick(r, fields)) } };
    }
    if (['POST', 'PATCH', 'PUT'].includes(req.method) && (String(req.headers['content-type'] ?? '').startsWith('application/json') === false || !isObject(jsonBody(req)))) {
      return snError(400, 'Exception while reading request', 'The payload is not valid JSON.');
    }
    const body = (jsonBody(req) ?? {}) as Record<string, unknown>;
    const known = (r: SnRecord, values: Record<string, unknown>): void => {
      for (const [key, value] of Object.entries(values)) if (INCIDENT_COLUMNS.has(key) && key !== 'number' && key !== 'priority') r[key] = key.startsWith('u_') ? String(value).slice(0, 65_000) : String(value);
      r.priority = PRIORITY_MATRIX[`${r.impact ?? '3'},${r.urgency ?? '3'}`] ?? '5';
    };
    const policy = (r: SnRecord): StandInAnswer | null =>
      CLOSED_STATES.has(r.state ?? '') && (!r.close_code || !r.close_notes)
        ? snError(403, 'Operation Failed', 'Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, Resolution notes')
        : null;
    if (!id && req.method === 'POST') {
      if (parts[3] !== 'incident') return snError(403, 'Operation Failed', 'ACL restricts record creation on this table');
      numbers += 1;
      const record: SnRecord = { sys_id: sysId(), number: `INC${String(numbers).padStart(7, '0')}`, state: '1', impact: '3', urgency: '3', sys_created_on: new Date(Date.now()).toISOString() };
      known(record, body);
      const refused = policy(record);
      if (refused) return refused;
      table.set(record.sys_id ?? '', record);
      for (const element of ['comments', 'work_notes'] as const) if (typeof body[element] === 'string' && body[element] !== '') journal(parts[3], element, record.sys_id ?? '', body[element]);
      return { status: 201, body: { result: pick(record, fields) } };
    }
    const record = id ? table.get(id) : undefined;
    if (!record) return snError(404, 'No Record found', 'Record doesn\'t exist or ACL restricts the record retrieval');
    if (req.method === 'GET') return { status: 200, body: { result: pick(record, fields) } };
    if (req.method === 'PATCH' || req.method === 'PUT') {
      const next = { ...record };
      known(next, body);
      const refused = policy(next);
      if (refused) return refused;
      Object.assign(record, next);
      for (const element of ['comments', 'work_notes'] as const) if (typeof body[element] === 'string' && body[element] !== '') journal(parts[3], element, record.sys_id ?? '', body[element]);
      return { status: 200, body: { result: pick(record, fields) } };
    }
    return snError(405, 'Method not Supported', req.method);
  });
  return { url: server.url, tables, attachments, faults: server.faults, log: server.log, close: server.close };
}
