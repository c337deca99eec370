/**
 * Generic REST connector: Mailgate's own small API for a helpdesk that wants to receive tickets
 * (docs/generic-rest-helpdesk.openapi.yaml). Every request is signed: an HMAC-SHA256 over a version
 * label, a timestamp, the method, the path with its query, and the body's SHA-256, so a receiver can
 * check who sent it, that nothing was changed, and refuse a replay outside its clock window.
 */
import { createHash, createHmac } from 'node:crypto';
import type { TicketStatus } from '../../../domain/vocabulary';
import type { VendorComment, VendorConnector, VendorMove, VendorStatus, VendorTicket } from '../connector';
import { HelpdeskHttp, type HttpMetricsHook } from '../http';

export const SIGNATURE_HEADER = 'x-mailgate-signature';
export const TIMESTAMP_HEADER = 'x-mailgate-timestamp';

/** The signature of one request (docs/generic-rest-helpdesk.openapi.yaml, "Signing"). */
export function genericRestSignature(secret: string, input: { timestamp: number; method: string; pathAndQuery: string; body: Uint8Array }): string {
  const bodyHash = createHash('sha256').update(input.body).digest('hex');
  const text = `v1\n${input.timestamp}\n${input.method.toUpperCase()}\n${input.pathAndQuery}\n${bodyHash}`;
  return `v1=${createHmac('sha256', secret).update(text).digest('hex')}`;
}

export interface GenericRestOptions {
  name: string;
  baseUrl: string;
  secret: string;
  timeoutMs?: number;
  metrics?: HttpMetricsHook;
  now?: () => number;
}

function isStatus(value: unknown): value is TicketStatus {
  return value === 'open' || value === 'pending' || value === 'closed';
}

export class GenericRestConnector implements VendorConnector {
  readonly kind = 'generic-rest';
  private readonly http: HelpdeskHttp;

  constructor(options: GenericRestOptions) {
    const now = options.now ?? Date.now;
    this.http = new HelpdeskHttp({
      connector: options.name,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      metrics: options.metrics,
      secrets: [options.secret],
      sign: ({ method, url, body }) => {
        const timestamp = Math.floor(now() / 1000);
        const signature = genericRestSignature(options.secret, { timestamp, method, pathAndQuery: `${url.pathname}${url.search}`, body });
        return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: signature };
      },
    });
  }

  async createTicket(ticket: VendorTicket): Promise<{ externalId: string }> {
    const answer = await this.http.json('POST', '/tickets', 'create_ticket', {
      idempotencyKey: ticket.idempotencyKey,
      externalRef: ticket.externalRef,
      number: ticket.number,
      subject: ticket.subject,
      requester: ticket.requester,
      queue: ticket.queue,
      priority: ticket.priority,
      tags: ticket.tags.slice(0, 50),
      linkedTicketId: ticket.linkedExternalId,
      comment: wire(ticket.comment),
    });
    return { externalId: idOf(answer.body) };
  }

  async findTicket(externalRef: string): Promise<string | null> {
    const answer = await this.http.json('GET', '/tickets', 'find_ticket', undefined, { query: { externalRef } });
    const first = (answer.body as { tickets?: { id?: unknown }[] } | null)?.tickets?.[0];
    return typeof first?.id === 'string' ? first.id : null;
  }

  async addComment(externalId: string, comment: VendorComment): Promise<{ externalId: string }> {
    const answer = await this.http.json('POST', `/tickets/${encodeURIComponent(externalId)}/comments`, 'add_comment', wire(comment));
    return { externalId: idOf(answer.body) };
  }

  async findComment(externalId: string, messageId: string): Promise<string | null> {
    const answer = await this.http.json('GET', `/tickets/${encodeURIComponent(externalId)}/comments`, 'find_comment', undefined, { query: { messageId } });
    const first = (answer.body as { comments?: { id?: unknown }[] } | null)?.comments?.[0];
    return typeof first?.id === 'string' ? first.id : null;
  }

  async ticketStatus(externalId: string): Promise<VendorStatus> {
    const answer = await this.http.request({ method: 'GET', path: `/tickets/${encodeURIComponent(externalId)}`, operation: 'get_ticket', expect: [404] });
    if (answer.status === 404) return 'deleted';
    const status = (answer.body as { status?: unknown } | null)?.status;
    return isStatus(status) ? status : 'open';
  }

  async setStatus(externalId: string, status: TicketStatus): Promise<void> {
    await this.http.json('PATCH', `/tickets/${encodeURIComponent(externalId)}`, 'set_status', { status });
  }

  async moveTicket(externalId: string, move: VendorMove): Promise<void> {
    await this.http.json('PUT', `/tickets/${encodeURIComponent(externalId)}/queue`, 'move_ticket', { queue: move.to, previousQueue: move.from });
  }

  async noteQueue(externalId: string, queue: string): Promise<void> {
    await this.http.json('POST', `/tickets/${encodeURIComponent(externalId)}/extra-queues`, 'note_queue', { queue });
  }

  async ping(): Promise<void> {
    await this.http.json('GET', '/health', 'ping');
  }
}

function wire(c: VendorComment): Record<string, unknown> {
  return {
    messageId: c.messageId,
    author: c.author,
    text: c.text,
    html: c.html,
    internal: c.internal,
    files: c.files.map((f) => ({ filename: f.filename, contentType: f.contentType, contentBase64: Buffer.from(f.data).toString('base64') })),
    links: c.links,
  };
}

function idOf(body: unknown): string {
  const id = (body as { id?: unknown } | null)?.id;
  if (typeof id !== 'string' || id === '') throw new Error('the helpdesk answered without an id');
  return id;
}
