/**
 * Mailgate's vocabulary: the words the domain, the workflow, the ports and the adapters share. They
 * live here, in the domain, so no layer has to import an adapter to name a ticket's status or an
 * email's class.
 */

export type TicketStatus = 'open' | 'pending' | 'closed';
export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';

/**
 * An attachment's scan verdict. Only `clean` is ever linked from a ticket. `skipped`: Mailgate did
 * not send the file to the scanner (over a cap, past the per-email count, blocked by type);
 * `unscannable`: the scanner could not look at all of it (one of its limits, encryption, a format it
 * cannot parse), so it is quarantined or stripped by UNSCANNABLE_ATTACHMENTS.
 */
export type ScanStatus = 'clean' | 'infected' | 'skipped' | 'unscannable';

/** What becomes of an unscannable file: kept under quarantine/ for an operator, or deleted. */
export type UnscannablePolicy = 'quarantine' | 'strip';
export const UNSCANNABLE_POLICIES: readonly UnscannablePolicy[] = ['quarantine', 'strip'];

/** The classes of EMAIL-RULES.md §1. */
export type EmailClass = 'human' | 'auto_reply' | 'auto_generated' | 'bounce' | 'own_loop';

/** Why a Message-ID is in the thread index. */
export type ThreadEntryKind = 'inbound' | 'acknowledgement' | 'outbound';

/** The threading rules of EMAIL-RULES.md §3, in the order they are tried. */
export type ThreadRule = 'reply-token' | 'own-message-id' | 'message-id' | 'body-marker' | 'subject-token' | 'bounce-original' | 'subject-participant';

/** A queue's answer to a reply on a closed ticket. */
export type ClosedReplyPolicy = 'reopen' | 'new_linked';

/** The steps of the email workflow, as shown in `EmailStatus` while it runs. */
export type EmailStep =
  | 'received'
  | 'quarantine'
  | 'parsing'
  | 'classifying'
  | 'scanning'
  | 'storing'
  | 'threading'
  | 'ticketing'
  | 'acknowledging'
  | 'done';

/** Where an email stands or how it ended. */
export type EmailOutcome =
  | 'pending'
  | 'parked'
  | 'ticket_created'
  | 'comment_added'
  | 'note_added'
  | 'suppressed'
  | 'rejected'
  | 'discarded'
  | 'failed';

/** The outcomes the ledger records (a discarded email is recorded as rejected, with the reason). */
export type EmailOutcomeRecord = 'ticket_created' | 'comment_added' | 'note_added' | 'suppressed' | 'rejected' | 'failed';
