/**
 * The pure decisions of the email pipeline, in one place: whether an email is suppressed, what a
 * message does to its thread's ticket, whether a new ticket is acknowledged, what the ticket is told
 * about files and text that were kept back, and which one-ticket key an email opens. The workflow and
 * the ticket activity call these; neither decides on its own. No I/O, no clock, no randomness: safe
 * in workflow code and tested on their own (test/unit/decisions.test.ts).
 */
import type { AttachmentPart } from './email';
import type { StrangerReplyPolicy } from './participants';
import type { ClosedReplyPolicy, EmailClass, EmailOutcome, EmailOutcomeRecord, ScanStatus, TicketStatus } from './vocabulary';

/** An attachment as the pipeline learned it: the parsed part, its scan verdict, its stored copy. */
export interface AttachmentFacts extends AttachmentPart {
  /** Null until scanned; a part that was never scanned ends as `skipped`. */
  scan: { status: ScanStatus; detail: string | null; flags?: string[] } | null;
  /** Object key of the clean copy a ticket may link; null for anything not clean. */
  storageKey: string | null;
}

/** What the classifier said, as far as the decisions below need it. */
export interface ClassVerdict {
  emailClass: EmailClass;
  /** The sender may open tickets although its mail is automated. */
  allowlisted: boolean;
}

/** Automated mail (not human, not allowlisted) only ever adds notes to tickets it refers to. */
export function isAutomated(verdict: ClassVerdict): boolean {
  return verdict.emailClass !== 'human' && !verdict.allowlisted;
}

/** Before threading: our own mail coming back is dropped whatever it refers to. */
export function suppressBeforeThreading(verdict: ClassVerdict): string | null {
  return verdict.emailClass === 'own_loop' ? 'own loop: our own mail came back, dropped' : null;
}

/** After threading: automated mail that refers to no known ticket opens nothing. */
export function suppressAfterThreading(verdict: ClassVerdict, threaded: boolean): string | null {
  return isAutomated(verdict) && !threaded ? `${verdict.emailClass} that refers to no known ticket` : null;
}

/**
 * What a message does to the helpdesk:
 *   open          a new ticket (no thread)
 *   note          an internal note on the thread's ticket (automated mail: never reopens)
 *   comment       a public comment on the thread's open ticket
 *   reopen        a public comment on the closed ticket, which is reopened (queue policy `reopen`)
 *   open_linked   a new ticket linked to the closed one (queue policy `new_linked`), or to the
 *                 thread's ticket when a stranger wrote (STRANGER_REPLY `new-ticket`)
 *   suppress      nothing (automated mail with no thread)
 * A stranger's reply (src/domain/participants.ts) never comments publicly and never reopens: it
 * opens a linked ticket or becomes an internal note.
 */
export type TicketAction = 'open' | 'note' | 'comment' | 'reopen' | 'open_linked' | 'suppress';

export function ticketAction(input: {
  threaded: boolean;
  automated: boolean;
  /** Status of the thread's ticket, when threaded (null when it cannot be read). */
  ticketStatus: TicketStatus | null;
  /** The closed-reply policy of the ticket's queue. */
  closedReply: ClosedReplyPolicy;
  /** The sender does not take part in the thread's ticket (isStrangerReply). */
  stranger?: boolean;
  strangerReply?: StrangerReplyPolicy;
}): TicketAction {
  if (!input.threaded) return input.automated ? 'suppress' : 'open';
  if (input.automated) return 'note';
  if (input.stranger) return input.strangerReply === 'internal_note' ? 'note' : 'open_linked';
  if (input.ticketStatus !== 'closed') return 'comment';
  return input.closedReply === 'new_linked' ? 'open_linked' : 'reopen';
}

/** Why a new ticket is not acknowledged, or null when it is. Only human mail that opened the ticket is. */
export function acknowledgementRefusal(input: {
  emailClass: EmailClass;
  requester: string | null;
  /** This email opened the ticket (not a second queue of a shared ticket). */
  ticketCreated: boolean;
  /** An operator asked for no acknowledgement on reprocess. */
  skipAck: boolean;
  /** Who asked, when known. */
  skippedBy?: string;
  /** Human by the tiers but reads like a challenge or another helpdesk's acknowledgement (Classification.suspectedAutomated). */
  suspectedAutomated?: boolean;
}): string | null {
  if (input.emailClass !== 'human') return `not acknowledged: only human mail is (class ${input.emailClass})`;
  // Answering a robot's acknowledgement with ours is how a loop starts; a person misread here keeps the ticket.
  if (input.suspectedAutomated) return 'not acknowledged: it reads like a challenge or another helpdesk\'s acknowledgement (suspect evidence); the ticket is open';
  if (!input.requester) return 'not acknowledged: the email has no sender address';
  if (!input.ticketCreated) return 'not acknowledged: the ticket was opened through another queue';
  if (input.skipAck) return input.skippedBy ? `not acknowledged: skipped on reprocess by ${input.skippedBy}` : 'not acknowledged: skipped on reprocess';
  return null;
}

/**
 * Why forceNewTicket cannot apply, or null when it can: once an email opened a ticket of its own
 * there is no thread to leave, and a second ticket for one email would double it. (A reply that
 * commented on a thread's ticket may still be forced: that opens its one forced ticket.)
 */
export function forceNewTicketRefusal(input: { ownTicket: { id: string; number: number | null } | null }): string | null {
  if (!input.ownTicket) return null;
  const name = input.ownTicket.number === null ? input.ownTicket.id : `MG-${input.ownTicket.number} (${input.ownTicket.id})`;
  return `the email already opened ticket ${name} of its own: force-new-ticket would double it; it applies only to an email that threaded onto another ticket or has no ticket yet`;
}

/**
 * What an operator's discard of a parked email means. Before the email has a ticket it ends
 * `discarded` (recorded as rejected). Once it opened one (parked at acknowledging) the ticket is
 * live and stays: only the acknowledgement is given up, and the email stays ticket_created.
 */
export function discardEnding(input: {
  step: string;
  by: string;
  reason: string;
  /** The email opened its ticket before it parked. */
  ticketCreated: boolean;
  /** The acknowledgement already went out (only its ledger mark was pending). */
  acknowledgementSent: boolean;
}): { outcome: 'discarded' | 'ticket_created'; reason: string } {
  if (!input.ticketCreated) return { outcome: 'discarded', reason: `discarded by ${input.by} while parked at ${input.step}: ${input.reason}` };
  if (input.acknowledgementSent) {
    return { outcome: 'ticket_created', reason: `acknowledgement sent, its ledger mark discarded by ${input.by}: ${input.reason}` };
  }
  return { outcome: 'ticket_created', reason: `acknowledgement discarded by ${input.by}: ${input.reason}` };
}

/** The outcome the email's durable record keeps (a discarded email is recorded as rejected). */
export function recordedOutcome(outcome: EmailOutcome): EmailOutcomeRecord {
  if (outcome === 'pending' || outcome === 'parked') return 'failed';
  if (outcome === 'discarded') return 'rejected';
  return outcome;
}

/** The scan status an attachment ends with: a part never scanned is `skipped`. */
export function scanStatusOf(attachment: AttachmentFacts): ScanStatus {
  return attachment.scan?.status ?? 'skipped';
}

/** A ticket links only a clean file with a stored copy. */
export function linkableKey(attachment: AttachmentFacts): string | null {
  return scanStatusOf(attachment) === 'clean' ? attachment.storageKey : null;
}

/**
 * The internal note a ticket gets about what was kept back: quarantined files, files the scanner
 * could not read whole, files removed by a cap or the type policy, and redacted text. Empty when nothing was.
 */
export function keptBackNote(attachments: AttachmentFacts[], redactions: { kind: string; count: number }[]): string[] {
  const lines = attachments
    .filter((a) => linkableKey(a) === null)
    .map((a) => {
      const status = scanStatusOf(a);
      if (status === 'infected') return `Attachment "${a.filename}" was quarantined: the virus scanner found ${a.scan?.detail ?? 'a threat'}. It is not linked.`;
      if (status === 'unscannable') return `Attachment "${a.filename}" could not be scanned completely: ${a.scan?.detail ?? 'the scanner stopped early'}. It is not linked.`;
      return `Attachment "${a.filename}" was removed: ${a.scan?.detail ?? 'not scanned'}.`;
    });
  const redacted = redactions.filter((r) => r.count > 0);
  if (redacted.length > 0) {
    lines.push(
      `Redacted before this ticket was written: ${redacted.map((r) => `${r.count} × ${r.kind}`).join(', ')}. The original is kept only in the raw message.`,
    );
  }
  return lines;
}

/**
 * The note line for text a limit cut from the ticket (issue 12, class 9: every limit leaves a
 * trace); null when nothing was cut. The stored email document keeps the whole text.
 */
export function textCutNote(textChars: number, maxTextChars: number): string | null {
  if (textChars <= maxTextChars) return null;
  return `The message text was cut to the first ${maxTextChars} of its ${textChars} characters (text limit); the whole text is kept in the stored email.`;
}

/**
 * With `one_ticket`, every queue an email reached shares one ticket, keyed by the Message-ID alone:
 * this returns the seed its origin key is hashed from. Null when each email-and-queue has a ticket of
 * its own (the policy is `ticket_per_queue`, or the Message-ID is synthetic), keyed by the email's
 * idempotency key.
 */
export function oneTicketSeed(input: { multipleQueues: 'ticket_per_queue' | 'one_ticket'; messageId: string; hasMessageId: boolean }): string | null {
  return input.multipleQueues === 'one_ticket' && input.hasMessageId ? `one-ticket|${input.messageId}` : null;
}
