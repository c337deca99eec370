/**
 * ticket: a new ticket for a new conversation, or a comment on the thread's ticket. Both are
 * idempotent in the store (by the email's idempotency key, and by ticket + Message-ID), so a retried
 * activity or a reprocessed workflow never writes twice. Quarantined files get an internal note.
 */
import type { ObjectStore } from '../adapters/object-store';
import type { AttachmentRecord, CommentInput, ThreadMatch, TicketStore } from '../adapters/ticket-store/types';
import type { AttachmentPart, EmailDocument } from '../domain/email';
import type { Limits } from '../domain/limits';
import type { ScanResult } from './scan-attachments';
import type { StoredPart } from './store-attachments';
import { rethrowAsFailure } from './failures';

export interface RecordTicketInput {
  idempotencyKey: string;
  documentKey: string;
  queue: string;
  requester: string;
  subject: string;
  /** The email's Message-ID, or a synthetic one derived from the idempotency key. */
  messageId: string;
  thread: ThreadMatch | null;
  attachments: AttachmentPart[];
  scans: ScanResult[];
  stored: StoredPart[];
}

export interface RecordTicketResult {
  ticketId: string;
  ticketNumber: number;
  /** True when this email opened the ticket (only then is it acknowledged). */
  ticketCreated: boolean;
  commentCreated: boolean;
  quarantined: { filename: string; signature: string }[];
}

function attachmentRecords(input: RecordTicketInput): AttachmentRecord[] {
  return input.attachments.map((part) => {
    const scan = input.scans.find((s) => s.index === part.index);
    const stored = input.stored.find((s) => s.index === part.index);
    return {
      filename: part.filename,
      contentType: part.contentType,
      size: part.size,
      sha256: part.sha256,
      storageKey: scan?.status === 'clean' ? (stored?.storageKey ?? null) : null,
      scanStatus: scan?.status ?? 'skipped',
      scanDetail: scan?.detail ?? 'not scanned',
      contentId: part.contentId,
      inline: part.inline,
    };
  });
}

export function createRecordTicket(deps: { store: ObjectStore; tickets: TicketStore; limits: Limits }) {
  return async function recordTicket(input: RecordTicketInput): Promise<RecordTicketResult> {
    try {
      const document = JSON.parse((await deps.store.getBuffer(input.documentKey)).toString('utf8')) as EmailDocument;
      const attachments = attachmentRecords(input);
      const comment: CommentInput = {
        messageId: input.messageId,
        author: input.requester,
        text: document.text.slice(0, deps.limits.maxTextChars),
        html: document.html,
        attachments,
      };
      let ticketId: string;
      let ticketNumber: number;
      let ticketCreated = false;
      let commentCreated: boolean;
      if (input.thread) {
        ({ created: commentCreated } = await deps.tickets.addComment(input.thread.ticketId, comment));
        ticketId = input.thread.ticketId;
        ticketNumber = input.thread.ticketNumber;
      } else {
        const result = await deps.tickets.createTicket({
          originKey: input.idempotencyKey,
          subject: input.subject || '(no subject)',
          requester: input.requester,
          queue: input.queue,
          comment,
        });
        ticketId = result.ticket.id;
        ticketNumber = result.ticket.number;
        ticketCreated = result.created;
        commentCreated = result.created;
      }
      const quarantined = attachments
        .filter((a) => a.scanStatus === 'infected')
        .map((a) => ({ filename: a.filename, signature: a.scanDetail ?? 'unknown' }));
      if (quarantined.length > 0) {
        await deps.tickets.addComment(ticketId, {
          messageId: `av-note.${input.idempotencyKey}@mailgate.invalid`,
          author: 'mailgate',
          internal: true,
          text: quarantined
            .map((q) => `Attachment "${q.filename}" was quarantined: the virus scanner found ${q.signature}. It is not linked.`)
            .join('\n'),
          html: null,
          attachments: [],
        });
      }
      return { ticketId, ticketNumber, ticketCreated, commentCreated, quarantined };
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
