/**
 * A stateful Freshdesk (API v2) stand-in on loopback, following developers.freshdesk.com/api/ (no
 * usable spec exists, HELPDESK-CONTRACTS §3.5): Basic auth with the API key as user and "X" as
 * password; tickets created as JSON or multipart (`attachments[]`, `tags[]`, `custom_fields[cf_x]`),
 * with the documented mandatory fields, value ranges and "invalid_field" for anything unknown;
 * updates; notes (`private`, `incoming`); conversations paged by `page`/`per_page`; ticket search
 * by custom field that lags writes; and Freshdesk's error shape, `{description, errors[{field,
 * message, code}]}`. Faults (429 with Retry-After and the X-RateLimit headers, 5xx, hangs) come
 * from the shared loopback server.
 */
import { basicCredentials, formBody, isObject, jsonBody, startLoopback, type FaultSwitch, type StandInAnswer, type StandInRequest } from '../loopback';

export const FRESHDESK_API_KEY = 'fd-test-key-abcdef0123456789';
/** The ticket fields an admin added for Mailgate (Admin → Ticket Fields); any other cf_ is invalid. */
export const FRESHDESK_CUSTOM_FIELDS = ['cf_mailgate_id', 'cf_mailgate_meta'];

export interface FdAttachment {
  id: number;
  name: string;
  content_type: string;
  size: number;
  bytes: Buffer;
}

export interface FdNote {
  id: number;
  body: string;
  body_text: string;
  private: boolean;
  incoming: boolean;
  attachments: FdAttachment[];
  created: number;
}

export interface FdTicket {
  id: number;
  subject: string;
  description: string;
  description_text: string;
  email: string;
  status: number;
  priority: number;
  source: number;
  tags: string[];
  custom_fields: Record<string, string | null>;
  attachments: FdAttachment[];
  notes: FdNote[];
  created: number;
}

export interface FreshdeskStandIn {
  url: string;
  tickets: Map<number, FdTicket>;
  faults: FaultSwitch;
  log: { method: string; path: string }[];
  close(): Promise<void>;
}

type Problem = { field: string; message: string; code: string };

function invalid(problems: Problem[]): StandInAnswer {
  return { status: 400, body: { description: 'Validation failed', errors: problems } };
}

/** What Freshdesk's HTML becomes as `*_text`: breaks as newlines, tags dropped, entities decoded. */
export function htmlToText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

const TICKET_FIELDS = new Set(['email', 'name', 'subject', 'description', 'status', 'priority', 'source', 'tags', 'custom_fields', 'attachments', 'cc_emails', 'group_id', 'type', 'requester_id']);
const UPDATE_FIELDS = new Set(['status', 'priority', 'tags', 'custom_fields', 'subject', 'group_id', 'type']);
const NOTE_FIELDS = new Set(['body', 'private', 'incoming', 'user_id', 'notify_emails', 'attachments']);

/** A JSON or multipart body as one object (multipart's `x[]` and `custom_fields[cf]` folded back). */
async function fields(req: StandInRequest): Promise<{ values: Record<string, unknown>; files: File[] } | null> {
  const form = await formBody(req);
  if (!form) {
    const body = jsonBody(req);
    return isObject(body) ? { values: body, files: [] } : null;
  }
  const values: Record<string, unknown> = {};
  const files: File[] = [];
  for (const [name, value] of form.entries()) {
    if (name === 'attachments[]') {
      if (typeof value === 'string') return null;
      files.push(value);
      continue;
    }
    const custom = /^custom_fields\[(\w+)\]$/.exec(name);
    if (custom?.[1]) values.custom_fields = { ...(values.custom_fields as object), [custom[1]]: value };
    else if (name.endsWith('[]')) values[name.slice(0, -2)] = [...((values[name.slice(0, -2)] as unknown[]) ?? []), value];
    else if (typeof value === 'string') values[name] = /^\d+$/.test(value) && ['status', 'priority', 'source'].includes(name) ? Number(value) : value === 'true' ? true : value === 'false' ? false : value;
  }
  return { values, files };
}

function checkCommon(values: Record<string, unknown>, allowed: Set<string>): Problem[] {
  const problems: Problem[] = [];
  for (const key of Object.keys(values)) if (!allowed.has(key)) problems.push({ field: key, message: 'Unexpected/invalid field in request', code: 'invalid_field' });
  if (values.status !== undefined && ![2, 3, 4, 5].includes(values.status as number)) problems.push({ field: 'status', message: 'It should be one of these values: 2,3,4,5', code: 'invalid_value' });
  if (values.priority !== undefined && ![1, 2, 3, 4].includes(values.priority as number)) problems.push({ field: 'priority', message: 'It should be one of these values: 1,2,3,4', code: 'invalid_value' });
  if (values.tags !== undefined && (!Array.isArray(values.tags) || values.tags.some((t) => typeof t !== 'string' || t === '' || t.length > 255))) {
    problems.push({ field: 'tags', message: 'It should be an array of non-empty strings of at most 255 characters', code: 'datatype_mismatch' });
  }
  if (values.custom_fields !== undefined) {
    if (!isObject(values.custom_fields)) problems.push({ field: 'custom_fields', message: 'It should be a key/value pair', code: 'datatype_mismatch' });
    else for (const [name, value] of Object.entries(values.custom_fields)) {
      if (!FRESHDESK_CUSTOM_FIELDS.includes(name)) problems.push({ field: name, message: 'Unexpected/invalid field in request', code: 'invalid_field' });
      else if (value !== null && typeof value !== 'string') problems.push({ field: name, message: 'Value set is of type Integer.It should be a/an String', code: 'datatype_mismatch' });
    }
  }
  return problems;
}

export async function startFreshdeskStandIn(options: { searchLagMs?: number } = {}): Promise<FreshdeskStandIn> {
  const tickets = new Map<number, FdTicket>();
  let nextId = 0;
  const id = (): number => (nextId += 1);
  const lag = options.searchLagMs ?? 2_000;
  const stored = async (files: File[]): Promise<FdAttachment[]> =>
    Promise.all(files.map(async (f) => ({ id: id(), name: f.name, content_type: f.type || 'application/octet-stream', size: f.size, bytes: Buffer.from(await f.arrayBuffer()) })));
  const ticketJson = (t: FdTicket): Record<string, unknown> => ({
    id: t.id,
    subject: t.subject,
    description: t.description,
    description_text: t.description_text,
    status: t.status,
    priority: t.priority,
    source: t.source,
    tags: t.tags,
    custom_fields: t.custom_fields,
    attachments: t.attachments.map(({ bytes: _b, ...a }) => a),
    created_at: new Date(t.created).toISOString(),
    updated_at: new Date().toISOString(),
  });
  const noteJson = (t: FdTicket, n: FdNote): Record<string, unknown> => ({
    id: n.id,
    ticket_id: t.id,
    body: n.body,
    body_text: n.body_text,
    private: n.private,
    incoming: n.incoming,
    attachments: n.attachments.map(({ bytes: _b, ...a }) => a),
    created_at: new Date(n.created).toISOString(),
  });

  const server = await startLoopback(async (req): Promise<StandInAnswer> => {
    const who = basicCredentials(req);
    if (!who || who.user !== FRESHDESK_API_KEY) return { status: 401, body: { code: 'invalid_credentials', message: 'You have to be logged in to perform this action.' } };
    const parts = req.path.split('/').filter(Boolean);
    if (parts[0] !== 'api' || parts[1] !== 'v2') return { status: 404 };
    const [, , resource, second, third] = parts;
    if (resource === 'search' && second === 'tickets' && req.method === 'GET') {
      const query = req.query.get('query') ?? '';
      const match = /^"(cf_\w+):'([^']*)'"$/.exec(query);
      if (query.length > 512 || !match?.[1]) return invalid([{ field: 'query', message: "It should be a valid query wrapped in double quotes, e.g. \"cf_x:'v'\"", code: 'invalid_value' }]);
      const indexed = Date.now() - lag;
      const results = [...tickets.values()].filter((t) => t.created <= indexed && t.custom_fields[match[1] ?? ''] === match[2]).map(ticketJson);
      return { status: 200, body: { results, total: results.length } };
    }
    if (resource === 'agents' && second === 'me' && req.method === 'GET') return { status: 200, body: { id: 1, available: true, contact: { email: 'agent@mailgate.example', name: 'Mailgate' } } };
    if (resource !== 'tickets') return { status: 404 };
    if (!second && req.method === 'POST') {
      const body = await fields(req);
      if (!body) return invalid([{ field: 'body', message: 'Request body has invalid json format', code: 'invalid_json' }]);
      const v = body.values;
      const problems = checkCommon(v, TICKET_FIELDS);
      if (v.email === undefined && v.requester_id === undefined) problems.push({ field: 'requester_id', message: 'Please fill at least 1 of requester_id, email, facebook_id, phone, twitter_id, unique_external_id fields', code: 'missing_field' });
      if (v.email !== undefined && (typeof v.email !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v.email))) problems.push({ field: 'email', message: 'It should be in the valid email format', code: 'invalid_value' });
      for (const name of ['subject', 'description'] as const) if (typeof v[name] !== 'string' || v[name] === '') problems.push({ field: name, message: 'It should be a/an String', code: 'missing_field' });
      if (v.source !== undefined && ![1, 2, 3, 5, 6, 7, 9, 10].includes(v.source as number)) problems.push({ field: 'source', message: 'It should be one of these values: 1,2,3,5,6,7,9,10', code: 'invalid_value' });
      if (problems.length > 0) return invalid(problems);
      const ticket: FdTicket = {
        id: id(),
        subject: String(v.subject),
        description: String(v.description),
        description_text: htmlToText(String(v.description)),
        email: String(v.email),
        status: (v.status as number | undefined) ?? 2,
        priority: (v.priority as number | undefined) ?? 1,
        source: (v.source as number | undefined) ?? 2,
        tags: [...new Set((v.tags as string[] | undefined) ?? [])],
        custom_fields: Object.fromEntries(FRESHDESK_CUSTOM_FIELDS.map((f) => [f, ((v.custom_fields as Record<string, string> | undefined) ?? {})[f] ?? null])),
        attachments: await stored(body.files),
        notes: [],
        created: Date.now(),
      };
      tickets.set(ticket.id, ticket);
      return { status: 201, body: ticketJson(ticket) };
    }
    const ticket = /^\d+$/.test(second ?? '') ? tickets.get(Number(second)) : undefined;
    if (!ticket) return { status: 404 };
    if (!third && req.method === 'GET') return { status: 200, body: ticketJson(ticket) };
    if (!third && req.method === 'PUT') {
      const body = await fields(req);
      if (!body) return invalid([{ field: 'body', message: 'Request body has invalid json format', code: 'invalid_json' }]);
      const problems = checkCommon(body.values, UPDATE_FIELDS);
      if (problems.length > 0) return invalid(problems);
      const v = body.values;
      if (typeof v.status === 'number') ticket.status = v.status;
      if (typeof v.priority === 'number') ticket.priority = v.priority;
      if (Array.isArray(v.tags)) ticket.tags = [...new Set(v.tags as string[])];
      if (isObject(v.custom_fields)) Object.assign(ticket.custom_fields, v.custom_fields);
      return { status: 200, body: ticketJson(ticket) };
    }
    if (third === 'notes' && req.method === 'POST') {
      const body = await fields(req);
      if (!body) return invalid([{ field: 'body', message: 'Request body has invalid json format', code: 'invalid_json' }]);
      const v = body.values;
      const problems = checkCommon(v, NOTE_FIELDS);
      if (typeof v.body !== 'string' || v.body === '') problems.push({ field: 'body', message: 'It should be a/an String', code: 'missing_field' });
      for (const flag of ['private', 'incoming'] as const) if (v[flag] !== undefined && typeof v[flag] !== 'boolean') problems.push({ field: flag, message: 'It should be a/an Boolean', code: 'datatype_mismatch' });
      if (problems.length > 0) return invalid(problems);
      const note: FdNote = { id: id(), body: String(v.body), body_text: htmlToText(String(v.body)), private: v.private !== false, incoming: v.incoming === true, attachments: await stored(body.files), created: Date.now() };
      ticket.notes.push(note);
      return { status: 201, body: noteJson(ticket, note) };
    }
    if (third === 'conversations' && req.method === 'GET') {
      const page = Number(req.query.get('page') ?? '1');
      const perPage = Number(req.query.get('per_page') ?? '30');
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(perPage) || perPage < 1 || perPage > 100) {
        return invalid([{ field: 'per_page', message: 'It should be a Positive Integer less than or equal to 100', code: 'invalid_value' }]);
      }
      return { status: 200, body: ticket.notes.slice((page - 1) * perPage, page * perPage).map((n) => noteJson(ticket, n)) };
    }
    return { status: 404 };
  });
  return { url: server.url, tickets, faults: server.faults, log: server.log, close: server.close };
}
