/**
 * The IMAP poller's activities (src/ingress/pollers/imap-poll.ts does the IMAP work): one batch of
 * messages through the accept path, and one wait for new mail. Both look the mailbox up by name in
 * the worker's configuration, so neither credentials nor settings travel through workflow history.
 */
import { Context } from '@temporalio/activity';
import { ErrorType, TypedError } from '../domain/errors';
import { pollMailbox, waitForMail, type ImapBatch, type WaitResult } from '../ingress/pollers/imap-poll';
import type { ImapPollerSettings } from '../ingress/pollers/settings';
import type { AcceptEmail } from '../ingress/types';
import type { Ledger } from '../ports/ledger';
import type { Limits } from '../domain/limits';
import type { ImapFlow } from 'imapflow';
import type { PollerSettings } from '../ingress/pollers/settings';
import { rethrowAsFailure } from './failures';
import { recordProgress, whileAlive } from './heartbeat';
import { activityLog } from './log';

/** What the pollers need beyond the ports: their settings and the one accept path. */
export interface PollerDeps {
  settings: PollerSettings;
  acceptEmail: AcceptEmail;
  /** Opens an IMAP connection; default the real one (tests may wrap it to cut connections). */
  connectImap?: (settings: ImapPollerSettings) => Promise<ImapFlow>;
}

export interface PollImapInput {
  name: string;
}

/** `unconfigured`: the mailbox is no longer in the configuration; its poller ends. */
export type PollImapResult = (ImapBatch & { unconfigured?: false }) | { unconfigured: true };
export type WaitImapResult = { result: WaitResult; unconfigured?: false } | { unconfigured: true };

function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity (unit tests)
  }
}

export function createPollImapActivities(deps: { pollers?: PollerDeps | undefined; ledger: Ledger; limits: Pick<Limits, 'maxMessageBytes'> }) {
  const settingsOf = (name: string): ImapPollerSettings | undefined => {
    if (!deps.pollers) throw new TypedError(ErrorType.RemoteRejected, 'this worker runs no pollers (no accept path configured)');
    return deps.pollers.settings.imap.find((p) => p.name === name);
  };
  const connect = deps.pollers?.connectImap;
  return {
    async pollImapMailbox(input: PollImapInput): Promise<PollImapResult> {
      try {
        const settings = settingsOf(input.name);
        if (!settings) return { unconfigured: true };
        const log = activityLog();
        // Heartbeats on a timer too: one large message's download may outlast the heartbeat timeout.
        const batch = await whileAlive(() => pollMailbox(
          {
            acceptEmail: deps.pollers!.acceptEmail,
            cursors: deps.ledger,
            maxMessageBytes: deps.limits.maxMessageBytes,
            log,
            progress: (details) => recordProgress(details),
            ...(connect ? { connect } : {}),
          },
          settings,
        ));
        if (batch.accepted + batch.duplicates + batch.refused + batch.retryLater > 0) log.info('imap batch done', { poller: settings.name, ...batch });
        return batch;
      } catch (error) {
        rethrowAsFailure(error);
      }
    },

    async waitForImapMail(input: PollImapInput): Promise<WaitImapResult> {
      try {
        const settings = settingsOf(input.name);
        if (!settings) return { unconfigured: true };
        const signal = (() => {
          try {
            return Context.current().cancellationSignal;
          } catch {
            return undefined;
          }
        })();
        const result = await waitForMail({ cursors: deps.ledger, heartbeat: () => heartbeat(), ...(signal ? { signal } : {}), ...(connect ? { connect } : {}) }, settings);
        return { result };
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}
