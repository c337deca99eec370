/**
 * ticket: a new ticket for a new conversation, or a comment on the thread's ticket. Both are
 * idempotent in the store (by the email's idempotency key, and by ticket + Message-ID), so a retried
 * activity or a reprocessed workflow never writes twice. Automated mail (auto-replies, bounces) that
 * threads onto a ticket becomes an internal note and never reopens it. A reply to a closed ticket
 * reopens it or opens a new ticket linked to it, per queue. Quarantined files get an internal note.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../adapters/object-store';
import type { AttachmentRecord, CommentInput, ThreadMatch, TicketPriority, TicketStore } from '../adapters/ticket-store/types';
import type { AttachmentPart, EmailDocument } from '../domain/email';
import type { Redaction } from '../domain/redact';
import type { Limits } from '../domain/limits';
import type { Rules } from '../rules';
import type { ScanResult } from './scan-attachments';
import type { StoredPart } from './store-attachments';
import { metrics, secondsSince } from '../metrics';
import { rethrowAsFailure } from './failures';
import { activityLog } from './log';

export interface RecordTicketInput {
  workflowId: string;
  idempotencyKey: string;
  documentKey: string;
  queue: string;
  requester: string;
  subject: string;
  /** The email's Message-ID, or a synthetic one derived from the idempotency key. */
  messageId: string;
  /** True when the Message-ID is the email's own (not synthetic). */
  hasMessageId: boolean;
  thread: ThreadMatch | null;
  /** Automated mail only adds internal notes to known tickets; it never opens or reopens one. */
  automated: boolean;
  /** Shown on an internal note: the class and why. */
  classLabel: string;
  priority: TicketPriority;
  tags: string[];
  attachments: AttachmentPart[];
  scans: ScanResult[];
  stored: StoredPart[];
  /** What the parse step redacted from text and html (the raw object keeps the original). */
  redactions?: Redaction[];
  /** When the ingress accepted the email (for the time-to-ticket histogram). */
  receivedAt?: string;
  /** Seconds spent waiting for an unseen parent: such a ticket is not timed against the SLO. */
  waitedSeconds?: number;
}

export interface RecordTicketResult {
  outcome: 'ticket_created' | 'comment_added' | 'note_added' | 'suppressed';
  ticketId: string | null;
  ticketNumber: number | null;
  /** True when this email opened the ticket (only then is it acknowledged). */
  ticketCreated: boolean;
  reopened: boolean;
  /** The closed ticket a new linked ticket follows up. */
  linkedTicketId: string | null;
  quarantined: { filename: string; signature: string }[];
  reason: string | null;
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

export function createRecordTicket(deps: { store: ObjectStore; tickets: TicketStore; limits: Limits; rules: Rules }) {
  const { tickets } = deps;
  const senderLimit = deps.rules.rateLimits.newTicketsPerSender;
  const closedPolicy = (queue: string) => deps.rules.queues.find((q) => q.address === queue)?.closedReply ?? 'reopen';

  return async function recordTicket(input: RecordTicketInput): Promise<RecordTicketResult> {
    const result: RecordTicketResult = {
      outcome: 'suppressed',
      ticketId: null,
      ticketNumber: null,
      ticketCreated: false,
      reopened: false,
      linkedTicketId: null,
      quarantined: [],
      reason: null,
    };
    try {
      const document = JSON.parse((await deps.store.getBuffer(input.documentKey)).toString('utf8')) as EmailDocument;
      const attachments = attachmentRecords(input);
      const comment: CommentInput = {
        messageId: input.messageId,
        author: input.requester,
        text: document.text.slice(0, deps.limits.maxTextChars),
        html: document.html,
        attachments,
        ...(input.automated ? { internal: true, text: `[${input.classLabel}]\n${document.text.slice(0, deps.limits.maxTextChars)}` } : {}),
      };
      const open = async (linkedTicketId: string | null): Promise<void> => {
        const now = Date.now();
        const count = await tickets.countRateEvent({
          key: `new-ticket:${input.requester.toLowerCase()}`,
          eventId: input.workflowId,
          at: new Date(now).toISOString(),
          windowStart: new Date(now - senderLimit.windowSeconds * 1000).toISOString(),
        });
        if (count > senderLimit.limit) {
          result.reason = `rate limit of ${senderLimit.limit} new tickets per ${senderLimit.windowSeconds} s from ${input.requester} reached`;
          return;
        }
        // One ticket for all queues an email reached: the ticket is keyed by the Message-ID alone.
        const originKey =
          deps.rules.multipleQueues === 'one_ticket' && input.hasMessageId
            ? createHash('sha256').update(`one-ticket|${input.messageId}`).digest('hex')
            : input.idempotencyKey;
        const created = await tickets.createTicket({
          originKey,
          subject: input.subject || '(no subject)',
          requester: input.requester,
          queue: input.queue,
          comment,
          priority: input.priority,
          tags: [...input.tags, ...(input.redactions ?? []).filter((r) => r.count > 0).map((r) => `redacted:${r.kind}`)].slice(0, 50),
          linkedTicketId,
        });
        if (created.ticket.queue !== input.queue) await tickets.noteQueue(created.ticket.id, input.queue);
        Object.assign(result, {
          outcome: 'ticket_created',
          ticketId: created.ticket.id,
          ticketNumber: created.ticket.number,
          // A redelivery of the same email is acknowledged again (the send is idempotent per workflow);
          // a second queue of a shared ticket is not.
          ticketCreated: created.created || created.ticket.queue === input.queue,
          linkedTicketId,
        });
      };

      if (!input.thread) {
        if (input.automated) {
          result.reason = `${input.classLabel} that refers to no known ticket`;
          return result;
        }
        await open(null);
      } else if (input.automated) {
        await tickets.addComment(input.thread.ticketId, comment);
        Object.assign(result, { outcome: 'note_added', ticketId: input.thread.ticketId, ticketNumber: input.thread.ticketNumber });
      } else {
        const ticket = await tickets.getTicket(input.thread.ticketId);
        if (ticket?.status === 'closed' && closedPolicy(ticket.queue) === 'new_linked') {
          await open(ticket.id);
        } else {
          await tickets.addComment(input.thread.ticketId, comment);
          if (ticket?.status === 'closed') {
            await tickets.setStatus(ticket.id, 'open');
            result.reopened = true;
          }
          Object.assign(result, { outcome: 'comment_added', ticketId: input.thread.ticketId, ticketNumber: input.thread.ticketNumber });
        }
      }

      result.quarantined = attachments
        .filter((a) => a.scanStatus === 'infected')
        .map((a) => ({ filename: a.filename, signature: a.scanDetail ?? 'unknown' }));
      // The ticket says what was kept back and why: quarantined files, and files stripped by the size
      // cap or the type policy. The email's other content stays on the ticket.
      const removed = attachments
        .filter((a) => a.scanStatus !== 'clean' || !a.storageKey)
        .map((a) =>
          a.scanStatus === 'infected'
            ? `Attachment "${a.filename}" was quarantined: the virus scanner found ${a.scanDetail ?? 'a threat'}. It is not linked.`
            : `Attachment "${a.filename}" was removed: ${a.scanDetail ?? 'not scanned'}.`,
        );
      const redacted = (input.redactions ?? []).filter((r) => r.count > 0);
      if (redacted.length > 0) {
        removed.push(
          `Redacted before this ticket was written: ${redacted.map((r) => `${r.count} × ${r.kind}`).join(', ')}. The original is kept only in the raw message.`,
        );
      }
      if (result.ticketId && removed.length > 0) {
        await tickets.addComment(result.ticketId, {
          messageId: `av-note.${input.idempotencyKey}@mailgate.invalid`,
          author: 'mailgate',
          internal: true,
          text: removed.join('\n'),
          html: null,
          attachments: [],
        });
      }
      activityLog().info(result.ticketId ? 'ticket recorded' : 'no ticket recorded', {
        outcome: result.outcome,
        ticketId: result.ticketId,
        ...(result.reason ? { reason: result.reason } : {}),
        ...(result.quarantined.length > 0 ? { quarantined: result.quarantined.length } : {}),
      });
      if (result.outcome === 'ticket_created' && result.ticketCreated) {
        metrics.ticketCreated(input.queue, input.receivedAt && !input.waitedSeconds ? secondsSince(input.receivedAt) : Number.NaN);
      }
      return result;
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
