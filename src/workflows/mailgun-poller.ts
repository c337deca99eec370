/**
 * mailgunPoller: one durable poller per configured Mailgun domain (issue 17), id
 * mailgun-poller/<name>. Each round takes the settled stored events after the since-cursor through
 * the accept path (pollMailgunEvents); the wait between rounds adapts (src/domain/poll-interval.ts):
 * none while a backlog remains, the minimum after a round with mail, doubling while rounds come back
 * empty or while the accept path answers retry-later. The cursor lives in the ledger; the workflow
 * continues as new after a bounded number of rounds.
 */
import { ActivityFailure, continueAsNew, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { declareVersioning } from './versioning';
import type { Activities } from '../activities';
import { nextInterval } from '../domain/poll-interval';
import { DEFAULT_ROUNDS_PER_RUN, FAILURE_PAUSE_SECONDS, MAX_FAILURE_PAUSE_SECONDS, POLLER_RETRY } from './poller-options';

export interface MailgunPollerInput {
  name: string;
  roundsPerRun?: number;
  /** The wait carried over a continue-as-new, in seconds. */
  intervalSeconds?: number;
}

const { pollMailgunEvents } = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry: POLLER_RETRY });

export async function mailgunPoller(input: MailgunPollerInput): Promise<{ ended: 'unconfigured' }> {
  const roundsPerRun = input.roundsPerRun ?? DEFAULT_ROUNDS_PER_RUN;
  let interval = input.intervalSeconds ?? 0;
  let failureBackoff = FAILURE_PAUSE_SECONDS;
  for (let round = 0; ; round += 1) {
    if (round >= roundsPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof mailgunPoller>({ ...input, intervalSeconds: interval });
    }
    try {
      const batch = await pollMailgunEvents({ name: input.name });
      if (batch.unconfigured) {
        log.warn('mailgun poller ends: it is no longer configured', { poller: input.name });
        return { ended: 'unconfigured' };
      }
      failureBackoff = FAILURE_PAUSE_SECONDS;
      interval = nextInterval(interval, batch, batch);
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      log.warn('mailgun poller round failed; trying again after a pause', { poller: input.name, backoffSeconds: failureBackoff, error: error.cause?.message ?? error.message });
      interval = failureBackoff;
      failureBackoff = Math.min(failureBackoff * 2, MAX_FAILURE_PAUSE_SECONDS);
    }
    if (interval > 0) await sleep(`${interval} seconds`);
  }
}

// Runs forever: pinned, it would keep its first build alive for good. It moves to the current build
// at its next task, so its changes go behind patched() like any other (the replay tests guard them).
declareVersioning('AUTO_UPGRADE', mailgunPoller);
