/**
 * The Helpdesk port on ServiceNow's Table API (HELPDESK-CONTRACTS.md §4), `incident` by default:
 *   createTicket   a `correlation_id` query first (a table query, consistent after writes: the best
 *                  dedupe lookup of the vendors), then POST with short_description, description,
 *                  caller_id (the requester's sys_user, when one has that email), contact_type email,
 *                  impact/urgency for the priority, and Mailgate's record in a custom field
 *                  (`u_mailgate_meta`: queues, requester, tags, link, each message's files)
 *   addComment     one PATCH writing the journal (`comments`, customer-visible, or `work_notes`,
 *                  internal) and the record together, so a message is on the ticket exactly when
 *                  the record names it
 *   attachments    POST /api/now/attachment/file, raw bytes with their type, after the write
 *   setStatus      state 7 (Closed, with close_code and close_notes, which the data policy demands),
 *                  3 (On Hold) for pending, 2 (In Progress) to reopen; 6 Resolved and 8 Canceled read as closed
 *
 *   headers       each message's header block (NewComment.headers) in a second custom field
 *                  (`u_mailgate_headers`), set on create and appended per reply in the comment's PATCH
 *                  (./headers-field.ts says why a field and not a work note)
 *   queues        a move sets the target queue's assignment group when one is configured, else
 *                  writes a work note; a noted extra queue gets a work note; both with the record
 *
 * The Table API silently drops fields a table lacks, so the connector checks that its custom field
 * came back and refuses to work without it.
 */
import { createHash } from 'node:crypto';
import { ErrorType, TypedError } from '../../../domain/errors';
import type { TicketPriority, TicketStatus } from '../../../domain/vocabulary';
import type { AttachmentRecord, HelpdeskTicket, NewComment, NewTicket } from '../../../ports/helpdesk';
import { basicAuthHttp, cleanFiles, linksFor, memoryOriginIndex, type AttachmentSource, type OriginIndex } from '../connector-deps';
import { bodyOf } from '../footer';
import type { HelpdeskHttp, HttpMetricsHook, HttpRequest, HttpResponse } from '../http';
import { KeyedLock } from '../keyed-lock';
import type { PortConnector } from '../port-vendor';
import type { ServiceNowConfig } from './config';
import { reclassifyServiceNow } from './errors';
import { appendHeaders, headersSection } from './headers-field';

/** Journal entries are plain text; 4000 characters is the default max length of a journal field. */
const MAX_BODY_CHARS = 4_000;
const BASE_FIELDS = 'sys_id,number,short_description,state,priority,assignment_group';

/** impact,urgency → ServiceNow's default priority lookup gives 1 (critical) … 5 (planning). */
const IMPACT_URGENCY: Record<TicketPriority, [number, number]> = { urgent: [1, 1], high: [1, 2], normal: [2, 2], low: [2, 3] };
const PRIORITY_OF: Record<string, TicketPriority> = { '1': 'urgent', '2': 'high', '3': 'normal', '4': 'low', '5': 'low' };

export interface ServiceNowMeta {
  queue: string;
  extraQueues: string[];
  requester: string;
  tags: string[];
  linkedTicketId: string | null;
  messages: { messageId: string; attachments: AttachmentRecord[] }[];
}

export function correlationId(originKey: string): string {
  return `mailgate-${createHash('sha1').update(originKey).digest('hex')}`;
}

export function readServiceNowMeta(value: unknown): ServiceNowMeta | null {
  if (typeof value !== 'string' || value === '') return null;
  try {
    const meta = JSON.parse(value) as Partial<ServiceNowMeta>;
    if (typeof meta.queue !== 'string' || typeof meta.requester !== 'string' || !Array.isArray(meta.messages)) return null;
    return { queue: meta.queue, extraQueues: meta.extraQueues ?? [], requester: meta.requester, tags: meta.tags ?? [], linkedTicketId: meta.linkedTicketId ?? null, messages: meta.messages };
  } catch {
    return null;
  }
}

export interface ServiceNowOptions {
  config: ServiceNowConfig;
  files: AttachmentSource;
  index?: OriginIndex;
  metrics?: HttpMetricsHook;
  name?: string;
  fetch?: typeof fetch;
}

type Row = Record<string, unknown>;

export class ServiceNow implements PortConnector {
  private readonly http: HelpdeskHttp;
  private readonly config: ServiceNowConfig;
  private readonly files: AttachmentSource;
  private readonly index: OriginIndex;
  private readonly locks = new KeyedLock();
  private readonly table: string;
  private readonly fields: string;

  constructor(options: ServiceNowOptions) {
    this.config = options.config;
    this.fields = [BASE_FIELDS, options.config.metaField, ...(options.config.headersField ? [options.config.headersField] : [])].join(',');
    this.files = options.files;
    this.index = options.index ?? memoryOriginIndex();
    this.table = `/api/now/table/${options.config.table}`;
    this.http = basicAuthHttp({ connector: options.name ?? 'servicenow', baseUrl: options.config.baseUrl, timeoutMs: options.config.timeoutMs, user: options.config.user, password: options.config.password, metrics: options.metrics, fetch: options.fetch });
  }

  async createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }> {
    return this.locks.run(`origin:${input.originKey}`, async () => {
      const known = await this.findByExternalRef(input.originKey);
      if (known) return { ticket: known, created: false };
      const [existing] = await this.query(`correlation_id=${correlationId(input.originKey)}`, 1);
      if (existing) {
        await this.index.put(input.originKey, String(existing.sys_id));
        return { ticket: this.toTicket(existing), created: false };
      }
      if (input.linkedTicketId != null && (await this.getTicket(input.linkedTicketId)) === null) {
        throw new TypedError(ErrorType.InvalidTicketInput, `servicenow create_incident: the linked ticket ${input.linkedTicketId} does not exist`);
      }
      const [caller] = await this
        .request({ method: 'GET', path: '/api/now/table/sys_user', operation: 'find_caller', query: { sysparm_query: `email=${input.requester}`, sysparm_fields: 'sys_id', sysparm_limit: 1 } })
        .then((a) => rows(a.body));
      const meta: ServiceNowMeta = {
        queue: input.queue.toLowerCase(),
        extraQueues: [],
        requester: input.requester,
        tags: [...new Set((input.tags ?? []).map((t) => t.toLowerCase()))],
        linkedTicketId: input.linkedTicketId ?? null,
        messages: [{ messageId: input.comment.messageId, attachments: input.comment.attachments }],
      };
      const [impact, urgency] = IMPACT_URGENCY[input.priority ?? 'normal'];
      const answer = await this.request({
        method: 'POST',
        path: this.table,
        operation: 'create_incident',
        query: { sysparm_fields: this.fields },
        json: {
          short_description: input.subject,
          description: await this.body(input.comment),
          ...(caller ? { caller_id: caller.sys_id } : {}),
          contact_type: 'email',
          correlation_id: correlationId(input.originKey),
          correlation_display: 'mailgate',
          impact,
          urgency,
          [this.config.metaField]: JSON.stringify(meta),
          ...this.headersOnCreate(input.comment),
          ...this.groupOf(meta.queue),
        },
      });
      const row = this.checked(one(answer.body), 'create_incident');
      await this.upload(String(row.sys_id), input.comment);
      await this.index.put(input.originKey, String(row.sys_id));
      return { ticket: this.toTicket(row), created: true };
    });
  }

  async findByExternalRef(originKey: string): Promise<HelpdeskTicket | null> {
    const id = await this.index.get(originKey);
    return id === null ? null : this.getTicket(id);
  }

  async findExternal(originKey: string): Promise<string | null> {
    const known = await this.index.get(originKey);
    if (known !== null) return known;
    const [row] = await this.query(`correlation_id=${correlationId(originKey)}`, 1);
    return row ? String(row.sys_id) : null;
  }

  /** The journal entry (comment or work note) holding this Message-ID's footer, or null. */
  async findComment(recordId: string, messageId: string): Promise<string | null> {
    const answer = await this.request({
      method: 'GET',
      path: '/api/now/table/sys_journal_field',
      operation: 'find_journal',
      query: { sysparm_query: `element_id=${recordId}^valueLIKEMessage-ID <${messageId}>`, sysparm_fields: 'sys_id', sysparm_limit: 1 },
    });
    const [entry] = rows(answer.body);
    return typeof entry?.sys_id === 'string' ? entry.sys_id : null;
  }

  async getTicket(ticketId: string): Promise<HelpdeskTicket | null> {
    const row = await this.row(ticketId);
    return row && this.toTicket(row);
  }

  async getTicketByNumber(number: number): Promise<HelpdeskTicket | null> {
    if (!Number.isSafeInteger(number) || number < 1) return null;
    const [row] = await this.query(`number=${this.config.numberPrefix}${String(number).padStart(7, '0')}`, 1);
    return row ? this.toTicket(row) : null;
  }

  async addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }> {
    return this.locks.run(`ticket:${ticketId}`, async () => {
      const row = await this.mustRow(ticketId, 'add_comment');
      const meta = this.meta(row, 'add_comment');
      if (meta.messages.some((m) => m.messageId === input.messageId)) return { comment: { id: await this.journalId(ticketId, input.messageId) }, created: false };
      const next: ServiceNowMeta = { ...meta, messages: [...meta.messages, { messageId: input.messageId, attachments: input.attachments }] };
      await this.patch(ticketId, 'add_comment', {
        [input.internal === true ? 'work_notes' : 'comments']: await this.body(input),
        [this.config.metaField]: JSON.stringify(next),
        ...this.headersAppended(row, input),
      });
      await this.upload(ticketId, input);
      return { comment: { id: await this.journalId(ticketId, input.messageId) }, created: true };
    });
  }

  async attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]> {
    const row = await this.row(ticketId);
    const meta = row && readServiceNowMeta(row[this.config.metaField]);
    return (meta?.messages ?? []).flatMap((m) => m.attachments.map((a) => ({ messageId: m.messageId, filename: a.filename })));
  }

  async setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket> {
    const row = await this.mustRow(ticketId, 'set_status');
    if (this.toTicket(row).status === status) return this.toTicket(row);
    const change =
      status === 'closed'
        ? { state: 7, close_code: this.config.closeCode, close_notes: 'Closed by Mailgate.' }
        : { state: status === 'pending' ? 3 : 2, ...(status === 'pending' ? { hold_reason: 1 } : {}) };
    return this.toTicket(await this.patch(ticketId, 'set_status', change));
  }

  async noteQueue(ticketId: string, queue: string): Promise<void> {
    const q = queue.toLowerCase();
    await this.changeMeta(ticketId, 'note_queue', (m) =>
      m.queue === q || m.extraQueues.includes(q) ? null : { meta: { ...m, extraQueues: [...m.extraQueues, q] }, also: { work_notes: `Mailgate: this ticket also serves queue ${q}.` } },
    );
  }

  /** The record names the new queue; the ticket shows it by its assignment group, or by a work note where no group is configured. */
  async moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket> {
    const q = queue.toLowerCase();
    const row = await this.changeMeta(ticketId, 'move_ticket', (m) => {
      if (m.queue === q) return null;
      const group = this.groupOf(q);
      return { meta: { ...m, queue: q, extraQueues: m.extraQueues.filter((x) => x !== q) }, also: 'assignment_group' in group ? group : { work_notes: `Mailgate: moved from queue ${m.queue} to ${q}.` } };
    });
    return this.toTicket(row);
  }

  /** True when a header field is configured: the ticket step then loads each message's header block. */
  get headersKept(): boolean {
    return this.config.headersField !== null;
  }

  async keepsHeaders(): Promise<boolean> {
    return this.headersKept;
  }

  async ping(): Promise<void> {
    await this.request({ method: 'GET', path: this.table, operation: 'ping', query: { sysparm_limit: 1, sysparm_fields: 'sys_id' } });
  }

  private async request(req: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.http.request(req);
    } catch (error) {
      throw reclassifyServiceNow(error);
    }
  }

  private async body(comment: NewComment): Promise<string> {
    const links = this.config.attachments === 'links' ? await linksFor(this.files, cleanFiles(comment.attachments)) : new Map<string, string>();
    return bodyOf(comment, MAX_BODY_CHARS, links);
  }

  private async upload(recordId: string, comment: NewComment): Promise<void> {
    if (this.config.attachments !== 'upload') return;
    for (const file of cleanFiles(comment.attachments)) {
      await this.request({
        method: 'POST',
        path: '/api/now/attachment/file',
        operation: 'attach_file',
        query: { table_name: this.config.table, table_sys_id: recordId, file_name: file.filename },
        headers: { 'content-type': file.contentType },
        body: await this.files.read(file.storageKey),
      });
    }
  }

  private async journalId(recordId: string, messageId: string): Promise<string> {
    return (await this.findComment(recordId, messageId)) ?? `${recordId}/description`;
  }

  /** The record's change and what else goes in the same PATCH (a work note, a group), or null for none. */
  private async changeMeta(ticketId: string, operation: string, change: (m: ServiceNowMeta) => { meta: ServiceNowMeta; also: Record<string, string> } | null): Promise<Row> {
    return this.locks.run(`ticket:${ticketId}`, async () => {
      const row = await this.mustRow(ticketId, operation);
      const next = change(this.meta(row, operation));
      return next ? this.patch(ticketId, operation, { ...next.also, [this.config.metaField]: JSON.stringify(next.meta) }) : row;
    });
  }

  private headersOnCreate(comment: NewComment): Record<string, string> {
    const field = this.config.headersField;
    return field && comment.headers !== undefined ? { [field]: appendHeaders('', headersSection(comment.messageId, comment.headers)) } : {};
  }

  private headersAppended(row: Row, comment: NewComment): Record<string, string> {
    const field = this.config.headersField;
    if (!field || comment.headers === undefined) return {};
    const now = typeof row[field] === 'string' ? row[field] : '';
    return { [field]: appendHeaders(now, headersSection(comment.messageId, comment.headers)) };
  }

  private groupOf(queue: string): { assignment_group: string } | Record<string, never> {
    const group = this.config.assignmentGroups[queue.toLowerCase()];
    return group === undefined ? {} : { assignment_group: group };
  }

  private async patch(ticketId: string, operation: string, json: Record<string, unknown>): Promise<Row> {
    const answer = await this.request({ method: 'PATCH', path: `${this.table}/${ticketId}`, operation, query: { sysparm_fields: this.fields }, json });
    return one(answer.body);
  }

  private async query(sysparmQuery: string, limit: number): Promise<Row[]> {
    const answer = await this.request({ method: 'GET', path: this.table, operation: 'query', query: { sysparm_query: sysparmQuery, sysparm_fields: this.fields, sysparm_limit: limit } });
    return rows(answer.body);
  }

  private async row(ticketId: string): Promise<Row | null> {
    if (!/^[0-9a-f]{32}$/.test(ticketId)) return null;
    const answer = await this.request({ method: 'GET', path: `${this.table}/${ticketId}`, operation: 'get_incident', query: { sysparm_fields: this.fields }, expect: [404] });
    return answer.status === 404 ? null : one(answer.body);
  }

  private async mustRow(ticketId: string, operation: string): Promise<Row> {
    const row = await this.row(ticketId);
    if (!row) throw new TypedError(ErrorType.RemoteRejected, `servicenow ${operation}: incident ${ticketId} does not exist`);
    return row;
  }

  private meta(row: Row, operation: string): ServiceNowMeta {
    const meta = readServiceNowMeta(row[this.config.metaField]);
    if (!meta) throw new TypedError(ErrorType.RemoteRejected, `servicenow ${operation}: ${String(row.number)} has no Mailgate record in ${this.config.metaField}`);
    return meta;
  }

  /** The Table API ignores unknown fields: without the custom field Mailgate cannot keep its record. */
  private checked(row: Row, operation: string): Row {
    if (readServiceNowMeta(row[this.config.metaField]) === null) {
      throw new TypedError(ErrorType.RemoteRejected, `servicenow ${operation}: the ${this.config.table} table did not keep ${this.config.metaField}; add that string field (max length ≥ 65000)`);
    }
    return row;
  }

  private toTicket(row: Row): HelpdeskTicket {
    const meta = readServiceNowMeta(row[this.config.metaField]);
    const state = String(row.state ?? '1');
    return {
      id: String(row.sys_id),
      number: Number(/(\d+)$/.exec(String(row.number ?? ''))?.[1] ?? 0),
      subject: String(row.short_description ?? ''),
      requester: meta?.requester ?? '',
      queue: meta?.queue ?? '',
      status: ['6', '7', '8'].includes(state) ? 'closed' : state === '3' ? 'pending' : 'open',
      priority: PRIORITY_OF[String(row.priority)] ?? 'normal',
      tags: meta?.tags ?? [],
      linkedTicketId: meta?.linkedTicketId ?? null,
    };
  }
}

function rows(body: unknown): Row[] {
  const result = (body as { result?: unknown } | null)?.result;
  return Array.isArray(result) ? (result as Row[]) : [];
}

function one(body: unknown): Row {
  const result = (body as { result?: unknown } | null)?.result;
  if (result === null || typeof result !== 'object' || Array.isArray(result)) throw new TypedError(ErrorType.RemoteUnavailable, 'servicenow: the answer has no result');
  return result as Row;
}
