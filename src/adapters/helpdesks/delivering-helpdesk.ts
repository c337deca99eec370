/**
 * A Helpdesk that delivers into a vendor's helpdesk, exactly once, through a connector.
 *
 * Mailgate's own database keeps the conversation's record (the built-in store's ticket: its id and
 * number, the thread index, participants, file names), so threading and the acknowledgement work the
 * same whichever helpdesk agents use. Each ticket and comment is then delivered to the vendor under a
 * ledger claim (src/ports/ledger.ts, "deliveries"), in three lines of defence against a double:
 *   1. the ledger decides "already created": a done delivery is never sent again;
 *   2. a claim found in flight (a worker killed mid-call) first asks the vendor whether the earlier
 *      call landed: the ticket by its external reference, a comment by its Message-ID marker;
 *   3. the vendor's own idempotency key (Zendesk `Idempotency-Key`), stable per Mailgate ticket.
 * A claim held by another live worker is "busy": a transient error, so Temporal retries later.
 *
 * The vendor's status wins for the closed-reply policy: a ticket solved, closed or deleted there reads
 * as closed here, and the queue's closedReply decides (record-ticket.ts). Reopening writes both sides.
 *
 * Attachments: only a clean file with a stored copy ever leaves Mailgate (the scan verdict is the
 * gate), uploaded with its comment or listed as a signed link (`attachments: 'links'`).
 *
 * A message's header block (NewComment.headers) is not kept in Mailgate's record: it travels with the
 * call that delivers that message. A retried step brings it again; only a ticket first delivered by
 * another message's step (its own step failed for good) reaches the vendor without it.
 *
 * Queue moves and extra queues are written to the record, then to the vendor's ticket (a tag, a
 * label, a field), once the ticket is delivered.
 */
import { randomUUID } from 'node:crypto';
import { ErrorType, TypedError } from '../../domain/errors';
import type { TicketStatus } from '../../domain/vocabulary';
import type { Helpdesk, HelpdeskTicket, NewComment, NewTicket } from '../../ports/helpdesk';
import type { Ledger } from '../../ports/ledger';
import type { Comment, TicketStore, TicketWithComments } from '../ticket-store/types';
import type { VendorComment, VendorConnector, VendorFile } from './connector';

export type AttachmentMode = 'upload' | 'links';

/** The built-in store's calls the record side needs. */
export type ConversationRecord = Pick<
  TicketStore,
  'createTicket' | 'addComment' | 'findByExternalRef' | 'getTicket' | 'getTicketByNumber' | 'setStatus' | 'noteQueue' | 'moveTicket' | 'attachmentNames'
>;

export interface DeliveringHelpdeskOptions {
  /** The connector's configured name: the ledger and the metrics key deliveries by it. */
  name: string;
  connector: VendorConnector;
  record: ConversationRecord;
  ledger: Pick<Ledger, 'claimDelivery' | 'completeDelivery' | 'deliveredId'>;
  attachments: AttachmentMode;
  /** The bytes of a clean stored file (object store). */
  readFile(storageKey: string): Promise<Uint8Array>;
  /** A signed link to a stored attachment (by its built-in id), for the "links" mode. */
  linkFor?(attachmentId: string): string;
  /**
   * How long a claim keeps other workers off a delivery: longer than one vendor call can take (the
   * HTTP timeout), so a live call is never doubled; a killed worker's claim is resumed after it.
   */
  leaseMs: number;
  now?: () => number;
}

/** The largest total of file bytes one comment uploads; past it the rest go as links or are named only. */
export const MAX_UPLOAD_BYTES_PER_COMMENT = 50 * 1024 * 1024;

export class DeliveringHelpdesk implements Helpdesk {
  private readonly inFlight = new Map<string, Promise<string>>();
  private readonly owner = `${process.pid}.${randomUUID()}`;

  constructor(private readonly options: DeliveringHelpdeskOptions) {}

  get name(): string {
    return this.options.name;
  }

  async createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }> {
    const made = await this.options.record.createTicket(input);
    await this.ticketDelivered(made.ticket.id, input.comment);
    return made;
  }

  findByExternalRef(originKey: string): Promise<HelpdeskTicket | null> {
    return this.options.record.findByExternalRef(originKey);
  }

  async addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }> {
    const added = await this.options.record.addComment(ticketId, input);
    const externalTicket = await this.ticketDelivered(ticketId);
    await this.once(`${ticketId}\n${added.comment.messageId}`, () => this.deliverComment(ticketId, externalTicket, added.comment, input.headers));
    return added;
  }

  async getTicket(ticketId: string): Promise<HelpdeskTicket | null> {
    return this.withVendorStatus(await this.options.record.getTicket(ticketId));
  }

  async getTicketByNumber(number: number): Promise<HelpdeskTicket | null> {
    return this.withVendorStatus(await this.options.record.getTicketByNumber(number));
  }

  attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]> {
    return this.options.record.attachmentNames(ticketId);
  }

  async setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket> {
    const ticket = await this.options.record.setStatus(ticketId, status);
    const externalId = await this.ticketDelivered(ticketId);
    const now = await this.options.connector.ticketStatus(externalId);
    if (now === 'deleted') throw new TypedError(ErrorType.RemoteRejected, `${this.name}: ticket ${externalId} was deleted in the helpdesk`);
    if (now !== status) await this.options.connector.setStatus(externalId, status);
    return ticket;
  }

  async noteQueue(ticketId: string, queue: string): Promise<void> {
    await this.options.record.noteQueue(ticketId, queue);
    await this.options.connector.noteQueue(await this.ticketDelivered(ticketId), queue.toLowerCase());
  }

  async moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket> {
    const before = await this.options.record.getTicket(ticketId);
    if (!before) throw new TypedError(ErrorType.InvalidTicketInput, `${this.name}: no ticket ${ticketId}`);
    const moved = await this.options.record.moveTicket(ticketId, queue);
    const after = await this.options.record.getTicket(ticketId);
    // A retry after the record moved finds from = to: the vendor drops every queue mark not in
    // `serves`, so the old queue's mark still goes.
    const serves = [...new Set([moved.queue, ...(after?.extraQueues ?? [])].map((q) => q.toLowerCase()))];
    await this.options.connector.moveTicket(await this.ticketDelivered(ticketId), { from: before.queue.toLowerCase(), to: moved.queue.toLowerCase(), serves });
    return (await this.withVendorStatus(moved)) ?? moved;
  }

  async keepsHeaders(): Promise<boolean> {
    return this.options.connector.keepsHeaders === true;
  }

  ping(): Promise<void> {
    return this.options.connector.ping();
  }

  /** The vendor's id of the ticket, delivering it first when it is not yet (an interrupted create). */
  async ticketDelivered(ticketId: string, first?: NewComment): Promise<string> {
    const known = await this.options.ledger.deliveredId({ connector: this.name, ticketId, messageId: null });
    if (known !== null) return known;
    return this.once(ticketId, () => this.deliverTicket(ticketId, first));
  }

  /** One delivery per key at a time in this process; across processes the ledger's claim decides. */
  private async once(key: string, work: () => Promise<string>): Promise<string> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const started = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }

  private async claim(ticketId: string, messageId: string | null): Promise<{ done: string } | { resumed: boolean }> {
    const at = this.now();
    const state = await this.options.ledger.claimDelivery({
      connector: this.name,
      ticketId,
      messageId,
      owner: this.owner,
      at: new Date(at).toISOString(),
      leaseUntil: new Date(at + this.options.leaseMs).toISOString(),
    });
    if (state.state === 'done') return { done: state.externalId };
    if (state.state === 'busy') {
      throw new TypedError(ErrorType.RemoteUnavailable, `${this.name}: ${messageId === null ? 'the ticket' : 'a comment'} is being delivered by another worker`);
    }
    return { resumed: state.resumed };
  }

  private async complete(ticketId: string, messageId: string | null, externalId: string): Promise<void> {
    await this.options.ledger.completeDelivery({ connector: this.name, ticketId, messageId, externalId, at: new Date(this.now()).toISOString() });
  }

  private async deliverTicket(ticketId: string, firstInput?: NewComment): Promise<string> {
    const ticket = await this.options.record.getTicket(ticketId);
    if (!ticket) throw new TypedError(ErrorType.InvalidTicketInput, `${this.name}: no ticket ${ticketId}`);
    const claimed = await this.claim(ticketId, null);
    if ('done' in claimed) return claimed.done;
    const { connector } = this.options;
    const first = ticket.comments[0];
    if (claimed.resumed) {
      const found = await connector.findTicket(ticketId);
      if (found !== null) return this.ticketDone(ticket, found);
    }
    const linkedExternalId = ticket.linkedTicketId
      ? await this.options.ledger.deliveredId({ connector: this.name, ticketId: ticket.linkedTicketId, messageId: null })
      : null;
    const { externalId } = await connector.createTicket({
      idempotencyKey: `mailgate-${this.name}-${ticket.id}`,
      externalRef: ticket.id,
      number: ticket.number,
      subject: ticket.subject,
      requester: ticket.requester,
      queue: ticket.queue,
      priority: ticket.priority,
      tags: ticket.tags,
      linkedExternalId,
      comment: await this.vendorComment(first ?? emptyComment(ticket), first && firstInput?.messageId === first.messageId ? firstInput.headers : undefined),
    });
    return this.ticketDone(ticket, externalId);
  }

  private async ticketDone(ticket: TicketWithComments, externalId: string): Promise<string> {
    await this.complete(ticket.id, null, externalId);
    // The first message travelled with the ticket: it is delivered as a comment too.
    const first = ticket.comments[0];
    if (first) await this.complete(ticket.id, first.messageId, `${externalId}#first`);
    return externalId;
  }

  private async deliverComment(ticketId: string, externalTicket: string, comment: Comment, headers: string | undefined): Promise<string> {
    const claimed = await this.claim(ticketId, comment.messageId);
    if ('done' in claimed) return claimed.done;
    if (claimed.resumed) {
      const found = await this.options.connector.findComment(externalTicket, comment.messageId);
      if (found !== null) {
        await this.complete(ticketId, comment.messageId, found);
        return found;
      }
    }
    const { externalId } = await this.options.connector.addComment(externalTicket, await this.vendorComment(comment, headers));
    await this.complete(ticketId, comment.messageId, externalId);
    return externalId;
  }

  /** The comment as the vendor gets it: clean files uploaded (or linked), nothing else. */
  private async vendorComment(comment: Comment, headers?: string): Promise<VendorComment> {
    const files: VendorFile[] = [];
    const links: { filename: string; url: string }[] = [];
    let uploaded = 0;
    for (const a of comment.attachments) {
      if (a.scanStatus !== 'clean' || a.storageKey === null) continue;
      const asLink = this.options.attachments === 'links' || uploaded + a.size > MAX_UPLOAD_BYTES_PER_COMMENT;
      if (asLink && this.options.linkFor) links.push({ filename: a.filename, url: this.options.linkFor(a.id) });
      else if (!asLink) {
        files.push({ filename: a.filename, contentType: a.contentType, data: await this.options.readFile(a.storageKey) });
        uploaded += a.size;
      }
    }
    const kept = headers !== undefined && this.options.connector.keepsHeaders === true ? { headers } : {};
    return { messageId: comment.messageId, author: comment.author, text: comment.text, html: comment.html, internal: comment.internal, files, links, ...kept };
  }

  private async withVendorStatus<T extends HelpdeskTicket>(ticket: T | null): Promise<HelpdeskTicket | null> {
    if (!ticket) return null;
    const externalId = await this.options.ledger.deliveredId({ connector: this.name, ticketId: ticket.id, messageId: null });
    if (externalId === null) return publicView(ticket);
    const status = await this.options.connector.ticketStatus(externalId);
    return { ...publicView(ticket), status: status === 'deleted' ? 'closed' : status };
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function publicView(t: HelpdeskTicket): HelpdeskTicket {
  return {
    id: t.id,
    number: t.number,
    subject: t.subject,
    requester: t.requester,
    queue: t.queue,
    status: t.status,
    priority: t.priority,
    tags: t.tags,
    linkedTicketId: t.linkedTicketId,
  };
}

function emptyComment(ticket: TicketWithComments): Comment {
  return { id: '', ticketId: ticket.id, messageId: `${ticket.id}@mailgate.invalid`, author: ticket.requester, text: '', html: null, internal: false, created: '', attachments: [] };
}
