/**
 * imapPoller: one durable poller per configured IMAP mailbox (issue 17), id imap-poller/<name>.
 * Loop: take a batch of messages above the cursor through the accept path (pollImapMailbox); when
 * none are left, wait for new mail (waitForImapMail: IDLE, returns on new mail or after the
 * mailbox's idle time). The cursor lives in the ledger, not here, so a continued run, a restarted
 * worker or a replay resumes exactly where the mailbox was left. Deterministic: no I/O, no clock
 * but the workflow's; continues as new after a bounded number of rounds.
 *
 * A failure that outlasts an activity's retries (server down for long, a refused login) never ends
 * the poller: it is logged, the poller sleeps a backoff that grows to 15 minutes, and tries again.
 */
import { ActivityFailure, continueAsNew, log, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import { declareVersioning } from './versioning';
import type { Activities } from '../activities';
import { DEFAULT_ROUNDS_PER_RUN, FAILURE_PAUSE_SECONDS, MAX_FAILURE_PAUSE_SECONDS, POLLER_RETRY } from './poller-options';

export interface ImapPollerInput {
  /** The mailbox's configured name (its settings stay in the worker's configuration). */
  name: string;
  /** Rounds per run before continuing as new. */
  roundsPerRun?: number;
  /** Seconds to wait after the accept path answered retry-later, or after a failed round (grows). */
  backoffSeconds?: number;
}

const retry = POLLER_RETRY;

const { pollImapMailbox } = proxyActivities<Activities>({ startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry });
// The wait lasts at most the mailbox's idleSeconds (at most 29 minutes, settings.ts), heartbeating.
const { waitForImapMail } = proxyActivities<Activities>({ startToCloseTimeout: '31 minutes', heartbeatTimeout: '30 seconds', retry });

export async function imapPoller(input: ImapPollerInput): Promise<{ ended: 'unconfigured' }> {
  const roundsPerRun = input.roundsPerRun ?? DEFAULT_ROUNDS_PER_RUN;
  const baseBackoff = input.backoffSeconds ?? FAILURE_PAUSE_SECONDS;
  let backoff = baseBackoff;
  for (let round = 0; ; round += 1) {
    if (round >= roundsPerRun || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof imapPoller>(input);
    }
    try {
      const batch = await pollImapMailbox({ name: input.name });
      if (batch.unconfigured) {
        log.warn('imap poller ends: its mailbox is no longer configured', { poller: input.name });
        return { ended: 'unconfigured' };
      }
      backoff = baseBackoff;
      if (batch.retryLater > 0) {
        // The object store or the engine is down: the accept path said so; the cursor waits.
        await sleep(`${baseBackoff} seconds`);
        continue;
      }
      if (batch.more) continue;
      const waited = await waitForImapMail({ name: input.name });
      if (waited.unconfigured) return { ended: 'unconfigured' };
    } catch (error) {
      if (!(error instanceof ActivityFailure)) throw error;
      log.warn('imap poller round failed; trying again after a pause', { poller: input.name, backoffSeconds: backoff, error: error.cause?.message ?? error.message });
      await sleep(`${backoff} seconds`);
      backoff = Math.min(backoff * 2, MAX_FAILURE_PAUSE_SECONDS);
    }
  }
}

// Runs forever: pinned, it would keep its first build alive for good. It moves to the current build
// at its next task, so its changes go behind patched() like any other (the replay tests guard them).
declareVersioning('AUTO_UPGRADE', imapPoller);
