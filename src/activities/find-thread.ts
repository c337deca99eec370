/**
 * thread lookup, the ordered chain of EMAIL-RULES.md §3; the first rule that matches decides and is
 * recorded:
 *   1. reply-token      a signed plus-address token in the recipient (support+mg42.<sig>@)
 *   2. own-message-id   one of our signed Message-IDs in In-Reply-To or References
 *   3. message-id       any Message-ID we stored or sent: In-Reply-To, then References newest-first
 *   4. body-marker      the signed marker we put in our outbound mail, quoted back in the body
 *   5. subject-token    [MG-42] in the subject, only when the sender already takes part in ticket 42
 *   6. bounce-original  the Message-ID of the original message a bounce returns
 *   7. subject-participant  off unless the rules enable `threadBySubject`: a human reply with no
 *                       In-Reply-To or References and the normalised subject of exactly one ticket of
 *                       the queue, within the window, that the sender takes part in (./thread-by-subject.ts)
 * Every match says whether the sender takes part in the ticket (src/domain/participants.ts): a
 * Message-ID is no proof of who writes (issue 12). The subject token of a stranger is ignored, as
 * before; for the other rules the ticket step applies the stranger policy.
 */
import type { ObjectStore } from '../adapters/object-store';
import type { Helpdesk } from '../ports/helpdesk';
import type { Ledger, ThreadMatch } from '../ports/ledger';
import type { EmailDocument } from '../domain/email';
import { isAgent } from '../domain/participants';
import { findBodyMarker, verifyOwnMessageId, verifyReplyAddress } from '../domain/signed-ids';
import type { ThreadBySubjectRule } from '../domain/thread-by-subject';
import { parseTicketToken } from '../domain/ticket-token';
import type { ThreadRule } from '../domain/vocabulary';
import { rethrowAsFailure } from './failures';
import { findBySubject } from './thread-by-subject';

export type { ThreadRule } from '../domain/vocabulary';

export interface FindThreadInput {
  /**
   * The parsed document, read for the body marker and the bounced original only when the parse
   * step did not pass them (`bodyMarker` undefined: an email parsed before it did).
   */
  documentKey?: string;
  /** Ticket number of a signed body marker in the text, found by the parse step. */
  bodyMarker?: number | null;
  /** Message-ID of the original a bounce returns, found by the parse step. */
  returnedMessageId?: string | null;
  queue: string;
  recipient: string;
  sender: string | null;
  subject: string;
  /** In-Reply-To first, then References newest-first (src/domain/threading.ts). */
  candidates: string[];
  replyTokens: boolean;
  /** The sender failed a trusted DMARC check: its From proves nothing, so it takes part in nothing. */
  untrusted?: boolean;
  /** Only human mail may thread by subject; absent (a workflow from before the rule) counts as not human. */
  human?: boolean;
  /** When the ingress accepted the email (ISO-8601): the subject rule's window counts back from it. */
  receivedAt?: string;
}

/** A thread match, with the rule that found it and whether the sender takes part in the ticket. */
export type ThreadMatchFound = ThreadMatch & { rule: ThreadRule; participant?: boolean };

export interface FindThreadResult {
  match: ThreadMatchFound | null;
  /** Rules that saw a token but refused it, with the reason (recorded as evidence). */
  refused: string[];
}

export function createFindThread(deps: {
  helpdesk: Helpdesk;
  ledger: Ledger;
  store: ObjectStore;
  signingKey: string;
  agentAddresses?: readonly string[];
  /** Read at each lookup, so a rules reload applies to the next email. */
  rules?: { threadBySubject: ThreadBySubjectRule };
}) {
  const byNumber = async (number: number, rule: ThreadRule, messageId: string): Promise<FindThreadResult['match']> => {
    const ticket = await deps.helpdesk.getTicketByNumber(number);
    return ticket ? { ticketId: ticket.id, ticketNumber: ticket.number, messageId, rule } : null;
  };
  /** The From address (never the display name) is an agent or already takes part in the ticket. */
  const participates = async (input: FindThreadInput, ticketId: string): Promise<boolean> =>
    !input.untrusted && input.sender !== null && (isAgent(deps.agentAddresses ?? [], input.sender) || (await deps.ledger.isParticipant(ticketId, input.sender)));

  const threadHints = async (input: FindThreadInput): Promise<{ bodyMarker: number | null; returnedMessageId: string | null }> => {
    if (input.bodyMarker !== undefined || !input.documentKey) {
      return { bodyMarker: input.bodyMarker ?? null, returnedMessageId: input.returnedMessageId ?? null };
    }
    const document = JSON.parse((await deps.store.getBuffer(input.documentKey)).toString('utf8')) as EmailDocument;
    return { bodyMarker: findBodyMarker(deps.signingKey, document.text), returnedMessageId: document.returnedMessage?.messageId ?? null };
  };

  const lookup = async (input: FindThreadInput): Promise<FindThreadResult> => {
    const refused: string[] = [];
    if (input.replyTokens) {
      const number = verifyReplyAddress(deps.signingKey, input.recipient);
      const match = number === null ? null : await byNumber(number, 'reply-token', input.recipient);
      if (match) return { match, refused };
    }
    for (const id of input.candidates) {
      const number = verifyOwnMessageId(deps.signingKey, id);
      const match = number === null ? null : await byNumber(number, 'own-message-id', id);
      if (match) return { match, refused };
    }
    const stored = await deps.ledger.findThread(input.candidates, input.queue);
    if (stored) return { match: { ...stored, rule: 'message-id' }, refused };

    const hints = await threadHints(input);
    const marked = hints.bodyMarker;
    const markerMatch = marked === null ? null : await byNumber(marked, 'body-marker', `body-marker:MG-${marked}`);
    if (markerMatch) return { match: markerMatch, refused };

    const token = parseTicketToken(input.subject);
    if (token !== null) {
      const ticket = await deps.helpdesk.getTicketByNumber(token);
      if (ticket && (await participates(input, ticket.id))) {
        return { match: { ticketId: ticket.id, ticketNumber: ticket.number, messageId: `subject:MG-${token}`, rule: 'subject-token', participant: true }, refused };
      }
      if (ticket) refused.push(`subject-token MG-${token} ignored: ${input.sender ?? 'the sender'} does not take part in that ticket`);
    }

    const original = hints.returnedMessageId;
    if (original) {
      const number = verifyOwnMessageId(deps.signingKey, original);
      const own = number === null ? null : await byNumber(number, 'bounce-original', original);
      if (own) return { match: own, refused };
      const found = await deps.ledger.findThread([original], input.queue);
      if (found) return { match: { ...found, rule: 'bounce-original' }, refused };
    }

    const bySubject = deps.rules?.threadBySubject;
    // Header-less replies only: one naming a parent we have not seen waits for it, and must not be
    // taken by its subject in the meantime.
    if (bySubject?.enabled && input.human === true && input.sender !== null && input.candidates.length === 0) {
      const received = input.receivedAt !== undefined && !Number.isNaN(Date.parse(input.receivedAt)) ? input.receivedAt : new Date().toISOString();
      const found = await findBySubject(deps.ledger, (ticketId) => participates(input, ticketId), {
        rule: bySubject,
        subject: input.subject,
        queue: input.queue,
        at: received,
      });
      refused.push(...found.refused);
      if (found.match) return { match: { ...found.match, rule: 'subject-participant' }, refused };
    }
    return { match: null, refused };
  };

  return async function findThread(input: FindThreadInput): Promise<FindThreadResult> {
    try {
      const found = await lookup(input);
      const match = found.match;
      if (!match || match.participant !== undefined) return found;
      const participant = await participates(input, match.ticketId);
      if (!participant) {
        found.refused.push(`sender-check: ${input.sender ?? 'the sender'}${input.untrusted ? ' (failed authentication)' : ''} does not take part in ticket MG-${match.ticketNumber}`);
      }
      return { match: { ...match, participant }, refused: found.refused };
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
