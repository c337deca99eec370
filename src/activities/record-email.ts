/**
 * The email's durable record (outlives Temporal's retention), and what a hard bounce of one of our
 * acknowledgements teaches: that address is undeliverable, so no further acknowledgement goes to it.
 */
import { redactText } from '../domain/redact';
import type { EmailRecord, Ledger } from '../ports/ledger';
import { metrics } from '../metrics';
import { redactionFor, type Rules } from '../rules';
import { rethrowAsFailure } from './failures';

export interface RecordBounceInput {
  recipients: string[];
  reason: string;
}

/** A short, stable label for the suppression counter (the full reason is on the record). */
function suppressionReason(reason: string): 'own_loop' | 'automated_unknown' | 'rate_limited' {
  if (/own loop/.test(reason)) return 'own_loop';
  if (/rate limit/.test(reason)) return 'rate_limited';
  return 'automated_unknown';
}

export function createRecordEmail(deps: { ledger: Ledger; rules: Rules }) {
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
    async recordHardBounce(input: RecordBounceInput): Promise<void> {
      try {
        for (const recipient of input.recipients) await deps.ledger.markUndeliverable(recipient, input.reason);
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}
