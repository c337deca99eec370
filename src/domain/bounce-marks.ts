/**
 * Which addresses a hard bounce may mark undeliverable (issue 12, class 7). A delivery report is
 * mail anyone can write: a forged one naming a Message-ID Mailgate stored used to mark any address
 * it listed, forever. Now a report counts only for a message Mailgate itself sent (an
 * acknowledgement, found in the ledger by its Message-ID), and only for the address that message
 * went to: the one we actually mailed. Every other listed recipient is refused with a reason, and
 * the mark expires (UNDELIVERABLE_MARK_DAYS).
 */
import { mailboxOf } from './mailbox';

export interface ReturnedMessage {
  messageId: string;
  /** The address the acknowledgement was sent to, as the ledger recorded it. */
  recipient: string;
}

export interface BounceMarkDecision {
  /** The address to mark (the one we mailed), or null. */
  mark: string | null;
  /** Why each other part of the report marks nothing. */
  refused: string[];
}

/**
 * `failedRecipients` are the report's (Final-Recipient, X-Failed-Recipients, text); `returned` is the
 * acknowledgement the report returns, or null when it names none that we sent. A recipient counts
 * when its mailbox is the acknowledgement recipient's (a relay may change case or add a plus-tag).
 */
export function bounceMarks(input: { failedRecipients: readonly string[]; returned: ReturnedMessage | null }): BounceMarkDecision {
  if (!input.returned) {
    return { mark: null, refused: ['the report returns no message Mailgate sent: nothing marked undeliverable'] };
  }
  if (input.failedRecipients.length === 0) {
    return { mark: null, refused: [`the report names no failed recipient of <${input.returned.messageId}>: nothing marked undeliverable`] };
  }
  const ours = mailboxOf(input.returned.recipient);
  const refused = input.failedRecipients
    .filter((r) => mailboxOf(r) !== ours)
    .map((r) => `${r} was not the recipient of <${input.returned!.messageId}>: not marked undeliverable`);
  const matched = input.failedRecipients.length > refused.length;
  return { mark: matched ? input.returned.recipient : null, refused };
}

/** When a mark made at `at` stops suppressing acknowledgements. */
export function markExpiry(at: Date, days: number): string {
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`undeliverable mark days must be a positive integer, not ${days}`);
  return new Date(at.getTime() + days * 86_400_000).toISOString();
}
