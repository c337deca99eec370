/**
 * Who may write to a ticket (issue 12, class 6). Knowing a customer's Message-ID is not proof of
 * being in the conversation: a Cc recipient, a forwarded copy or a list archive hands it to anyone.
 * So every thread rule that is not a signed token (our own Message-ID, the reply token) asks whether
 * the sender takes part in the ticket: its requester, a party of a message accepted onto it, an
 * acknowledgement's recipient, or an agent. A stranger gets a new ticket linked to the old one, or an
 * internal note (STRANGER_REPLY), and never reopens a ticket, whatever rule matched.
 *
 * The sender is the From address only: a display name proves nothing ("Ann Customer" <x@evil>), and
 * a From that failed a trusted DMARC check (priority.untrusted) is treated as a stranger's.
 */
import { mailboxDomainOf, mailboxOf } from './mailbox';
import type { ThreadRule, TicketStatus } from './vocabulary';

export type StrangerReplyPolicy = 'new_ticket' | 'internal_note';

/**
 * Rules whose token is signed AND reaches only the requester (the acknowledgement's Message-ID and
 * its Reply-To). The body marker is signed too, but it is quoted text: every reply and forward carries
 * it, so it proves the ticket, not the writer, and it is checked like a stored Message-ID.
 */
const SIGNED_RULES: readonly ThreadRule[] = ['reply-token', 'own-message-id'];

export function isSignedRule(rule: ThreadRule): boolean {
  return SIGNED_RULES.includes(rule);
}

/**
 * An agent by configuration: an entry is an address (`ann@example.com`, compared by mailbox) or a
 * whole domain (`@example.com`).
 */
export function isAgent(agents: readonly string[], address: string): boolean {
  const mailbox = mailboxOf(address);
  const domain = mailboxDomainOf(address);
  return agents.some((entry) => (entry.startsWith('@') ? domain !== '' && mailboxOf(`x${entry}`).slice(2) === domain : mailboxOf(entry) === mailbox));
}

/**
 * Whether a human reply that threaded onto a ticket is a stranger's, to be handled by the stranger
 * policy instead of commenting (and perhaps reopening). `participant` undefined: a match looked up
 * before senders were checked (a workflow running across the upgrade) keeps the old behaviour.
 */
export function isStrangerReply(input: { rule: ThreadRule | undefined; participant: boolean | undefined; ticketStatus: TicketStatus | null }): boolean {
  if (input.participant !== false) return false;
  // A signed token comments on an open ticket, but a stranger never reopens a closed one.
  if (input.rule !== undefined && isSignedRule(input.rule)) return input.ticketStatus === 'closed';
  return true;
}
