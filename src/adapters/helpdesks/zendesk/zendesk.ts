/**
 * Zendesk Support (Ticketing API v2) connector, per HELPDESK-CONTRACTS.md §1:
 *   create   POST /api/v2/tickets with `Idempotency-Key` (one key per Mailgate ticket), the requester
 *            by email, `external_id` = Mailgate's ticket id, tags for the queue and Mailgate's tags,
 *            the first message as the first comment, files first uploaded (POST /api/v2/uploads)
 *            and their tokens put on the comment; a follow-up names `via_followup_source_id`
 *   reply    PUT /api/v2/tickets/{id} with the comment, `author_id` = the sender's user (created or
 *            found by email: POST /api/v2/users/create_or_update), public or private; the Message-ID
 *            goes in the update's custom `metadata`, which is how an interrupted reply is found again
 *   find     GET /api/v2/tickets?external_id=… (a list, not the lagging search index)
 *   status   new/open → open, pending/hold → pending, solved/closed → closed; 404 → deleted
 *   queues   each queue the ticket serves is a tag `mailgate_queue_<address>` (views and triggers
 *            can route on it); a move swaps the tags through the update's `additional_tags` and
 *            `remove_tags`, which leave the ticket's other tags alone, and Mailgate's internal note
 *            about the move arrives as a private comment
 * Auth: OAuth bearer tokens (the target), or an API token (`email/token:secret`, retired 2027-04-30).
 * Zendesk's 409 ("concurrent update" on one ticket) is transient (§8).
 */
import type { TicketPriority, TicketStatus } from '../../../domain/vocabulary';
import type { VendorComment, VendorConnector, VendorMove, VendorStatus, VendorTicket } from '../connector';
import { HelpdeskHttp, type HttpMetricsHook } from '../http';

export type ZendeskAuth = { kind: 'oauth'; token: string } | { kind: 'api_token'; email: string; token: string };

export interface ZendeskOptions {
  /** The connector's configured name (metrics, messages). */
  name: string;
  /** `https://{subdomain}.zendesk.com`, or a stand-in's loopback URL in tests. */
  baseUrl: string;
  auth: ZendeskAuth;
  timeoutMs?: number;
  metrics?: HttpMetricsHook;
}

const PRIORITY: Record<TicketPriority, string> = { low: 'low', normal: 'normal', high: 'high', urgent: 'urgent' };

/** Zendesk tags are single words: letters, digits, `_ - : /` (a space would split one tag into two). */
export function zendeskTag(tag: string): string {
  return tag.toLowerCase().replace(/[^a-z0-9_:/-]+/g, '_').slice(0, 80);
}

export function fromZendeskStatus(status: unknown): VendorStatus {
  switch (status) {
    case 'new':
    case 'open':
      return 'open';
    case 'pending':
    case 'hold':
      return 'pending';
    case 'deleted':
      return 'deleted';
    default:
      return 'closed';
  }
}

const QUEUE_TAG_PREFIX = 'mailgate_queue_';

/** The tag of a queue the ticket serves. */
export function queueTag(queue: string): string {
  return zendeskTag(`${QUEUE_TAG_PREFIX}${queue}`);
}

function toZendeskStatus(status: TicketStatus): string {
  // The API cannot set "closed" directly; "solved" is what an agent's close is.
  return status === 'closed' ? 'solved' : status;
}

export class ZendeskConnector implements VendorConnector {
  readonly kind = 'zendesk';
  private readonly http: HelpdeskHttp;

  constructor(options: ZendeskOptions) {
    const authorization =
      options.auth.kind === 'oauth'
        ? `Bearer ${options.auth.token}`
        : `Basic ${Buffer.from(`${options.auth.email}/token:${options.auth.token}`).toString('base64')}`;
    this.http = new HelpdeskHttp({
      connector: options.name,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      metrics: options.metrics,
      headers: () => ({ authorization }),
      secrets: [options.auth.token, authorization],
      transientStatuses: [409],
    });
  }

  async createTicket(ticket: VendorTicket): Promise<{ externalId: string }> {
    const comment = await this.comment(ticket.comment, null);
    const body = {
      ticket: {
        subject: ticket.subject,
        comment,
        requester: { email: ticket.requester, name: ticket.requester },
        external_id: ticket.externalRef,
        priority: PRIORITY[ticket.priority],
        tags: [...new Set(['mailgate', queueTag(ticket.queue), ...ticket.tags.map(zendeskTag)])],
        ...(ticket.linkedExternalId !== null ? { via_followup_source_id: Number(ticket.linkedExternalId) } : {}),
        metadata: { mailgate_message_id: ticket.comment.messageId, mailgate_ticket_number: ticket.number },
      },
    };
    const answer = await this.http.json('POST', '/api/v2/tickets', 'create_ticket', body, { headers: { 'idempotency-key': ticket.idempotencyKey } });
    return { externalId: String(idOf(answer.body, 'ticket')) };
  }

  async findTicket(externalRef: string): Promise<string | null> {
    const answer = await this.http.json('GET', '/api/v2/tickets', 'find_ticket', undefined, { query: { external_id: externalRef } });
    const tickets = (answer.body as { tickets?: { id?: unknown; status?: unknown }[] } | null)?.tickets ?? [];
    const live = tickets.find((t) => t.status !== 'deleted' && typeof t.id === 'number');
    return live ? String(live.id) : null;
  }

  async addComment(externalId: string, comment: VendorComment): Promise<{ externalId: string }> {
    const authorId = await this.userId(comment.author);
    const body = { ticket: { comment: await this.comment(comment, authorId), metadata: { mailgate_message_id: comment.messageId } } };
    const answer = await this.http.json('PUT', `/api/v2/tickets/${encodeURIComponent(externalId)}`, 'add_comment', body);
    const audit = (answer.body as { audit?: { id?: unknown } } | null)?.audit;
    return { externalId: typeof audit?.id === 'number' ? String(audit.id) : `${externalId}:${comment.messageId}` };
  }

  async findComment(externalId: string, messageId: string): Promise<string | null> {
    const answer = await this.http.json('GET', `/api/v2/tickets/${encodeURIComponent(externalId)}/comments`, 'find_comment');
    const comments = (answer.body as { comments?: { id?: unknown; metadata?: { custom?: { mailgate_message_id?: unknown } } }[] } | null)?.comments ?? [];
    const found = comments.find((c) => c.metadata?.custom?.mailgate_message_id === messageId);
    return found && typeof found.id === 'number' ? String(found.id) : null;
  }

  async ticketStatus(externalId: string): Promise<VendorStatus> {
    const answer = await this.http.request({ method: 'GET', path: `/api/v2/tickets/${encodeURIComponent(externalId)}`, operation: 'get_ticket', expect: [404] });
    if (answer.status === 404) return 'deleted';
    return fromZendeskStatus((answer.body as { ticket?: { status?: unknown } } | null)?.ticket?.status);
  }

  async setStatus(externalId: string, status: TicketStatus): Promise<void> {
    await this.http.json('PUT', `/api/v2/tickets/${encodeURIComponent(externalId)}`, 'set_status', { ticket: { status: toZendeskStatus(status) } });
  }

  /** The ticket's queue tags become those of the queues it serves: the old queue's goes, even on a retry. */
  async moveTicket(externalId: string, move: VendorMove): Promise<void> {
    const path = `/api/v2/tickets/${encodeURIComponent(externalId)}`;
    const answer = await this.http.json('GET', path, 'get_ticket');
    const tags = (answer.body as { ticket?: { tags?: unknown } } | null)?.ticket?.tags;
    const wanted = new Set(move.serves.map(queueTag));
    const remove = [...new Set([...(Array.isArray(tags) ? tags : []).filter((t): t is string => typeof t === 'string' && t.startsWith(QUEUE_TAG_PREFIX)), queueTag(move.from)])].filter((t) => !wanted.has(t));
    await this.http.json('PUT', path, 'move_ticket', { ticket: { additional_tags: [queueTag(move.to)], remove_tags: remove } });
  }

  async noteQueue(externalId: string, queue: string): Promise<void> {
    await this.http.json('PUT', `/api/v2/tickets/${encodeURIComponent(externalId)}`, 'note_queue', { ticket: { additional_tags: [queueTag(queue)] } });
  }

  async ping(): Promise<void> {
    await this.http.json('GET', '/api/v2/users/me', 'ping');
  }

  /** The comment object: body (text, plus links), html_body when there is html, uploads' tokens. */
  private async comment(comment: VendorComment, authorId: number | null): Promise<Record<string, unknown>> {
    const uploads: string[] = [];
    for (const file of comment.files) {
      const answer = await this.http.request({
        method: 'POST',
        path: '/api/v2/uploads',
        operation: 'upload',
        query: { filename: file.filename },
        headers: { 'content-type': file.contentType || 'application/octet-stream' },
        body: file.data,
      });
      const token = (answer.body as { upload?: { token?: unknown } } | null)?.upload?.token;
      if (typeof token === 'string') uploads.push(token);
    }
    const links = comment.links.map((l) => `${l.filename}: ${l.url}`);
    const text = links.length > 0 ? `${comment.text}\n\nAttachments:\n${links.join('\n')}` : comment.text;
    return {
      body: text || '(no text)',
      ...(comment.html && links.length === 0 ? { html_body: comment.html } : {}),
      public: !comment.internal,
      ...(uploads.length > 0 ? { uploads } : {}),
      ...(authorId !== null ? { author_id: authorId } : {}),
    };
  }

  /** The Zendesk user of an address (created when missing, as an email requester would be). */
  private async userId(email: string): Promise<number | null> {
    if (!email.includes('@')) return null;
    const answer = await this.http.json('POST', '/api/v2/users/create_or_update', 'find_user', { user: { email, name: email } });
    const id = (answer.body as { user?: { id?: unknown } } | null)?.user?.id;
    return typeof id === 'number' ? id : null;
  }
}

function idOf(body: unknown, field: string): number {
  const id = (body as Record<string, { id?: unknown } | undefined> | null)?.[field]?.id;
  if (typeof id !== 'number') throw new Error(`Zendesk answered without a ${field} id`);
  return id;
}
