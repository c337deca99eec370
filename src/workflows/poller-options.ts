/** What the poller workflows (imap-poller.ts, mailgun-poller.ts) share: their activities' retries and their pauses after a failed round. */
import type { ActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';

/** About 8 history events a round: 500 rounds stay near 4,000 events, under half the warning mark. */
export const DEFAULT_ROUNDS_PER_RUN = 500;

/** A few quick retries inside one round; past them the round fails and the poller pauses (below). */
export const POLLER_RETRY: ActivityOptions['retry'] = {
  initialInterval: '1 second',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  maximumAttempts: 6,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
};

/** The pause after a failed round starts here and doubles up to the maximum, in seconds. */
export const FAILURE_PAUSE_SECONDS = 5;
export const MAX_FAILURE_PAUSE_SECONDS = 900;
