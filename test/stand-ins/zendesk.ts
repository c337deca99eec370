/**
 * A stateful Zendesk Support stand-in on loopback: the subset Mailgate uses, written from the pages
 * HELPDESK-CONTRACTS.md §1 cites (developer.zendesk.com api-reference/ticketing: Tickets, Ticket
 * Comments, Attachments (uploads), Users create_or_update, Search; api-basics: rate limits,
 * idempotency). The vendor OAS carries no licence, so its schema is hand-written here from the docs
 * (ZENDESK_SCHEMA), and every request is checked against it: an unknown field or a wrong type is a
 * 422 in Zendesk's error shape `{error: "RecordInvalid", description, details: {field: [{description}]}}`.
 *
 * State: users, tickets, comments, uploads and idempotency keys; ids are issued in sequence. The
 * search index lags writes (`searchLagMs`). Faults: answer the next matching requests with 429/503
 * and Retry-After, or hold a request (before or after it took effect) until the test releases it or
 * the client goes away, which is how the kill test stops a worker in the middle of a create.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Json = Record<string, unknown>;

export interface ZendeskComment {
  id: number;
  body: string;
  html_body: string | null;
  public: boolean;
  author_id: number;
  attachments: { id: number; file_name: string; content_type: string; size: number; sha256: string }[];
  metadata: { system: Json; custom: Json };
}

export interface ZendeskTicketState {
  id: number;
  subject: string;
  status: string;
  priority: string | null;
  requester_id: number;
  external_id: string | null;
  tags: string[];
  via_followup_source_id: number | null;
  created_at: string;
  indexedAt: number;
  comments: ZendeskComment[];
}

export interface Fault {
  /** `METHOD /path` prefix, e.g. `POST /api/v2/tickets`. */
  match: string;
  status: 429 | 503 | 500;
  retryAfter?: string;
  times: number;
}

export interface Hold {
  match: string;
  /** before: nothing happened yet; after: the effect is committed but the answer is held. */
  phase: 'before' | 'after';
}

export interface HeldRequest {
  release(): void;
  /** Resolves once the caller's connection is gone (a killed worker): wait for it before `release`, or the stand-in may answer a dead socket as if it were alive. */
  closed: Promise<void>;
}

const TICKET_FIELDS = new Set([
  'subject', 'comment', 'requester', 'requester_id', 'submitter_id', 'assignee_id', 'group_id', 'brand_id', 'ticket_form_id',
  'external_id', 'tags', 'priority', 'status', 'type', 'custom_fields', 'collaborator_ids', 'email_ccs', 'via_followup_source_id', 'metadata', 'due_at',
]);
const COMMENT_FIELDS = new Set(['body', 'html_body', 'public', 'uploads', 'author_id']);
const REQUESTER_FIELDS = new Set(['email', 'name', 'locale_id']);
const PRIORITIES = new Set(['urgent', 'high', 'normal', 'low']);
const STATUSES = new Set(['new', 'open', 'pending', 'hold', 'solved']);
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** Zendesk splits tags on spaces and commas; the stand-in refuses them instead of guessing. */
const TAG = /^[a-z0-9_:/.-]{1,80}$/;

class Invalid extends Error {
  constructor(readonly field: string, readonly description: string) {
    super(description);
  }
}

function check(condition: boolean, field: string, description: string): void {
  if (!condition) throw new Invalid(field, description);
}

function only(obj: Json, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(obj)) check(allowed.has(key), `${where}${key}`, `${where}${key} is not a recognised field`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ZendeskStandIn {
  readonly users = new Map<number, { id: number; email: string; name: string }>();
  readonly tickets = new Map<number, ZendeskTicketState>();
  readonly uploads = new Map<string, { id: number; file_name: string; content_type: string; size: number; sha256: string }>();
  readonly requests: { method: string; path: string; status: number }[] = [];
  searchLagMs = 0;
  faults: Fault[] = [];
  private holds: { hold: Hold; onHeld: (held: HeldRequest) => void }[] = [];
  private readonly keys = new Map<string, { hash: string; ticketId: number | null }>();
  private nextId = 1000;
  private server: Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();
  baseUrl = '';

  constructor(private readonly auth: { bearer?: string; apiToken?: { email: string; token: string } }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    this.user('agent@mailgate.example');
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Resolves with the next request matching `hold` once it is held; call `release` to let it go on. */
  hold(hold: Hold): Promise<HeldRequest> {
    return new Promise((resolve) => this.holds.push({ hold, onHeld: resolve }));
  }

  /** The tickets whose external_id is `ref` (what Mailgate's exactly-once is measured by). */
  ticketsFor(ref: string): ZendeskTicketState[] {
    return [...this.tickets.values()].filter((t) => t.external_id === ref);
  }

  userEmail(id: number): string | undefined {
    return this.users.get(id)?.email;
  }

  private id(): number {
    this.nextId += 1;
    return this.nextId;
  }

  private user(email: string, name = email): { id: number; email: string; name: string } {
    const lower = email.toLowerCase();
    const found = [...this.users.values()].find((u) => u.email === lower);
    if (found) return found;
    const user = { id: this.id(), email: lower, name };
    this.users.set(user.id, user);
    return user;
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (this.auth.bearer && header === `Bearer ${this.auth.bearer}`) return true;
    const api = this.auth.apiToken;
    return !!api && header === `Basic ${Buffer.from(`${api.email}/token:${api.token}`).toString('base64')}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const route = `${req.method} ${url.pathname}`;
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      this.requests.push({ method: req.method ?? '', path: url.pathname, status });
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-rate-limit': '700', 'x-rate-limit-remaining': '699', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (!this.authorized(req)) return send(401, { error: "Couldn't authenticate you" });
    const fault = this.faults.find((f) => f.times > 0 && route.startsWith(f.match));
    if (fault) {
      fault.times -= 1;
      return send(fault.status, { error: fault.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable' }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const held = async (phase: Hold['phase']): Promise<boolean> => {
      const i = this.holds.findIndex((h) => h.hold.phase === phase && route.startsWith(h.hold.match));
      if (i < 0) return true;
      const { onHeld } = this.holds.splice(i, 1)[0]!;
      await new Promise<void>((resolve) => {
        const closed = new Promise<void>((gone) => res.on('close', () => gone()));
        onHeld({ release: resolve, closed });
        void closed.then(resolve);
      });
      return !res.destroyed && !req.socket.destroyed;
    };
    try {
      if (!(await held('before'))) return void this.requests.push({ method: req.method ?? '', path: url.pathname, status: 0 });
      const answer = this.route(req, url, raw);
      if (!(await held('after'))) return void this.requests.push({ method: req.method ?? '', path: url.pathname, status: 0 });
      send(answer.status, answer.body, answer.headers);
    } catch (error) {
      if (error instanceof Invalid) {
        return send(422, { error: 'RecordInvalid', description: 'Record validation errors', details: { [error.field]: [{ description: error.description }] } });
      }
      if (error instanceof SyntaxError) return send(400, { error: 'Unprocessable JSON', description: error.message });
      send(500, { error: String(error) });
    }
  }

  private route(req: IncomingMessage, url: URL, raw: Buffer): { status: number; body?: unknown; headers?: Record<string, string> } {
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const json = (): Json => {
      check((req.headers['content-type'] ?? '').startsWith('application/json'), 'content-type', 'Content-Type must be application/json');
      const parsed = JSON.parse(raw.toString('utf8')) as unknown;
      check(isObject(parsed), 'base', 'the body must be an object');
      return parsed as Json;
    };
    const ticketMatch = /^\/api\/v2\/tickets\/(\d+)(\/comments)?$/.exec(path);
    if (method === 'GET' && path === '/api/v2/users/me') return { status: 200, body: { user: { id: 1, role: 'admin' } } };
    if (method === 'POST' && path === '/api/v2/uploads') return this.upload(req, url, raw);
    if (method === 'POST' && path === '/api/v2/users/create_or_update') {
      const body = json();
      check(isObject(body.user), 'user', 'user is required');
      const user = body.user as Json;
      only(user, new Set(['email', 'name', 'external_id', 'role']), 'user.');
      check(typeof user.email === 'string' && EMAIL.test(user.email), 'user.email', 'Email is invalid');
      const existed = [...this.users.values()].some((u) => u.email === String(user.email).toLowerCase());
      return { status: existed ? 200 : 201, body: { user: this.user(String(user.email), typeof user.name === 'string' ? user.name : undefined) } };
    }
    if (method === 'POST' && path === '/api/v2/tickets') return this.create(req, json());
    if (method === 'GET' && path === '/api/v2/tickets') {
      const ref = url.searchParams.get('external_id');
      const tickets = [...this.tickets.values()].filter((t) => ref === null || t.external_id === ref);
      return { status: 200, body: { tickets: tickets.map((t) => this.view(t)), count: tickets.length, next_page: null } };
    }
    if (method === 'GET' && path === '/api/v2/search') return this.search(url);
    if (ticketMatch) {
      const ticket = this.tickets.get(Number(ticketMatch[1]));
      if (!ticket) return { status: 404, body: { error: 'RecordNotFound', description: 'Not found' } };
      if (method === 'GET' && ticketMatch[2]) return { status: 200, body: { comments: ticket.comments, next_page: null, count: ticket.comments.length } };
      if (method === 'GET') return { status: 200, body: { ticket: this.view(ticket) } };
      if (method === 'DELETE') {
        this.tickets.delete(ticket.id);
        return { status: 204 };
      }
      if (method === 'PUT') return this.update(ticket, json());
    }
    return { status: 404, body: { error: 'InvalidEndpoint', description: 'Not found' } };
  }

  private upload(req: IncomingMessage, url: URL, raw: Buffer): { status: number; body: unknown } {
    const filename = url.searchParams.get('filename');
    check(!!filename, 'filename', 'filename is required');
    check(raw.length > 0, 'file', 'the file is empty');
    const type = req.headers['content-type'] ?? '';
    check(type !== '' && !type.startsWith('application/json') && !type.startsWith('multipart/'), 'content-type', 'send the raw file with its MIME type');
    const token = randomUUID().replace(/-/g, '');
    const attachment = { id: this.id(), file_name: filename!, content_type: type, size: raw.length, sha256: createHash('sha256').update(raw).digest('hex') };
    this.uploads.set(token, attachment);
    return { status: 201, body: { upload: { token, attachment, attachments: [attachment] } } };
  }

  private comment(input: unknown, authorId: number, metadata: Json): ZendeskComment {
    check(isObject(input), 'comment', 'comment must be an object');
    const c = input as Json;
    only(c, COMMENT_FIELDS, 'comment.');
    check(typeof c.body === 'string' || typeof c.html_body === 'string', 'comment.body', 'a comment needs body or html_body');
    check(c.body === undefined || (typeof c.body === 'string' && c.body.trim() !== ''), 'comment.body', 'body cannot be blank');
    check(c.html_body === undefined || typeof c.html_body === 'string', 'comment.html_body', 'html_body must be a string');
    check(c.public === undefined || typeof c.public === 'boolean', 'comment.public', 'public must be a boolean');
    check(c.author_id === undefined || (typeof c.author_id === 'number' && this.users.has(c.author_id)), 'comment.author_id', 'author_id names no user');
    const tokens = c.uploads === undefined ? [] : c.uploads;
    check(Array.isArray(tokens) && tokens.every((t) => typeof t === 'string' && this.uploads.has(t)), 'comment.uploads', 'an upload token is invalid or expired');
    return {
      id: this.id(),
      body: typeof c.body === 'string' ? c.body : String(c.html_body),
      html_body: typeof c.html_body === 'string' ? c.html_body : null,
      public: c.public !== false,
      author_id: typeof c.author_id === 'number' ? c.author_id : authorId,
      attachments: (tokens as string[]).map((t) => this.uploads.get(t)!),
      metadata: { system: {}, custom: metadata },
    };
  }

  private create(req: IncomingMessage, body: Json): { status: number; body: unknown; headers?: Record<string, string> } {
    only(body, new Set(['ticket']), '');
    check(isObject(body.ticket), 'ticket', 'ticket is required');
    const t = body.ticket as Json;
    only(t, TICKET_FIELDS, '');
    const key = req.headers['idempotency-key'];
    // The same key with the same request answers the first ticket; upload tokens may differ (a retry uploads again).
    const hash = createHash('sha256').update(JSON.stringify({ ...t, comment: { ...(t.comment as Json), uploads: undefined } })).digest('hex');
    if (typeof key === 'string') {
      const seen = this.keys.get(key);
      if (seen && seen.hash !== hash) return { status: 400, body: { error: 'IdempotencyKeyReused', description: 'Idempotency-Key was used with a different request' } };
      if (seen && seen.ticketId === null) return { status: 409, body: { error: 'IdempotentRequestInProgress', description: 'A request with this key is in progress' } };
      if (seen && seen.ticketId !== null && this.tickets.has(seen.ticketId)) {
        return { status: 201, body: { ticket: this.view(this.tickets.get(seen.ticketId)!) }, headers: { 'x-idempotency-lookup': 'hit' } };
      }
    }
    check(typeof t.subject === 'string' && t.subject.length <= 255, 'subject', 'subject must be a string of at most 255 characters');
    check(t.external_id === undefined || typeof t.external_id === 'string', 'external_id', 'external_id must be a string');
    check(t.priority === undefined || PRIORITIES.has(String(t.priority)), 'priority', 'priority is invalid');
    check(t.status === undefined || STATUSES.has(String(t.status)), 'status', 'status is invalid');
    check(t.metadata === undefined || isObject(t.metadata), 'metadata', 'metadata must be an object');
    const tags = t.tags ?? [];
    check(Array.isArray(tags) && tags.every((x) => typeof x === 'string' && TAG.test(x)), 'tags', 'tags must be single words');
    let requesterId: number;
    if (isObject(t.requester)) {
      only(t.requester, REQUESTER_FIELDS, 'requester.');
      check(typeof t.requester.email === 'string' && EMAIL.test(t.requester.email), 'requester', 'Requester: Email is invalid');
      requesterId = this.user(String(t.requester.email), typeof t.requester.name === 'string' ? t.requester.name : undefined).id;
    } else {
      check(typeof t.requester_id === 'number' && this.users.has(t.requester_id), 'requester', 'Requester is required');
      requesterId = t.requester_id as number;
    }
    if (t.via_followup_source_id !== undefined) {
      const source = this.tickets.get(Number(t.via_followup_source_id));
      check(!!source && (source.status === 'closed' || source.status === 'solved'), 'via_followup_source_id', 'the source ticket must exist and be closed');
    }
    const comment = this.comment(t.comment, requesterId, isObject(t.metadata) ? t.metadata : {});
    const ticket: ZendeskTicketState = {
      id: this.id(),
      subject: String(t.subject),
      status: typeof t.status === 'string' ? t.status : 'open',
      priority: typeof t.priority === 'string' ? t.priority : null,
      requester_id: requesterId,
      external_id: typeof t.external_id === 'string' ? t.external_id : null,
      tags: [...new Set(tags as string[])],
      via_followup_source_id: typeof t.via_followup_source_id === 'number' ? t.via_followup_source_id : null,
      created_at: new Date().toISOString(),
      indexedAt: Date.now() + this.searchLagMs,
      comments: [comment],
    };
    this.tickets.set(ticket.id, ticket);
    if (typeof key === 'string') this.keys.set(key, { hash, ticketId: ticket.id });
    return {
      status: 201,
      body: { ticket: this.view(ticket) },
      headers: { location: `${this.baseUrl}/api/v2/tickets/${ticket.id}.json`, ...(typeof key === 'string' ? { 'x-idempotency-lookup': 'miss' } : {}) },
    };
  }

  private update(ticket: ZendeskTicketState, body: Json): { status: number; body: unknown } {
    only(body, new Set(['ticket']), '');
    check(isObject(body.ticket), 'ticket', 'ticket is required');
    const t = body.ticket as Json;
    only(t, new Set(['comment', 'status', 'priority', 'tags', 'additional_tags', 'remove_tags', 'metadata', 'assignee_id', 'group_id']), '');
    for (const field of ['tags', 'additional_tags', 'remove_tags'] as const) {
      check(t[field] === undefined || (Array.isArray(t[field]) && (t[field] as unknown[]).every((x) => typeof x === 'string' && TAG.test(x))), field, 'tags must be single words');
    }
    check(ticket.status !== 'closed', 'status', 'Status: closed prevents ticket update');
    check(t.status === undefined || STATUSES.has(String(t.status)), 'status', 'status is invalid');
    check(t.metadata === undefined || isObject(t.metadata), 'metadata', 'metadata must be an object');
    const events: Json[] = [];
    if (t.comment !== undefined) {
      const comment = this.comment(t.comment, 1, isObject(t.metadata) ? t.metadata : {});
      ticket.comments.push(comment);
      events.push({ id: comment.id, type: 'Comment' });
      // An end user's reply reopens a pending or solved ticket, as Zendesk's default trigger does.
      if (comment.author_id === ticket.requester_id && (ticket.status === 'pending' || ticket.status === 'solved')) ticket.status = 'open';
    }
    if (typeof t.status === 'string') ticket.status = t.status;
    // tags replaces the list; additional_tags and remove_tags change it and leave the rest alone.
    if (Array.isArray(t.tags)) ticket.tags = [...new Set(t.tags as string[])];
    if (Array.isArray(t.additional_tags)) ticket.tags = [...new Set([...ticket.tags, ...(t.additional_tags as string[])])];
    if (Array.isArray(t.remove_tags)) ticket.tags = ticket.tags.filter((x) => !(t.remove_tags as string[]).includes(x));
    return { status: 200, body: { ticket: this.view(ticket), audit: { id: this.id(), ticket_id: ticket.id, events } } };
  }

  private search(url: URL): { status: number; body: unknown } {
    const query = url.searchParams.get('query') ?? '';
    const ref = /external_id:(\S+)/.exec(query)?.[1];
    const tag = /tags:(\S+)/.exec(query)?.[1];
    const now = Date.now();
    const results = [...this.tickets.values()].filter(
      (t) => t.indexedAt <= now && (ref === undefined || t.external_id === ref) && (tag === undefined || t.tags.includes(tag)),
    );
    return { status: 200, body: { results: results.map((t) => ({ ...this.view(t), result_type: 'ticket' })), count: results.length, next_page: null } };
  }

  private view(t: ZendeskTicketState): Json {
    return {
      id: t.id,
      url: `${this.baseUrl}/api/v2/tickets/${t.id}.json`,
      subject: t.subject,
      status: t.status,
      priority: t.priority,
      requester_id: t.requester_id,
      external_id: t.external_id,
      tags: t.tags,
      via_followup_source_id: t.via_followup_source_id,
      created_at: t.created_at,
    };
  }
}
