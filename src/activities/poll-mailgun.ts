/**
 * The Mailgun event poller's activity: one round of stored events through the accept path
 * (src/ingress/pollers/mailgun-events.ts). The poller is looked up by name in the worker's
 * configuration, so no API key or setting travels through workflow history.
 */
import { pollMailgunEvents, type MailgunBatch } from '../ingress/pollers/mailgun-events';
import type { Ledger } from '../ports/ledger';
import type { Limits } from '../domain/limits';
import { ErrorType, TypedError } from '../domain/errors';
import { rethrowAsFailure } from './failures';
import { recordProgress, whileAlive } from './heartbeat';
import { activityLog } from './log';
import type { PollerDeps } from './poll-imap';

export interface PollMailgunInput {
  name: string;
}

/** The batch, and the poller's interval bounds (the workflow adapts its wait between them). */
export type PollMailgunResult =
  | (MailgunBatch & { minIntervalSeconds: number; maxIntervalSeconds: number; unconfigured?: false })
  | { unconfigured: true };

export function createPollMailgunActivities(deps: { pollers?: PollerDeps | undefined; ledger: Ledger; limits: Pick<Limits, 'maxMessageBytes'> }) {
  return {
    async pollMailgunEvents(input: PollMailgunInput): Promise<PollMailgunResult> {
      try {
        if (!deps.pollers) throw new TypedError(ErrorType.RemoteRejected, 'this worker runs no pollers (no accept path configured)');
        const settings = deps.pollers.settings.mailgun.find((p) => p.name === input.name);
        if (!settings) return { unconfigured: true };
        const log = activityLog();
        const batch = await whileAlive(() =>
          pollMailgunEvents(
            {
              acceptEmail: deps.pollers!.acceptEmail,
              cursors: deps.ledger,
              maxMessageBytes: deps.limits.maxMessageBytes,
              log,
              progress: (details) => recordProgress(details),
            },
            settings,
          ),
        );
        if (batch.accepted + batch.duplicates + batch.refused + batch.retryLater > 0) log.info('mailgun round done', { poller: settings.name, ...batch });
        return { ...batch, minIntervalSeconds: settings.minIntervalSeconds, maxIntervalSeconds: settings.maxIntervalSeconds };
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}
