/**
 * The reference receiver of Mailgate's generic REST helpdesk API, on loopback: it checks every
 * request's signature (docs/generic-rest-helpdesk.openapi.yaml, "Signing") and validates every body
 * and its own answers against that OpenAPI file's schemas, keeps tickets and comments, and answers a
 * repeated idempotencyKey or messageId with the first result. Faults as the Zendesk stand-in's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { genericRestSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/adapters/helpdesks/generic-rest/generic-rest';

type Json = Record<string, unknown>;
type Schema = Json;

export const OPENAPI_FILE = path.resolve(__dirname, '../../../docs/generic-rest-helpdesk.openapi.yaml');
const SKEW_SECONDS = 300;

/** A JSON Schema check of the keywords the OpenAPI file uses; returns the first problem, or null. */
export function schemaProblem(doc: Json, schema: Schema, value: unknown, where = '$'): string | null {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((node, key) => (node as Json)[key], doc);
    return schemaProblem(doc, target as Schema, value, where);
  }
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  const typeOf = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length > 0 && !types.includes(typeOf) && !(typeOf === 'integer' && types.includes('number'))) return `${where} must be ${types.join(' or ')}`;
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return `${where} must be one of ${schema.enum.join(', ')}`;
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) return `${where} is too short`;
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) return `${where} is too long`;
    if (schema.format === 'email' && !/^[^\s@]+@[^\s@]+$/.test(value)) return `${where} must be an email address`;
    if (schema.format === 'uri' && !URL.canParse(value)) return `${where} must be a URI`;
    if (schema.contentEncoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return `${where} must be base64`;
  }
  if (typeof value === 'number' && typeof schema.minimum === 'number' && value < schema.minimum) return `${where} is below ${schema.minimum}`;
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) return `${where} has too many items`;
    for (const [i, item] of value.entries()) {
      const problem = schema.items ? schemaProblem(doc, schema.items as Schema, item, `${where}[${i}]`) : null;
      if (problem) return problem;
    }
  }
  if (typeOf === 'object') {
    const obj = value as Json;
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in obj)) return `${where}.${key} is required`;
    for (const [key, v] of Object.entries(obj)) {
      if (!(key in properties)) {
        if (schema.additionalProperties === false) return `${where}.${key} is not allowed`;
        continue;
      }
      const problem = schemaProblem(doc, properties[key]!, v, `${where}.${key}`);
      if (problem) return problem;
    }
  }
  return null;
}

interface Ticket {
  id: string;
  status: 'open' | 'pending' | 'closed';
  body: Json;
  comments: { id: string; messageId: string; body: Json }[];
  queue: string;
  extraQueues: string[];
}

export class GenericRestReceiver {
  readonly doc = parse(readFileSync(OPENAPI_FILE, 'utf8')) as Json;
  readonly tickets = new Map<string, Ticket>();
  readonly refused: string[] = [];
  faults: { match: string; status: 429 | 503; retryAfter?: string; times: number }[] = [];
  now = (): number => Date.now();
  baseUrl = '';
  private server: Server | undefined;
  private readonly keys = new Map<string, string>();
  private next = 0;

  constructor(private readonly secret: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mailgate`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  ticketsFor(ref: string): Ticket[] {
    return [...this.tickets.values()].filter((t) => t.body.externalRef === ref);
  }

  private operation(method: string, pathname: string): { template: string; op: Json; id?: string } | null {
    const local = pathname.replace(/^\/mailgate/, '');
    for (const [template, item] of Object.entries(this.doc.paths as Record<string, Json>)) {
      const pattern = new RegExp(`^${template.replace(/\{id\}/, '([^/]+)')}$`);
      const m = pattern.exec(local);
      const op = item[method.toLowerCase()] as Json | undefined;
      if (m && op) return { template, op, id: m[1] === undefined ? undefined : decodeURIComponent(m[1]) };
    }
    return null;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://receiver');
    const method = req.method ?? 'GET';
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    const refuse = (status: number, code: string, message: string): void => {
      this.refused.push(`${method} ${url.pathname}: ${message}`);
      send(status, { error: { code, message } });
    };
    const timestamp = Number(req.headers[TIMESTAMP_HEADER]);
    const given = String(req.headers[SIGNATURE_HEADER] ?? '');
    const wanted = genericRestSignature(this.secret, { timestamp, method, pathAndQuery: `${url.pathname}${url.search}`, body: raw });
    if (!Number.isInteger(timestamp) || Math.abs(this.now() / 1000 - timestamp) > SKEW_SECONDS) return refuse(401, 'stale', 'the timestamp is missing or outside 300 s');
    if (given.length !== wanted.length || !timingSafeEqual(Buffer.from(given), Buffer.from(wanted))) return refuse(401, 'signature', 'the signature does not match');
    const fault = this.faults.find((f) => f.times > 0 && `${method} ${url.pathname}`.startsWith(f.match));
    if (fault) {
      fault.times -= 1;
      return send(fault.status, { error: { code: 'busy', message: 'try later' } }, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const found = this.operation(method, url.pathname);
    if (!found) return refuse(404, 'not_found', 'no such operation');
    let body: unknown = null;
    const content = ((found.op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
    if (content) {
      if (!String(req.headers['content-type']).startsWith('application/json')) return refuse(415, 'media_type', 'send application/json');
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return refuse(400, 'json', 'the body is not JSON');
      }
      const problem = schemaProblem(this.doc, content.schema as Schema, body);
      if (problem) return refuse(422, 'invalid', problem);
    } else if (raw.length > 0) return refuse(400, 'body', 'this operation takes no body');
    for (const p of (found.op.parameters ?? []) as Json[]) {
      if (p.in === 'query' && p.required === true && !url.searchParams.get(String(p.name))) return refuse(400, 'query', `${String(p.name)} is required`);
    }
    const answer = this.answer(found.op.operationId as string, found.id, body as Json, url);
    // The receiver's own answers must match the file too, or the file would describe nothing.
    const schema = (((found.op.responses as Json)[String(answer.status)] as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
    if (schema) {
      const problem = schemaProblem(this.doc, schema.schema as Schema, answer.body);
      if (problem) throw new Error(`the reference receiver answered outside the OpenAPI file: ${problem}`);
    }
    send(answer.status, answer.body);
  }

  private answer(operationId: string, id: string | undefined, body: Json, url: URL): { status: number; body?: unknown } {
    const ticket = id === undefined ? undefined : this.tickets.get(id);
    const view = (t: Ticket) => ({ id: t.id, status: t.status, queue: t.queue, extraQueues: t.extraQueues });
    switch (operationId) {
      case 'health':
        return { status: 200 };
      case 'createTicket': {
        const seen = this.keys.get(String(body.idempotencyKey));
        if (seen && this.tickets.has(seen)) return { status: 200, body: view(this.tickets.get(seen)!) };
        if (body.linkedTicketId !== null && !this.tickets.has(String(body.linkedTicketId))) return { status: 422, body: { error: { code: 'link', message: 'linkedTicketId names no ticket' } } };
        this.next += 1;
        const comment = body.comment as Json;
        const t: Ticket = { id: `T-${this.next}`, status: 'open', body, comments: [{ id: `C-${this.next}`, messageId: String(comment.messageId), body: comment }], queue: String(body.queue), extraQueues: [] };
        this.tickets.set(t.id, t);
        this.keys.set(String(body.idempotencyKey), t.id);
        return { status: 201, body: view(t) };
      }
      case 'findTickets':
        return { status: 200, body: { tickets: this.ticketsFor(String(url.searchParams.get('externalRef'))).map(view) } };
      case 'getTicket':
        return ticket ? { status: 200, body: view(ticket) } : { status: 404 };
      case 'setStatus':
        if (!ticket) return { status: 404, body: { error: { code: 'not_found', message: 'no such ticket' } } };
        ticket.status = body.status as Ticket['status'];
        return { status: 200, body: view(ticket) };
      case 'moveTicket': {
        if (!ticket) return { status: 404, body: { error: { code: 'not_found', message: 'no such ticket' } } };
        const to = String(body.queue);
        ticket.queue = to;
        ticket.extraQueues = ticket.extraQueues.filter((q) => q !== to);
        return { status: 200, body: view(ticket) };
      }
      case 'noteQueue': {
        if (!ticket) return { status: 404, body: { error: { code: 'not_found', message: 'no such ticket' } } };
        const q = String(body.queue);
        if (q !== ticket.queue && !ticket.extraQueues.includes(q)) ticket.extraQueues.push(q);
        return { status: 200, body: view(ticket) };
      }
      case 'addComment': {
        if (!ticket) return { status: 404, body: { error: { code: 'not_found', message: 'no such ticket' } } };
        const existing = ticket.comments.find((c) => c.messageId === body.messageId);
        if (existing) return { status: 200, body: { id: existing.id, messageId: existing.messageId } };
        this.next += 1;
        const c = { id: `C-${this.next}`, messageId: String(body.messageId), body };
        ticket.comments.push(c);
        return { status: 201, body: { id: c.id, messageId: c.messageId } };
      }
      case 'findComments':
        if (!ticket) return { status: 404, body: { error: { code: 'not_found', message: 'no such ticket' } } };
        return { status: 200, body: { comments: ticket.comments.filter((c) => c.messageId === url.searchParams.get('messageId')).map((c) => ({ id: c.id, messageId: c.messageId })) } };
      default:
        return { status: 404 };
    }
  }

  /** sha256 of a file the receiver holds, by ticket and name (what reached the helpdesk). */
  fileHash(ticketId: string, filename: string): string | undefined {
    for (const c of this.tickets.get(ticketId)?.comments ?? []) {
      const f = ((c.body.files ?? []) as Json[]).find((x) => x.filename === filename);
      if (f) return createHash('sha256').update(Buffer.from(String(f.contentBase64), 'base64')).digest('hex');
    }
    return undefined;
  }
}
