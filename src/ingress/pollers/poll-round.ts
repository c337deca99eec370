/** What every poller's round needs and reports (IMAP in imap-poll.ts, Mailgun in mailgun-events.ts). */
import type { Logger } from '../../logger';
import type { Ledger } from '../../ports/ledger';
import type { AcceptEmail } from '../types';

export interface PollRoundDeps<Cursor extends keyof Ledger, Progress> {
  acceptEmail: AcceptEmail;
  /** The poller's cursor methods of the ledger. */
  cursors: Pick<Ledger, Cursor>;
  /** Messages larger than this are refused as too large without being downloaded whole. */
  maxMessageBytes: number;
  log: Pick<Logger, 'warn'>;
  /** Called as the cursor moves (an activity heartbeat, with the progress). */
  progress: (details: Progress) => void;
}

/** The accept path's answers in one round. */
export interface PollCounts {
  accepted: number;
  duplicates: number;
  /** Refused for good (too large, not an email, no recipient of ours): passed by the cursor. */
  refused: number;
  /** Not taken now; the cursor stops before the first of them. */
  retryLater: number;
}
