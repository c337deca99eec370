/**
 * The email's durable record (outlives Temporal's retention), and what a hard bounce of one of our
 * acknowledgements teaches: that address is undeliverable, so no further acknowledgement goes to it.
 */
import type { EmailRecord, TicketStore } from '../adapters/ticket-store/types';
import { rethrowAsFailure } from './failures';

export interface RecordBounceInput {
  recipients: string[];
  reason: string;
}

export function createRecordEmail(deps: { tickets: TicketStore }) {
  return {
    async recordEmail(record: EmailRecord): Promise<void> {
      try {
        await deps.tickets.recordEmail(record);
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
    async recordHardBounce(input: RecordBounceInput): Promise<void> {
      try {
        for (const recipient of input.recipients) await deps.tickets.markUndeliverable(recipient, input.reason);
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}
