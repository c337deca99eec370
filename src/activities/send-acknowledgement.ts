/**
 * acknowledge: one email to the requester of a new ticket. Its Message-ID derives from the workflow
 * id and is in the thread index before the send, so a reply threads even if it arrives at once.
 * The store reserves the acknowledgement per workflow; a retry after a successful send is a no-op.
 * (A crash between the SMTP "250" and the store update can repeat the send; the repeat carries the
 * same Message-ID, which mail clients collapse.)
 */
import type { Mailer } from '../adapters/mailer';
import type { TicketStore } from '../adapters/ticket-store/types';
import { bracket } from '../domain/message-id';
import { ticketToken } from '../domain/ticket-token';
import { rethrowAsFailure } from './failures';

export interface SendAcknowledgementInput {
  workflowId: string;
  ticketId: string;
  ticketNumber: number;
  queue: string;
  to: string;
  subject: string;
  originalMessageId: string;
  references: string[];
}

export interface SendAcknowledgementResult {
  messageId: string;
  sent: boolean;
  reason: string;
}

/** RFC 3834 §5: automatic responses say so, and ask Exchange not to answer them in turn. */
export const AUTO_REPLY_HEADERS = Object.freeze({
  'Auto-Submitted': 'auto-replied',
  'X-Auto-Response-Suppress': 'All',
});

export function acknowledgementMessageId(workflowId: string, queue: string): string {
  const key = workflowId.replace(/^inbound-email\//, '').replace(/[^A-Za-z0-9.-]/g, '-');
  const domain = queue.slice(queue.lastIndexOf('@') + 1) || 'mailgate.invalid';
  return `ack.${key}@${domain}`;
}

function displayName(from: string): string {
  const match = /^\s*"?([^"<]*?)"?\s*</.exec(from);
  return match?.[1]?.trim() || 'Support';
}

export function createSendAcknowledgement(deps: { mailer: Mailer; tickets: TicketStore; ackFrom: string }) {
  return async function sendAcknowledgement(input: SendAcknowledgementInput): Promise<SendAcknowledgementResult> {
    const messageId = acknowledgementMessageId(input.workflowId, input.queue);
    try {
      const reservation = await deps.tickets.reserveAcknowledgement({
        workflowId: input.workflowId,
        ticketId: input.ticketId,
        messageId,
        recipient: input.to,
      });
      if (reservation.state === 'sent') return { messageId: reservation.messageId, sent: false, reason: 'already sent' };
      await deps.tickets.indexMessageId({ messageId, ticketId: input.ticketId, queue: input.queue, kind: 'acknowledgement' });
      const token = ticketToken(input.ticketNumber);
      await deps.mailer.send({
        from: `"${displayName(deps.ackFrom).replace(/"/g, '')}" <${input.queue}>`,
        to: input.to,
        subject: `${token} ${input.subject || '(no subject)'}`.slice(0, 998),
        text:
          `We received your message and opened ticket ${token.slice(1, -1)}.\n\n` +
          `Reply to this email to add to the ticket; keep ${token} in the subject.\n`,
        messageId: bracket(messageId),
        inReplyTo: bracket(input.originalMessageId),
        references: [...input.references, input.originalMessageId].slice(-20).map(bracket),
        headers: { ...AUTO_REPLY_HEADERS },
      });
      await deps.tickets.markAcknowledgementSent(input.workflowId);
      return { messageId, sent: true, reason: 'sent' };
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
