/**
 * The email's durable record (outlives Temporal's retention), and what a hard bounce of one of our
 * acknowledgements teaches: that address is undeliverable, so no further acknowledgement goes to it
 * until the mark expires. Only the address the acknowledgement was sent to is ever marked, and only
 * when the report returns an acknowledgement the ledger knows we sent (src/domain/bounce-marks.ts).
 */
import { bounceMarks, markExpiry, type ReturnedMessage } from '../domain/bounce-marks';
import { redactText } from '../domain/redact';
import type { EmailRecord, Ledger } from '../ports/ledger';
import { metrics } from '../metrics';
import { redactionFor, type Rules } from '../rules';
import { rethrowAsFailure } from './failures';

export interface RecordBounceInput {
  /** Failed recipients the report lists (Final-Recipient, X-Failed-Recipients, its text). */
  recipients: string[];
  reason: string;
  /** Message-ID of the returned original (message/rfc822 or text/rfc822-headers part). */
  returnedMessageId?: string | null;
  /** The report's own In-Reply-To and References, newest first: another way it names the original. */
  candidates?: string[];
}

export interface RecordBounceResult {
  marked: string[];
  refused: string[];
}

/** Runs started before the ids were passed named the returned message in the reason only. */
function returnedIds(input: RecordBounceInput): string[] {
  const fromReason = /of <([^<>]+)>$/.exec(input.reason)?.[1];
  const ids = [input.returnedMessageId ?? (input.candidates === undefined ? fromReason : undefined), ...(input.candidates ?? [])];
  return [...new Set(ids.filter((id): id is string => typeof id === 'string' && id.length > 0))];
}

/** UNDELIVERABLE_MARK_DAYS' default: a mailbox that bounced is retried after a month. */
export const DEFAULT_UNDELIVERABLE_MARK_DAYS = 30;

/** A short, stable label for the suppression counter (the full reason is on the record). */
function suppressionReason(reason: string): 'own_loop' | 'automated_unknown' | 'rate_limited' {
  if (/own loop/.test(reason)) return 'own_loop';
  if (/rate limit/.test(reason)) return 'rate_limited';
  return 'automated_unknown';
}

export function createRecordEmail(deps: { ledger: Ledger; undeliverableMarkDays?: number; rules: Rules }) {
  /** The first of `ids` that is an acknowledgement the ledger says went out. */
  const sentAcknowledgement = async (ids: string[]): Promise<ReturnedMessage | null> => {
    for (const messageId of ids) {
      const found = await deps.ledger.findAcknowledgement(messageId);
      if (found?.state === 'sent') return { messageId, recipient: found.recipient };
    }
    return null;
  };
  return {
    async recordEmail(record: EmailRecord): Promise<void> {
      try {
        // The parse step redacted the subject; a run whose summary predates that is redacted here.
        await deps.ledger.recordEmail({ ...record, subject: redactText(record.subject, { kinds: redactionFor(deps.rules, record.queue) }).text });
        metrics.emailOutcome(record.outcome, record.emailClass);
        if (record.outcome === 'suppressed') metrics.suppressed(suppressionReason(record.reason ?? ''));
        if (record.outcome === 'failed') metrics.ticketFailed(record.queue, 'ticketing');
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
    async recordHardBounce(input: RecordBounceInput): Promise<RecordBounceResult> {
      try {
        const decision = bounceMarks({ failedRecipients: input.recipients, returned: await sentAcknowledgement(returnedIds(input)) });
        if (decision.mark === null) return { marked: [], refused: decision.refused };
        const at = new Date();
        await deps.ledger.markUndeliverable({
          address: decision.mark,
          reason: input.reason,
          at: at.toISOString(),
          expires: markExpiry(at, deps.undeliverableMarkDays ?? DEFAULT_UNDELIVERABLE_MARK_DAYS),
        });
        return { marked: [decision.mark], refused: decision.refused };
      } catch (error) {
        return rethrowAsFailure(error);
      }
    },
  };
}
