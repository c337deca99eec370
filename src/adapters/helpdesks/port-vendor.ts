/**
 * The Jira Service Management, Freshdesk and ServiceNow connectors implement the whole Helpdesk port
 * (each passes its contract suite on its own). The framework's DeliveringHelpdesk wants the narrower
 * VendorConnector (./connector.ts); this adapter gives it one, so those vendors plug into the
 * registry: the external reference becomes the connector's origin key, a comment's files (already
 * read) are served to the connector by one-off keys, and signed links are listed under the text.
 */
import { randomUUID } from 'node:crypto';
import type { TicketStatus } from '../../domain/vocabulary';
import type { AttachmentRecord, Helpdesk, NewComment } from '../../ports/helpdesk';
import type { VendorComment, VendorConnector, VendorMove, VendorStatus, VendorTicket } from './connector';
import type { AttachmentSource } from './connector-deps';

/** A full-port connector plus the lookups DeliveringHelpdesk needs after an interrupted call. */
export interface PortConnector extends Helpdesk {
  /** The ticket an earlier create made for this origin key, asking the vendor (not only the index). */
  findExternal(originKey: string): Promise<string | null>;
  /** The comment carrying this Message-ID's footer on the ticket, or null. */
  findComment(ticketId: string, messageId: string): Promise<string | null>;
  /** True when the connector stores NewComment.headers (ServiceNow's headers field). */
  readonly headersKept?: boolean;
}

/** Files handed over per call: each under a key used once, dropped when the call ends. */
export class HandedFiles implements AttachmentSource {
  private readonly files = new Map<string, Uint8Array>();

  async read(storageKey: string): Promise<Uint8Array> {
    const data = this.files.get(storageKey);
    if (!data) throw new Error(`no handed-over file ${storageKey}`);
    return data;
  }

  async link(storageKey: string): Promise<string> {
    throw new Error(`links are listed in the text, not asked for (${storageKey})`);
  }

  /** Records for `comment`'s files, usable while `work` runs. */
  async with<T>(comment: VendorComment, work: (records: AttachmentRecord[]) => Promise<T>): Promise<T> {
    const keys: string[] = [];
    const records = comment.files.map((f): AttachmentRecord => {
      const key = `handed/${randomUUID()}`;
      keys.push(key);
      this.files.set(key, f.data);
      return { filename: f.filename, contentType: f.contentType, size: f.data.length, sha256: '', storageKey: key, scanStatus: 'clean', scanDetail: null, contentId: null, inline: false };
    });
    try {
      return await work(records);
    } finally {
      for (const key of keys) this.files.delete(key);
    }
  }
}

function newComment(comment: VendorComment, attachments: AttachmentRecord[]): NewComment {
  const links = comment.links.map((l) => `${l.filename}: ${l.url}`);
  const text = links.length === 0 ? comment.text : `${comment.text}\n\nFiles:\n${links.join('\n')}`;
  return {
    messageId: comment.messageId,
    author: comment.author,
    text,
    html: comment.html,
    internal: comment.internal,
    attachments,
    ...(comment.headers !== undefined ? { headers: comment.headers } : {}),
  };
}

export class PortVendorConnector implements VendorConnector {
  readonly keepsHeaders: boolean;

  constructor(
    readonly kind: string,
    private readonly port: PortConnector,
    private readonly files: HandedFiles,
  ) {
    this.keepsHeaders = port.headersKept === true;
  }

  async createTicket(ticket: VendorTicket): Promise<{ externalId: string }> {
    return this.files.with(ticket.comment, async (records) => {
      const { ticket: made } = await this.port.createTicket({
        originKey: ticket.externalRef,
        subject: ticket.subject,
        requester: ticket.requester,
        queue: ticket.queue,
        comment: newComment(ticket.comment, records),
        priority: ticket.priority,
        tags: ticket.tags,
        linkedTicketId: ticket.linkedExternalId,
      });
      return { externalId: made.id };
    });
  }

  findTicket(externalRef: string): Promise<string | null> {
    return this.port.findExternal(externalRef);
  }

  async addComment(externalId: string, comment: VendorComment): Promise<{ externalId: string }> {
    return this.files.with(comment, async (records) => ({ externalId: (await this.port.addComment(externalId, newComment(comment, records))).comment.id }));
  }

  findComment(externalId: string, messageId: string): Promise<string | null> {
    return this.port.findComment(externalId, messageId);
  }

  async ticketStatus(externalId: string): Promise<VendorStatus> {
    return (await this.port.getTicket(externalId))?.status ?? 'deleted';
  }

  async setStatus(externalId: string, status: TicketStatus): Promise<void> {
    await this.port.setStatus(externalId, status);
  }

  async moveTicket(externalId: string, move: VendorMove): Promise<void> {
    await this.port.moveTicket(externalId, move.to);
  }

  noteQueue(externalId: string, queue: string): Promise<void> {
    return this.port.noteQueue(externalId, queue);
  }

  ping(): Promise<void> {
    return this.port.ping();
  }
}
