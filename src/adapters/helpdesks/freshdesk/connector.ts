/**
 * The Helpdesk port on Freshdesk API v2 (HELPDESK-CONTRACTS.md §3):
 *   createTicket   POST /api/v2/tickets with `source` 1 (email), the requester's email (Freshdesk
 *                  finds or makes the contact), the first message as HTML description, tags, and two
 *                  custom fields: Mailgate's id (`cf_mailgate_id`, sha1 of the origin key) and a JSON
 *                  record (`cf_mailgate_meta`: queues, requester, link, each message's file records),
 *                  written in the same call; multipart with `attachments[]` when clean files go up
 *   addComment     POST /tickets/{id}/notes, `incoming: true` for the requester's words ("appear as
 *                  being created from outside"), `private: true` for Mailgate's internal notes; then
 *                  the message is recorded in the meta field
 *   setStatus      PUT status 2 (open), 3 (pending), 5 (closed); 4 (resolved) reads as closed
 *   queues         kept in the meta field and shown as tags `mailgate-queue:<address>`, written
 *                  with it in one PUT (a move swaps the tag; agents filter and route on tags)
 *
 * "Already created": the origin index, then the custom-field search (index-based, it lags writes).
 * "Already a comment": the meta field, then the conversation list's Mailgate footers (both
 * consistent reads), which covers a worker that died between the note and the meta update.
 */
import { createHash } from 'node:crypto';
import { ErrorType, TypedError } from '../../../domain/errors';
import type { TicketPriority, TicketStatus } from '../../../domain/vocabulary';
import type { AttachmentRecord, HelpdeskTicket, NewComment, NewTicket } from '../../../ports/helpdesk';
import { basicAuthHttp, cleanFiles, linksFor, memoryOriginIndex, type AttachmentSource, type OriginIndex } from '../connector-deps';
import { bodyOf, parseBody } from '../footer';
import type { HelpdeskHttp, HttpMetricsHook } from '../http';
import { KeyedLock } from '../keyed-lock';
import type { PortConnector } from '../port-vendor';
import type { FreshdeskConfig } from './config';

/** A description or note body is HTML; Freshdesk documents no limit below this, Mailgate keeps to it. */
const MAX_BODY_CHARS = 60_000;
/** Conversations per page (Freshdesk's maximum). */
const PAGE = 100;

const PRIORITY: Record<TicketPriority, number> = { low: 1, normal: 2, high: 3, urgent: 4 };
const STATUS: Record<TicketStatus, number> = { open: 2, pending: 3, closed: 5 };

export interface FreshdeskMeta {
  queue: string;
  extraQueues: string[];
  requester: string;
  linkedTicketId: string | null;
  /** Every message on the ticket, oldest first; the first is the description (noteId null). */
  messages: { messageId: string; noteId: string | null; attachments: AttachmentRecord[] }[];
}

export function mailgateId(originKey: string): string {
  return createHash('sha1').update(originKey).digest('hex');
}

/** Plain text as Freshdesk HTML: escaped, line breaks as <br>. */
export function htmlOf(text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
  return `<div>${escaped.replace(/\n/g, '<br>')}</div>`;
}

export function readMeta(value: unknown): FreshdeskMeta | null {
  if (typeof value !== 'string') return null;
  try {
    const meta = JSON.parse(value) as Partial<FreshdeskMeta>;
    if (typeof meta.queue !== 'string' || typeof meta.requester !== 'string' || !Array.isArray(meta.messages)) return null;
    return { queue: meta.queue, extraQueues: meta.extraQueues ?? [], requester: meta.requester, linkedTicketId: meta.linkedTicketId ?? null, messages: meta.messages };
  } catch {
    return null;
  }
}

export interface FreshdeskOptions {
  config: FreshdeskConfig;
  files: AttachmentSource;
  index?: OriginIndex;
  metrics?: HttpMetricsHook;
  name?: string;
  fetch?: typeof fetch;
}

interface TicketView {
  id: string;
  subject: string;
  status: number;
  priority: number;
  tags: string[];
  meta: FreshdeskMeta | null;
}

export class Freshdesk implements PortConnector {
  private readonly http: HelpdeskHttp;
  private readonly config: FreshdeskConfig;
  private readonly files: AttachmentSource;
  private readonly index: OriginIndex;
  private readonly locks = new KeyedLock();

  constructor(options: FreshdeskOptions) {
    this.config = options.config;
    this.files = options.files;
    this.index = options.index ?? memoryOriginIndex();
    // Freshdesk's Basic auth: the API key is the user name, the password a literal X (§3.2).
    this.http = basicAuthHttp({
      connector: options.name ?? 'freshdesk',
      baseUrl: options.config.baseUrl,
      timeoutMs: options.config.timeoutMs,
      user: options.config.apiKey,
      password: 'X',
      userIsSecret: true,
      metrics: options.metrics,
      fetch: options.fetch,
    });
  }

  async createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }> {
    return this.locks.run(`origin:${input.originKey}`, async () => {
      const existing = await this.findByExternalRef(input.originKey);
      if (existing) return { ticket: existing, created: false };
      const found = await this.search(input.originKey);
      if (found) {
        await this.index.put(input.originKey, found);
        return { ticket: await this.mustGet(found, 'create_ticket'), created: false };
      }
      if (input.linkedTicketId != null && (await this.getTicket(input.linkedTicketId)) === null) {
        throw new TypedError(ErrorType.InvalidTicketInput, `freshdesk create_ticket: the linked ticket ${input.linkedTicketId} does not exist`);
      }
      const meta: FreshdeskMeta = {
        queue: input.queue.toLowerCase(),
        extraQueues: [],
        requester: input.requester,
        linkedTicketId: input.linkedTicketId ?? null,
        messages: [{ messageId: input.comment.messageId, noteId: null, attachments: input.comment.attachments }],
      };
      const fields = {
        email: input.requester,
        subject: input.subject.trim() === '' ? '(no subject)' : input.subject,
        description: await this.html(input.comment),
        status: STATUS.open,
        priority: PRIORITY[input.priority ?? 'normal'],
        source: 1,
        tags: [...new Set([queueTag(meta.queue), ...(input.tags ?? []).map((t) => t.toLowerCase())])],
        custom_fields: { [this.config.idField]: mailgateId(input.originKey), [this.config.metaField]: JSON.stringify(meta) },
      };
      const answer = await this.send('POST', '/api/v2/tickets', 'create_ticket', fields, input.comment);
      const id = idOf(answer.body, 'create_ticket');
      await this.index.put(input.originKey, id);
      return { ticket: await this.mustGet(id, 'create_ticket'), created: true };
    });
  }

  async findByExternalRef(originKey: string): Promise<HelpdeskTicket | null> {
    const id = await this.index.get(originKey);
    return id === null ? null : this.getTicket(id);
  }

  async findExternal(originKey: string): Promise<string | null> {
    return (await this.index.get(originKey)) ?? this.search(originKey);
  }

  async getTicket(ticketId: string): Promise<HelpdeskTicket | null> {
    const view = await this.view(ticketId);
    return view && toTicket(view);
  }

  async getTicketByNumber(number: number): Promise<HelpdeskTicket | null> {
    return Number.isSafeInteger(number) && number > 0 ? this.getTicket(String(number)) : null;
  }

  async addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }> {
    // One lock per ticket: the meta field is read, changed and written back.
    return this.locks.run(`ticket:${ticketId}`, async () => {
      const view = await this.mustView(ticketId, 'add_note');
      const meta = view.meta ?? { queue: '', extraQueues: [], requester: '', linkedTicketId: null, messages: [] };
      const known = meta.messages.find((m) => m.messageId === input.messageId);
      if (known) return { comment: { id: known.noteId ?? `${view.id}/description` }, created: false };
      let noteId = await this.findComment(view.id, input.messageId);
      const created = noteId === null;
      if (noteId === null) {
        const internal = input.internal === true;
        const answer = await this.send('POST', `/api/v2/tickets/${view.id}/notes`, 'add_note', { body: await this.html(input), private: internal, incoming: !internal }, input);
        noteId = idOf(answer.body, 'add_note');
      }
      await this.writeMeta(view.id, { ...meta, messages: [...meta.messages, { messageId: input.messageId, noteId, attachments: input.attachments }] });
      return { comment: { id: noteId }, created };
    });
  }

  async attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]> {
    const view = await this.view(ticketId);
    return (view?.meta?.messages ?? []).flatMap((m) => m.attachments.map((a) => ({ messageId: m.messageId, filename: a.filename })));
  }

  async setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket> {
    const view = await this.mustView(ticketId, 'set_status');
    if (statusOf(view.status) !== status) await this.http.json('PUT', `/api/v2/tickets/${view.id}`, 'set_status', { status: STATUS[status] });
    return this.mustGet(view.id, 'set_status');
  }

  async noteQueue(ticketId: string, queue: string): Promise<void> {
    const q = queue.toLowerCase();
    await this.changeMeta(ticketId, 'note_queue', (m) => (m.queue === q || m.extraQueues.includes(q) ? null : { ...m, extraQueues: [...m.extraQueues, q] }));
  }

  async moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket> {
    const q = queue.toLowerCase();
    await this.changeMeta(ticketId, 'move_ticket', (m) => (m.queue === q ? null : { ...m, queue: q, extraQueues: m.extraQueues.filter((x) => x !== q) }));
    return this.mustGet(ticketId, 'move_ticket');
  }

  async ping(): Promise<void> {
    await this.http.json('GET', '/api/v2/agents/me', 'ping');
  }

  /** JSON, or multipart with `attachments[]` when clean files are uploaded (Freshdesk takes files only that way). */
  private async send(method: 'POST', path: string, operation: string, fields: Record<string, unknown>, comment: NewComment): ReturnType<HelpdeskHttp['request']> {
    const clean = this.config.attachments === 'upload' ? cleanFiles(comment.attachments) : [];
    if (clean.length === 0) return this.http.json(method, path, operation, fields);
    const parts: [string, string][] = [];
    for (const [name, value] of Object.entries(fields)) {
      if (Array.isArray(value)) for (const item of value) parts.push([`${name}[]`, String(item)]);
      else if (value !== null && typeof value === 'object') for (const [key, v] of Object.entries(value)) parts.push([`${name}[${key}]`, String(v)]);
      else parts.push([name, String(value)]);
    }
    const files = await Promise.all(clean.map(async (f) => ({ field: 'attachments[]', filename: f.filename, contentType: f.contentType, data: await this.files.read(f.storageKey) })));
    return this.http.multipart(method, path, operation, { fields: parts, files });
  }

  private async html(comment: NewComment): Promise<string> {
    const links = this.config.attachments === 'links' ? await linksFor(this.files, cleanFiles(comment.attachments)) : new Map<string, string>();
    return htmlOf(bodyOf(comment, MAX_BODY_CHARS, links));
  }

  private async search(originKey: string): Promise<string | null> {
    const answer = await this.http.request({
      method: 'GET',
      path: '/api/v2/search/tickets',
      operation: 'search',
      query: { query: `"${this.config.idField}:'${mailgateId(originKey)}'"` },
    });
    const first = (answer.body as { results?: { id?: unknown }[] } | null)?.results?.[0]?.id;
    return typeof first === 'number' ? String(first) : null;
  }

  async findComment(ticketId: string, messageId: string): Promise<string | null> {
    for (let page = 1; ; page += 1) {
      const answer = await this.http.request({ method: 'GET', path: `/api/v2/tickets/${ticketId}/conversations`, operation: 'list_conversations', query: { page, per_page: PAGE } });
      const notes = Array.isArray(answer.body) ? (answer.body as { id?: unknown; body_text?: unknown }[]) : [];
      const hit = notes.find((n) => typeof n.body_text === 'string' && parseBody(n.body_text).messageId === messageId);
      if (hit && typeof hit.id === 'number') return String(hit.id);
      if (notes.length < PAGE) return null;
    }
  }

  /**
   * The record and the queue tags in one PUT. The tags are compared with the record even when the
   * record does not change, so a ticket whose tags lag its record (made before queue tags) catches up.
   */
  private async changeMeta(ticketId: string, operation: string, change: (m: FreshdeskMeta) => FreshdeskMeta | null): Promise<void> {
    await this.locks.run(`ticket:${ticketId}`, async () => {
      const view = await this.mustView(ticketId, operation);
      if (!view.meta) throw new TypedError(ErrorType.RemoteRejected, `freshdesk ${operation}: ticket ${view.id} was not opened by Mailgate (no ${this.config.metaField})`);
      const next = change(view.meta);
      const final = next ?? view.meta;
      const tags = [...view.tags.filter((t) => !isQueueTag(t)), ...new Set([final.queue, ...final.extraQueues].map(queueTag))];
      const tagsChanged = tags.length !== view.tags.length || tags.some((t) => !view.tags.includes(t));
      if (!next && !tagsChanged) return;
      await this.http.json('PUT', `/api/v2/tickets/${view.id}`, operation, {
        ...(tagsChanged ? { tags } : {}),
        ...(next ? { custom_fields: { [this.config.metaField]: JSON.stringify(next) } } : {}),
      });
    });
  }

  private async writeMeta(ticketId: string, meta: FreshdeskMeta): Promise<void> {
    await this.http.json('PUT', `/api/v2/tickets/${ticketId}`, 'update_meta', { custom_fields: { [this.config.metaField]: JSON.stringify(meta) } });
  }

  private async view(ticketId: string): Promise<TicketView | null> {
    if (!/^[1-9]\d{0,15}$/.test(ticketId)) return null;
    const answer = await this.http.request({ method: 'GET', path: `/api/v2/tickets/${ticketId}`, operation: 'get_ticket', expect: [404] });
    if (answer.status === 404) return null;
    const t = answer.body as { subject?: unknown; status?: unknown; priority?: unknown; tags?: unknown; custom_fields?: Record<string, unknown> } | null;
    return {
      id: ticketId,
      subject: typeof t?.subject === 'string' ? t.subject : '',
      status: typeof t?.status === 'number' ? t.status : 2,
      priority: typeof t?.priority === 'number' ? t.priority : 2,
      tags: Array.isArray(t?.tags) ? t.tags.filter((x): x is string => typeof x === 'string') : [],
      meta: readMeta(t?.custom_fields?.[this.config.metaField]),
    };
  }

  private async mustView(ticketId: string, operation: string): Promise<TicketView> {
    const view = await this.view(ticketId);
    if (!view) throw new TypedError(ErrorType.RemoteRejected, `freshdesk ${operation}: ticket ${ticketId} does not exist`);
    return view;
  }

  private async mustGet(ticketId: string, operation: string): Promise<HelpdeskTicket> {
    return toTicket(await this.mustView(ticketId, operation));
  }
}

function statusOf(status: number): TicketStatus {
  return status === 4 || status === 5 ? 'closed' : status === 3 ? 'pending' : 'open';
}

function priorityOf(priority: number): TicketPriority {
  return (Object.entries(PRIORITY).find(([, n]) => n === priority)?.[0] as TicketPriority | undefined) ?? 'normal';
}

function toTicket(view: TicketView): HelpdeskTicket {
  return {
    id: view.id,
    number: Number(view.id),
    subject: view.subject,
    requester: view.meta?.requester ?? '',
    queue: view.meta?.queue ?? '',
    status: statusOf(view.status),
    priority: priorityOf(view.priority),
    tags: view.tags.filter((t) => !isQueueTag(t)),
    linkedTicketId: view.meta?.linkedTicketId ?? null,
  };
}

function idOf(body: unknown, operation: string): string {
  const id = (body as { id?: unknown } | null)?.id;
  if (typeof id !== 'number') throw new TypedError(ErrorType.RemoteUnavailable, `freshdesk ${operation}: the answer has no id`);
  return String(id);
}

/** The tag of a queue the ticket serves. */
export function queueTag(queue: string): string {
  return `mailgate-queue:${queue.toLowerCase()}`.slice(0, 255);
}

function isQueueTag(tag: string): boolean {
  return tag.startsWith('mailgate-queue:');
}
