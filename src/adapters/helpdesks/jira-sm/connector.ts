/**
 * The Helpdesk port on Jira Service Management Cloud (HELPDESK-CONTRACTS.md §2):
 *   createTicket   POST /rest/servicedeskapi/request on the configured service desk and request type,
 *                  raised on behalf of the requester's account (looked up by email, created as a JSM
 *                  customer when allowed), labelled `mg-<sha1(origin key)>`, first-message files
 *                  through the temporary-file flow; then the issue property `mailgate.ticket` and,
 *                  for a follow-up, an issue link
 *   addComment     POST /request/{key}/comment (public, or internal for notes), files attached after
 *   setStatus      the workflow transition into (or out of) the `done` status category
 *   queues         kept in the issue property, and shown as labels `mailgate-queue:<address>` that a move
 *                  or a noted queue brings in line with it; the request type is fixed per connector
 *
 * "Already created" is decided first by the origin index (the ledger's), then by a label search,
 * which lags Jira's writes by seconds: the second line only. "Already a comment" is decided by the
 * comment list, a consistent read, through the Message-ID footer every body carries.
 *
 * Errors come from the shared HTTP helper (429/503+Retry-After → RemoteRateLimited, 401/403 →
 * RemoteCredentials, other 4xx → RemoteRejected with Jira's message); an unknown ticket is a
 * RemoteRejected, a link to one is InvalidTicketInput.
 */
import { ErrorType, TypedError } from '../../../domain/errors';
import type { TicketStatus } from '../../../domain/vocabulary';
import type { HelpdeskTicket, NewComment, NewTicket } from '../../../ports/helpdesk';
import type { HelpdeskHttp, HttpMetricsHook } from '../http';
import { basicAuthHttp, cleanFiles, linksFor, memoryOriginIndex, type AttachmentSource, type CleanFile, type OriginIndex } from '../connector-deps';
import { bodyOf } from '../footer';
import { KeyedLock } from '../keyed-lock';
import type { PortConnector } from '../port-vendor';
import type { JiraSmConfig } from './config';
import {
  MAX_BODY_CHARS,
  dedupeLabel,
  MESSAGE_PROPERTY,
  numberOfKey,
  parseBody,
  priorityName,
  priorityOf,
  readTicketProperty,
  statusOf,
  summaryOf,
  isQueueLabel,
  queueLabel,
  tagLabel,
  tagsOf,
  TICKET_PROPERTY,
  type MessageProperty,
  type TicketProperty,
} from './mapping';

export interface JiraSmOptions {
  config: JiraSmConfig;
  files: AttachmentSource;
  index?: OriginIndex;
  metrics?: HttpMetricsHook;
  /** The connector's name in metrics and errors (default `jira-sm`). */
  name?: string;
  fetch?: typeof fetch;
}

/** Comments read per page when looking for a Message-ID (JSM's maximum page is 100). */
const COMMENT_PAGE = 100;
/** Multipart calls need this or Jira's XSRF check refuses them (JSM reference, "Special headers"). */
const NO_CHECK = { 'X-Atlassian-Token': 'no-check' };

interface IssueView {
  key: string;
  summary: string;
  labels: string[];
  priority: string | undefined;
  statusCategory: string | undefined;
  property: TicketProperty | null;
}

type LabelOp = { add: string } | { remove: string };

export class JiraServiceManagement implements PortConnector {
  private readonly http: HelpdeskHttp;
  private readonly config: JiraSmConfig;
  private readonly files: AttachmentSource;
  private readonly index: OriginIndex;
  private readonly locks = new KeyedLock();
  private readonly accounts = new Map<string, string | null>();

  constructor(options: JiraSmOptions) {
    this.config = options.config;
    this.files = options.files;
    this.index = options.index ?? memoryOriginIndex();
    this.http = basicAuthHttp({ connector: options.name ?? 'jira-sm', baseUrl: options.config.baseUrl, timeoutMs: options.config.timeoutMs, user: options.config.email, password: options.config.apiToken, metrics: options.metrics, fetch: options.fetch });
  }

  async createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }> {
    return this.locks.run(`origin:${input.originKey}`, async () => {
      const existing = await this.findByExternalRef(input.originKey);
      if (existing) return { ticket: existing, created: false };
      const resumed = await this.searchByLabel(input.originKey);
      if (resumed) return { ticket: await this.resume(resumed, input), created: false };
      if (input.linkedTicketId != null && (await this.getTicket(input.linkedTicketId)) === null) {
        throw new TypedError(ErrorType.InvalidTicketInput, `jira-sm create_request: the linked ticket ${input.linkedTicketId} does not exist`);
      }
      const onBehalf = await this.accountFor(input.requester);
      const { body, temporaryIds } = await this.prepare(input.comment);
      const labels = [...new Set([dedupeLabel(input.originKey), queueLabel(input.queue.toLowerCase()), ...(input.tags ?? []).map(tagLabel)])];
      const created = await this.http.json('POST', '/rest/servicedeskapi/request', 'create_request', {
        serviceDeskId: this.config.serviceDeskId,
        requestTypeId: this.config.requestTypeId,
        requestFieldValues: {
          summary: summaryOf(input.subject),
          description: body,
          labels,
          priority: { name: priorityName(input.priority ?? 'normal') },
          ...(temporaryIds.length > 0 ? { attachment: temporaryIds } : {}),
        },
        ...(onBehalf === null ? {} : { raiseOnBehalfOf: onBehalf }),
      });
      const key = stringField(created.body, 'issueKey', 'create_request');
      await this.resume(key, input);
      return { ticket: await this.mustGet(key), created: true };
    });
  }

  async findByExternalRef(originKey: string): Promise<HelpdeskTicket | null> {
    const key = await this.index.get(originKey);
    return key === null ? null : this.getTicket(key);
  }

  async findExternal(originKey: string): Promise<string | null> {
    return (await this.index.get(originKey)) ?? this.searchByLabel(originKey);
  }

  async getTicket(ticketId: string): Promise<HelpdeskTicket | null> {
    const view = await this.view(ticketId);
    return view && toTicket(view);
  }

  async getTicketByNumber(number: number): Promise<HelpdeskTicket | null> {
    if (!Number.isSafeInteger(number) || number < 1) return null;
    return this.getTicket(`${this.config.projectKey}-${number}`);
  }

  async addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }> {
    return this.locks.run(`comment:${ticketId}\n${input.messageId}`, async () => {
      const view = await this.mustView(ticketId, 'add_comment');
      if (view.property?.firstMessage.messageId === input.messageId) return { comment: { id: `${view.key}/description` }, created: false };
      const found = await this.findComment(view.key, input.messageId);
      if (found) {
        await this.attach(view.key, found, input);
        return { comment: { id: found }, created: false };
      }
      const { body } = await this.prepare(input, false);
      const answer = await this.http.json('POST', `/rest/servicedeskapi/request/${view.key}/comment`, 'add_comment', { body, public: input.internal !== true });
      const id = stringField(answer.body, 'id', 'add_comment');
      await this.attach(view.key, id, input);
      return { comment: { id }, created: true };
    });
  }

  async attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]> {
    const view = await this.view(ticketId);
    if (!view) return [];
    const names = (view.property?.firstMessage.attachments ?? []).map((a) => ({ messageId: view.property?.firstMessage.messageId ?? '', filename: a.filename }));
    for await (const comment of this.comments(view.key)) {
      const parsed = parseBody(comment.body);
      if (parsed.messageId !== null) for (const filename of parsed.filenames) names.push({ messageId: parsed.messageId, filename });
    }
    return names;
  }

  async setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket> {
    return this.locks.run(`ticket:${ticketId}`, async () => {
      const view = await this.mustView(ticketId, 'set_status');
      const current = statusOf(view.statusCategory);
      if (current === status) return toTicket(view);
      if (status === 'pending') throw new TypedError(ErrorType.InvalidTicketInput, 'jira-sm set_status: pending has no Jira status category; use open or closed');
      const answer = await this.http.json('GET', `/rest/api/3/issue/${view.key}/transitions`, 'list_transitions');
      const transitions = Array.isArray((answer.body as { transitions?: unknown })?.transitions) ? (answer.body as { transitions: unknown[] }).transitions : [];
      const target = transitions
        .map((t) => t as { id?: unknown; to?: { statusCategory?: { key?: unknown } } })
        .filter((t) => typeof t.id === 'string' && statusOf(String(t.to?.statusCategory?.key)) === status)
        .sort((a, b) => rank(a.to?.statusCategory?.key) - rank(b.to?.statusCategory?.key))[0];
      if (!target) throw new TypedError(ErrorType.RemoteRejected, `jira-sm set_status: no workflow transition from ${view.key}'s status leads to ${status}`);
      await this.http.json('POST', `/rest/api/3/issue/${view.key}/transitions`, 'transition', { transition: { id: target.id } });
      return this.mustGet(view.key);
    });
  }

  async noteQueue(ticketId: string, queue: string): Promise<void> {
    const q = queue.toLowerCase();
    await this.updateQueues(ticketId, 'note_queue', (p) => (q === p.queue || p.extraQueues.includes(q) ? null : { ...p, extraQueues: [...p.extraQueues, q] }));
  }

  async moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket> {
    const q = queue.toLowerCase();
    await this.updateQueues(ticketId, 'move_ticket', (p) => (p.queue === q ? null : { ...p, queue: q, extraQueues: p.extraQueues.filter((x) => x !== q) }));
    return this.mustGet(ticketId);
  }

  async ping(): Promise<void> {
    await this.http.json('GET', '/rest/api/3/myself', 'ping');
  }

  /** After the request exists: its property, its link and the index (each idempotent, so a retry redoes them safely). */
  private async resume(key: string, input: NewTicket): Promise<HelpdeskTicket> {
    const view = await this.mustView(key, 'create_request');
    if (!view.property) {
      const property: TicketProperty = {
        originKey: input.originKey,
        queue: input.queue.toLowerCase(),
        extraQueues: [],
        requester: input.requester,
        linkedTicketId: input.linkedTicketId ?? null,
        firstMessage: { messageId: input.comment.messageId, attachments: input.comment.attachments },
      };
      await this.putProperty(`/rest/api/3/issue/${key}/properties/${TICKET_PROPERTY}`, property);
      if (property.linkedTicketId !== null) {
        await this.http.json('POST', '/rest/api/3/issueLink', 'link_issue', {
          type: { name: this.config.linkType },
          inwardIssue: { key },
          outwardIssue: { key: property.linkedTicketId },
        });
      }
    }
    await this.index.put(input.originKey, key);
    return this.mustGet(key);
  }

  private async searchByLabel(originKey: string): Promise<string | null> {
    const answer = await this.http.json('POST', '/rest/api/3/search/jql', 'search', {
      jql: `project = ${this.config.projectKey} AND labels = "${dedupeLabel(originKey)}"`,
      fields: ['summary'],
      maxResults: 1,
    });
    const issues = (answer.body as { issues?: { key?: unknown }[] } | null)?.issues;
    const key = Array.isArray(issues) ? issues[0]?.key : undefined;
    return typeof key === 'string' ? key : null;
  }

  /** The requester's accountId for `raiseOnBehalfOf`; null = raise as the agent (the footer names the sender). */
  private async accountFor(email: string): Promise<string | null> {
    const known = this.accounts.get(email.toLowerCase());
    if (known !== undefined) return known;
    let accountId = await this.lookupAccount(email);
    if (accountId === null && this.config.createCustomers) {
      const answer = await this.http.json('POST', '/rest/servicedeskapi/customer', 'create_customer', { email, displayName: email }, { expect: [400] });
      const id = (answer.body as { accountId?: unknown } | null)?.accountId;
      // 400 is "an account already exists" (a race with another worker, or a hidden email): look again.
      accountId = answer.status === 201 && typeof id === 'string' ? id : await this.lookupAccount(email);
      if (accountId === null) throw new TypedError(ErrorType.RemoteRejected, `jira-sm create_customer: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
    this.accounts.set(email.toLowerCase(), accountId);
    return accountId;
  }

  private async lookupAccount(email: string): Promise<string | null> {
    const answer = await this.http.request({ method: 'GET', path: '/rest/api/3/user/search', operation: 'find_user', query: { query: email } });
    const users = Array.isArray(answer.body) ? (answer.body as { accountId?: unknown; emailAddress?: unknown }[]) : [];
    const match = users.find((u) => typeof u.emailAddress === 'string' && u.emailAddress.toLowerCase() === email.toLowerCase());
    return typeof match?.accountId === 'string' ? match.accountId : null;
  }

  /** The body with its footer, and (upload mode, when asked) the clean files as temporary attachments. */
  private async prepare(comment: NewComment, upload = true): Promise<{ body: string; temporaryIds: string[] }> {
    const clean = cleanFiles(comment.attachments);
    if (this.config.attachments === 'links') return { body: bodyOf(comment, MAX_BODY_CHARS, await linksFor(this.files, clean)), temporaryIds: [] };
    return { body: bodyOf(comment, MAX_BODY_CHARS), temporaryIds: upload ? await this.uploadTemporary(clean) : [] };
  }

  private async uploadTemporary(files: CleanFile[]): Promise<string[]> {
    if (files.length === 0) return [];
    const parts = await Promise.all(files.map(async (f) => ({ field: 'file', filename: f.filename, contentType: f.contentType, data: await this.files.read(f.storageKey) })));
    const answer = await this.http.multipart('POST', `/rest/servicedeskapi/servicedesk/${this.config.serviceDeskId}/attachTemporaryFile`, 'upload_file', { files: parts }, { headers: NO_CHECK });
    const temporary = (answer.body as { temporaryAttachments?: { temporaryAttachmentId?: unknown }[] } | null)?.temporaryAttachments ?? [];
    const ids = temporary.map((t) => t.temporaryAttachmentId).filter((id): id is string => typeof id === 'string');
    if (ids.length !== files.length) throw new TypedError(ErrorType.RemoteUnavailable, `jira-sm upload_file: ${files.length} files sent, ${ids.length} temporary ids back`);
    return ids;
  }

  /** A comment's files and its `mailgate.message` property, unless an earlier attempt finished both. */
  private async attach(key: string, commentId: string, input: NewComment): Promise<void> {
    const path = `/rest/api/3/comment/${commentId}/properties/${MESSAGE_PROPERTY}`;
    const had = await this.http.request({ method: 'GET', path, operation: 'read_comment_property', expect: [404] });
    if (had.status === 200 && (had.body as { value?: { complete?: unknown } } | null)?.value?.complete === true) return;
    if (this.config.attachments === 'upload') {
      const ids = await this.uploadTemporary(cleanFiles(input.attachments));
      if (ids.length > 0) {
        await this.http.json('POST', `/rest/servicedeskapi/request/${key}/attachment`, 'attach_files', { temporaryAttachmentIds: ids, public: input.internal !== true });
      }
    }
    const property: MessageProperty = { messageId: input.messageId, attachments: input.attachments, complete: true };
    await this.putProperty(path, property);
  }

  async findComment(key: string, messageId: string): Promise<string | null> {
    for await (const comment of this.comments(key)) if (parseBody(comment.body).messageId === messageId) return comment.id;
    return null;
  }

  private async *comments(key: string): AsyncGenerator<{ id: string; body: string }> {
    for (let start = 0; ; start += COMMENT_PAGE) {
      const answer = await this.http.request({ method: 'GET', path: `/rest/servicedeskapi/request/${key}/comment`, operation: 'list_comments', query: { start, limit: COMMENT_PAGE } });
      const page = answer.body as { values?: { id?: unknown; body?: unknown }[]; isLastPage?: unknown } | null;
      const values = Array.isArray(page?.values) ? page.values : [];
      for (const c of values) if (typeof c.id === 'string' && typeof c.body === 'string') yield { id: c.id, body: c.body };
      if (page?.isLastPage !== false || values.length === 0) return;
    }
  }

  /**
   * The property (Mailgate's record) first, then the queue labels agents see, brought in line with
   * it. Both are idempotent, and the labels are compared with the record even when the record did
   * not change: a retry after a crash between the two writes completes the labels.
   */
  private async updateQueues(ticketId: string, operation: string, change: (p: TicketProperty) => TicketProperty | null): Promise<void> {
    await this.locks.run(`ticket:${ticketId}`, async () => {
      const view = await this.mustView(ticketId, operation);
      if (!view.property) throw new TypedError(ErrorType.RemoteRejected, `jira-sm ${operation}: ${view.key} was not opened by Mailgate (no ${TICKET_PROPERTY} property)`);
      const next = change(view.property);
      if (next) await this.putProperty(`/rest/api/3/issue/${view.key}/properties/${TICKET_PROPERTY}`, next);
      const final = next ?? view.property;
      const wanted = new Set([final.queue, ...final.extraQueues].map(queueLabel));
      const shown = view.labels.filter(isQueueLabel);
      const ops: LabelOp[] = [...[...wanted].filter((l) => !shown.includes(l)).map((add) => ({ add })), ...shown.filter((l) => !wanted.has(l)).map((remove) => ({ remove }))];
      if (ops.length > 0) await this.http.json('PUT', `/rest/api/3/issue/${view.key}`, operation, { update: { labels: ops } });
    });
  }

  private async putProperty(path: string, value: unknown): Promise<void> {
    await this.http.json('PUT', path, 'put_property', value);
  }

  private async view(ticketId: string): Promise<IssueView | null> {
    if (numberOfKey(ticketId) === null) return null;
    const answer = await this.http.request({
      method: 'GET',
      path: `/rest/api/3/issue/${ticketId}`,
      operation: 'get_issue',
      query: { fields: 'summary,status,priority,labels', properties: TICKET_PROPERTY },
      expect: [404],
    });
    if (answer.status === 404) return null;
    const issue = answer.body as { key?: unknown; fields?: Record<string, unknown>; properties?: Record<string, unknown> } | null;
    const fields = issue?.fields ?? {};
    const status = fields.status as { statusCategory?: { key?: unknown } } | undefined;
    return {
      key: typeof issue?.key === 'string' ? issue.key : ticketId,
      summary: typeof fields.summary === 'string' ? fields.summary : '',
      labels: Array.isArray(fields.labels) ? fields.labels.filter((l): l is string => typeof l === 'string') : [],
      priority: typeof (fields.priority as { name?: unknown } | undefined)?.name === 'string' ? (fields.priority as { name: string }).name : undefined,
      statusCategory: typeof status?.statusCategory?.key === 'string' ? status.statusCategory.key : undefined,
      property: readTicketProperty(issue?.properties?.[TICKET_PROPERTY]),
    };
  }

  private async mustView(ticketId: string, operation: string): Promise<IssueView> {
    const view = await this.view(ticketId);
    if (!view) throw new TypedError(ErrorType.RemoteRejected, `jira-sm ${operation}: request ${ticketId} does not exist`);
    return view;
  }

  private async mustGet(ticketId: string): Promise<HelpdeskTicket> {
    return toTicket(await this.mustView(ticketId, 'get_issue'));
  }
}

/** Reopening prefers a "new" status over one in progress. */
function rank(category: unknown): number {
  return category === 'new' ? 0 : category === 'indeterminate' ? 1 : 2;
}

function toTicket(view: IssueView): HelpdeskTicket {
  return {
    id: view.key,
    number: numberOfKey(view.key) ?? 0,
    subject: view.summary,
    requester: view.property?.requester ?? '',
    queue: view.property?.queue ?? '',
    status: statusOf(view.statusCategory),
    priority: priorityOf(view.priority),
    tags: tagsOf(view.labels),
    linkedTicketId: view.property?.linkedTicketId ?? null,
  };
}

function stringField(body: unknown, field: string, operation: string): string {
  const value = (body as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'string' || value === '') throw new TypedError(ErrorType.RemoteUnavailable, `jira-sm ${operation}: the answer has no ${field}`);
  return value;
}

export { memoryOriginIndex, type AttachmentSource, type OriginIndex } from '../connector-deps';
