/**
 * The quarantine hold: an email the ingress held (a DMARC failure of a domain that asks receivers
 * to quarantine or reject, under SMTP_INGRESS_DMARC_ACTION=quarantine) waits at the `quarantine`
 * step before anything else runs. It is a park like any other (EmailStatus "parked", ParkedStep
 * "quarantine", ErrorType "Quarantined", the operator's notice), so the same operator tools apply:
 * `reprocess` releases it into the normal path, `discard` ends it with the operator's reason. When
 * nobody decides within the park timeout it ends as suppressed, never as a ticket: a forged sender
 * gets no ticket and no acknowledgement by default.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../domain/errors';
import { failureType, parkTimeoutWords, type Parking } from './parking';
import type { EmailState } from './types';

/** True when an operator released the email; false when the park timeout passed. Throws Discarded. */
export async function holdQuarantined(parking: Parking, state: EmailState, hold: { reason: string }, parkTimeoutSeconds: number | undefined): Promise<boolean> {
  state.evidence.push(`quarantine: ${hold.reason}`);
  let held = true;
  try {
    await parking.step(
      'quarantine',
      async () => {
        if (!held) return;
        held = false;
        throw ApplicationFailure.create({ type: ErrorType.Quarantined, message: `quarantined: ${hold.reason}`, nonRetryable: true });
      },
      { expired: `quarantined and not released within ${parkTimeoutWords(parkTimeoutSeconds)}: ${hold.reason}` },
    );
    return true;
  } catch (error) {
    if (failureType(error) === ErrorType.Quarantined) return false;
    throw error;
  }
}
