/**
 * sendAgentReply: an agent's answer from the web view, recorded as a public comment on the ticket
 * and mailed to the requester so that the customer's answer threads back exactly like an answer to
 * the acknowledgement (src/domain/signed-ids.ts): a signed Message-ID (in the thread index before
 * the send), the ticket token in the subject, the signed reply address and the body marker.
 *
 * Idempotent: the workflow id names the reply (the form's nonce), the Message-ID comes from it, the
 * comment is keyed by that Message-ID, the send is reserved in the ledger per workflow id (as the
 * acknowledgement's is) and marked sent after it, and a retry after the SMTP server took the message
 * finds the send in its activity progress and does not send again. Not an automatic response: a person wrote
 * it, so no RFC 3834 Auto-Submitted header; our loop header stays, so it is recognised if it loops.
 */
import type { Mailer } from '../adapters/mailer';
import { domainOf } from '../domain/addresses';
import { bracket } from '../domain/message-id';
import { oneLine } from '../domain/ack-template';
import { bodyMarker, acknowledgementMessageId, replyAddress } from '../domain/signed-ids';
import { parseTicketToken, ticketToken } from '../domain/ticket-token';
import type { Helpdesk } from '../ports/helpdesk';
import type { Ledger } from '../ports/ledger';
import type { Rules } from '../rules';
import { rethrowAsFailure } from './failures';
import { earlierProgress, recordProgress } from './heartbeat';
import { activityLog } from './log';
import { LOOP_HEADER, type SendAcknowledgementInput } from './send-acknowledgement';

/** The acknowledgement's addressing (workflowId names the reply: its Message-ID comes from it), and the reply. */
export interface SendAgentReplyInput extends Pick<SendAcknowledgementInput, 'workflowId' | 'ticketId' | 'ticketNumber' | 'queue' | 'to' | 'subject'> {
  text: string;
  /** The signed-in agent's name, shown as the comment's author and in the From display name. */
  agent: string;
  /** The latest message of the conversation (normalized, no brackets), if any. */
  inReplyTo: string | null;
  references: string[];
}

export interface SendAgentReplyResult {
  messageId: string;
  commentId: string;
  sent: boolean;
}

/** "Re: <subject> [MG-42]": the token once, whatever the subject already carried. */
export function replySubject(subject: string, ticketNumber: number): string {
  const base = oneLine(subject).slice(0, 200) || '(no subject)';
  const withRe = /^re:/i.test(base) ? base : `Re: ${base}`;
  return parseTicketToken(withRe) === ticketNumber ? withRe : `${withRe} ${ticketToken(ticketNumber)}`;
}

export function createSendAgentReply(deps: { mailer: Mailer; helpdesk: Helpdesk; ledger: Ledger; rules: Rules; signingKey: string }) {
  return async function sendAgentReply(input: SendAgentReplyInput): Promise<SendAgentReplyResult> {
    const messageId = acknowledgementMessageId(deps.signingKey, {
      workflowId: input.workflowId,
      ticketNumber: input.ticketNumber,
      domain: domainOf(input.queue) || 'mailgate.invalid',
    });
    try {
      // Indexed before the send: an answer that arrives at once still threads.
      await deps.ledger.indexMessageId({ messageId, ticketId: input.ticketId, queue: input.queue, kind: 'outbound' });
      const { comment } = await deps.helpdesk.addComment(input.ticketId, {
        messageId,
        author: `${oneLine(input.agent)} (agent)`,
        text: input.text,
        html: null,
        internal: false,
        attachments: [],
      });
      // The ledger's send reservation, as for acknowledgements: a reply already out is never sent
      // again, even by a run started after Temporal forgot this one (and a bounce of it is recognised).
      const reservation = await deps.ledger.reserveAcknowledgement({ workflowId: input.workflowId, ticketId: input.ticketId, messageId, recipient: input.to.toLowerCase() });
      if (reservation.state === 'sent') return { messageId, commentId: comment.id, sent: true };
      if (earlierProgress<{ sent: boolean }>()?.sent) {
        await deps.ledger.markAcknowledgementSent(input.workflowId);
        return { messageId, commentId: comment.id, sent: true };
      }
      const replyTo = deps.rules.replyTokens ? replyAddress(deps.signingKey, input.queue, input.ticketNumber) : input.queue;
      const name = oneLine(input.agent).replace(/["\\]/g, '') || 'Support';
      await deps.mailer.send({
        from: `"${name}" <${input.queue}>`,
        to: input.to,
        subject: replySubject(input.subject, input.ticketNumber),
        text: `${input.text}\n\n${bodyMarker(deps.signingKey, input.ticketNumber)}\n`,
        messageId: bracket(messageId),
        ...(input.inReplyTo ? { inReplyTo: bracket(input.inReplyTo) } : {}),
        references: input.references.slice(-20).map(bracket),
        headers: { [LOOP_HEADER]: deps.rules.instanceId, 'Reply-To': replyTo },
      });
      recordProgress({ sent: true });
      await deps.ledger.markAcknowledgementSent(input.workflowId);
      activityLog().info('agent reply sent', { ticketId: input.ticketId, messageId });
      return { messageId, commentId: comment.id, sent: true };
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
