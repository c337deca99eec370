/**
 * acknowledge: one email to the requester of a new ticket, marked per EMAIL-RULES.md §2 (RFC 3834
 * Auto-Submitted, X-Auto-Response-Suppress, our loop header, a signed Message-ID, a signed body
 * marker and reply address). Its Message-ID is in the thread index before the send, so a reply
 * threads even if it arrives at once. Never sent to an address that hard-bounced, to our own
 * addresses, to no-reply or list addresses, or past the per-recipient or per-domain rate limit: each
 * of those is a recorded reason, not a silent drop. The rate limits count the recipient's mailbox
 * (mailboxOf: `ann+1@` and `Ann@` share one budget); the mail goes to the address as written.
 * The ledger reserves the acknowledgement per workflow; a retry after a successful send is a no-op.
 * Once the SMTP server has taken the message, this activity does not fail: when the store cannot be
 * updated it answers `recorded: false` and the workflow marks it sent in a step of its own, which
 * retries (and parks) without ever sending again. The send is also recorded with Temporal (activity
 * progress) at once, so a worker that dies before answering leaves its retry the same knowledge.
 * (Only a worker killed between the SMTP "250" and that record can repeat the send; the repeat
 * carries the same Message-ID, which mail clients collapse.)
 * The wording is the queue's templates from the rules (src/domain/ack-template.ts), read at each
 * send, so a reloaded rules file changes the next acknowledgement.
 */
import type { Mailer } from '../adapters/mailer';
import type { Ledger } from '../ports/ledger';
import { domainOf, isAddress } from '../domain/addresses';
import { mailboxDomainOf, mailboxOf } from '../domain/mailbox';
import { bracket } from '../domain/message-id';
import { oneLine, renderAcknowledgement } from '../domain/ack-template';
import { DEFAULT_REDACTION_POLICY, redactText } from '../domain/redact';
import { acknowledgementMessageId, bodyMarker, replyAddress } from '../domain/signed-ids';
import { ticketToken } from '../domain/ticket-token';
import { acknowledgementFor, type RateLimit, type Rules } from '../rules';
import { rethrowAsFailure } from './failures';
import { earlierProgress, recordProgress } from './heartbeat';
import { activityLog } from './log';

export interface SendAcknowledgementInput {
  workflowId: string;
  ticketId: string;
  ticketNumber: number;
  queue: string;
  to: string;
  subject: string;
  originalMessageId: string;
  references: string[];
  /** The sender failed DMARC or SPF: its From may be forged. */
  untrusted?: boolean;
  /** The From header's display name; absent in runs recorded before it was passed. */
  requesterName?: string;
}

export interface SendAcknowledgementResult {
  messageId: string;
  sent: boolean;
  /** false: sent, but the store could not be told; the workflow marks it sent afterwards. */
  recorded?: boolean;
  reason: string;
}

/** RFC 3834 §5: automatic responses say so, and ask Exchange not to answer them in turn. */
export const AUTO_REPLY_HEADERS = Object.freeze({
  'Auto-Submitted': 'auto-replied',
  'X-Auto-Response-Suppress': 'All',
});

export const LOOP_HEADER = 'X-Mailgate-Loop';

/** Local parts that never read replies (EMAIL-RULES.md §1, sender tier). */
const NO_REPLY = /^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?|abuse|root|notifications?)([+.-]|$)/i;

/**
 * What the templates may echo: every redaction kind, whatever the queue's policy. The parse step
 * already redacted the subject; this holds for runs whose summary predates that (issue 12, class 4:
 * a card number in the subject was mailed back), and the acknowledgement goes to an address anyone
 * can forge, so it never echoes a card, IBAN, SSN or key.
 */
function echoed(text: string): string {
  return redactText(text, DEFAULT_REDACTION_POLICY).text;
}

function displayName(from: string): string {
  const match = /^\s*"?([^"<]*?)"?\s*</.exec(from);
  return oneLine(match?.[1] ?? '').replace(/["\\]/g, '') || 'Support';
}

/** Records this workflow's event under `key` and answers whether the key is still within `limit`. */
async function withinLimit(ledger: Ledger, key: string, eventId: string, limit: RateLimit): Promise<boolean> {
  const now = Date.now();
  const count = await ledger.countRateEvent({
    key,
    eventId,
    at: new Date(now).toISOString(),
    windowStart: new Date(now - limit.windowSeconds * 1000).toISOString(),
  });
  return count <= limit.limit;
}

/** After the send: true when the store now says sent; false (logged) when it could not be told. */
async function markSent(ledger: Ledger, workflowId: string): Promise<boolean> {
  try {
    await ledger.markAcknowledgementSent(workflowId);
    return true;
  } catch (error) {
    activityLog().warn('acknowledgement sent but not recorded; the workflow records it next', { error });
    return false;
  }
}

/** The workflow's step after a send the store did not hear of: retried, parked, never a resend. */
export function createMarkAcknowledgementSent(deps: { ledger: Ledger }) {
  return async function markAcknowledgementSent(workflowId: string): Promise<void> {
    try {
      await deps.ledger.markAcknowledgementSent(workflowId);
    } catch (error) {
      rethrowAsFailure(error);
    }
  };
}

export function createSendAcknowledgement(deps: {
  mailer: Mailer;
  ledger: Ledger;
  ackFrom: string;
  rules: Rules;
  signingKey: string;
  inboundDomains: string[];
}) {
  return async function sendAcknowledgement(input: SendAcknowledgementInput): Promise<SendAcknowledgementResult> {
    // Read per send: a rules reload (SIGHUP) applies to the next acknowledgement.
    const { acknowledgementsPerRecipient: perRecipient, acknowledgementsPerDomain: perDomain } = deps.rules.rateLimits;
    const messageId = acknowledgementMessageId(deps.signingKey, {
      workflowId: input.workflowId,
      ticketNumber: input.ticketNumber,
      domain: domainOf(input.queue) || 'mailgate.invalid',
    });
    const skip = (reason: string): SendAcknowledgementResult => {
      activityLog().info('acknowledgement suppressed', { reason });
      return { messageId, sent: false, reason };
    };
    try {
      if (earlierProgress<{ sent: boolean }>()?.sent) return { messageId, sent: true, reason: 'sent', recorded: await markSent(deps.ledger, input.workflowId) };
      const to = input.to.toLowerCase();
      if (!isAddress(to)) return skip(`not acknowledged: the sender address ${JSON.stringify(to.slice(0, 100))} is not a valid address`);
      if (deps.inboundDomains.includes(domainOf(to))) return skip(`not acknowledged: ${to} is one of our own addresses`);
      if (NO_REPLY.test(to.slice(0, to.lastIndexOf('@')))) return skip(`not acknowledged: ${to} is a no-reply or system address`);
      if (input.untrusted && !deps.rules.acknowledgeUntrusted) {
        return skip(`not acknowledged: the sender failed authentication (DMARC/SPF), so ${to} may be forged`);
      }
      const undeliverable = await deps.ledger.isUndeliverable(to, new Date().toISOString());
      if (undeliverable) {
        return skip(`not acknowledged: ${to} is undeliverable since ${undeliverable.since} until ${undeliverable.expires} (${undeliverable.reason})`);
      }
      const reservation = await deps.ledger.reserveAcknowledgement({ workflowId: input.workflowId, ticketId: input.ticketId, messageId, recipient: to });
      if (reservation.state === 'sent') return { messageId: reservation.messageId, sent: false, reason: 'already sent' };
      // The mailbox first: an acknowledgement it refuses does not spend the domain's budget.
      const mailbox = mailboxOf(to);
      if (!(await withinLimit(deps.ledger, `ack:${mailbox}`, input.workflowId, perRecipient))) {
        const spelled = mailbox === to ? to : `${to} (mailbox ${mailbox})`;
        return skip(`not acknowledged: per-recipient rate limit of ${perRecipient.limit} acknowledgements per ${perRecipient.windowSeconds} s to ${spelled} reached`);
      }
      const domain = mailboxDomainOf(to);
      if (!(await withinLimit(deps.ledger, `ack-domain:${domain}`, input.workflowId, perDomain))) {
        return skip(`not acknowledged: per-domain rate limit of ${perDomain.limit} acknowledgements per ${perDomain.windowSeconds} s to the domain ${domain} reached`);
      }
      await deps.ledger.indexMessageId({ messageId, ticketId: input.ticketId, queue: input.queue, kind: 'acknowledgement' });
      const token = ticketToken(input.ticketNumber);
      const replyTo = deps.rules.replyTokens ? replyAddress(deps.signingKey, input.queue, input.ticketNumber) : input.queue;
      const templates = acknowledgementFor(deps.rules, input.queue);
      const rendered = renderAcknowledgement(
        templates,
        {
          ticketNumber: String(input.ticketNumber),
          ticketToken: token,
          subject: echoed(input.subject) || '(no subject)',
          requesterName: echoed(oneLine(input.requesterName ?? '')).slice(0, 200) || to,
          queue: input.queue,
        },
        bodyMarker(deps.signingKey, input.ticketNumber),
      );
      await deps.mailer.send({
        from: `"${displayName(deps.ackFrom)}" <${input.queue}>`,
        to,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        messageId: bracket(messageId),
        inReplyTo: bracket(input.originalMessageId),
        references: [...input.references, input.originalMessageId].slice(-20).map(bracket),
        headers: { ...AUTO_REPLY_HEADERS, [LOOP_HEADER]: deps.rules.instanceId, 'Reply-To': replyTo, 'Content-Language': templates.language },
      });
      recordProgress({ sent: true });
      const recorded = await markSent(deps.ledger, input.workflowId);
      activityLog().info('acknowledgement sent', { ticketId: input.ticketId, messageId, recorded });
      return { messageId, sent: true, reason: 'sent', recorded };
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
