/**
 * retentionSweep: deletes what has outlived its retention period, kind by kind (raw messages, parsed
 * documents and parts, attachments, quarantined files), one page of a prefix per activity call, then
 * email records in bounded batches. Started by a Temporal Schedule the worker ensures at start-up.
 * Deterministic: "now" is the workflow's clock (or the input's, so a test can look a year ahead),
 * and a long run continues as new with its cursor before its history grows large.
 */
import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { OBJECT_KINDS, OBJECT_PREFIXES, type ObjectKind } from '../domain/retention';
import { withSummaries } from './activity-proxies';

export interface RetentionTotals {
  listed: number;
  deleted: number;
  kept: Record<string, number>;
  emailRecords: number;
}

export interface RetentionSweepInput {
  /** ISO instant the periods count back from; default: when this sweep started. */
  now?: string;
  /** Where a continued run resumes: a kind, one of its prefixes, and the page token. */
  cursor?: { kind: ObjectKind; prefix: string; after?: string } | { kind: 'emailRecords' };
  /** Activity calls per run before continuing as new (history stays far below its limits). */
  callsPerRun?: number;
  totals?: RetentionTotals;
}

/** About 10 events a call: 200 calls keep a run near 2,000 events, a fifth of the warning mark. */
const DEFAULT_CALLS_PER_RUN = 200;

const { sweepObjects, purgeEmailRecords } = withSummaries(
  proxyActivities<Activities>({
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
  }),
  ['sweepObjects', 'purgeEmailRecords'],
);

export async function retentionSweep(input: RetentionSweepInput = {}): Promise<RetentionTotals> {
  const now = input.now ?? new Date(workflowInfo().startTime.getTime()).toISOString();
  const callsPerRun = input.callsPerRun ?? DEFAULT_CALLS_PER_RUN;
  const totals: RetentionTotals = input.totals ?? { listed: 0, deleted: 0, kept: {}, emailRecords: 0 };
  let calls = 0;
  const again = (cursor: RetentionSweepInput['cursor']): Promise<never> =>
    continueAsNew<typeof retentionSweep>({ now, cursor, callsPerRun, totals });

  const cursor = input.cursor;
  const kinds = !cursor ? OBJECT_KINDS : cursor.kind === 'emailRecords' ? [] : OBJECT_KINDS.slice(OBJECT_KINDS.indexOf(cursor.kind));
  for (const kind of kinds) {
    const prefixes = OBJECT_PREFIXES[kind];
    const resume = cursor && cursor.kind === kind ? cursor : undefined;
    for (const prefix of prefixes.slice(Math.max(resume ? prefixes.indexOf(resume.prefix) : 0, 0))) {
      let after = resume?.prefix === prefix ? resume.after : undefined;
      do {
        if (calls >= callsPerRun) return again({ kind, prefix, after });
        calls += 1;
        const page = await sweepObjects({ kind, prefix, after, now });
        totals.listed += page.listed;
        totals.deleted += page.deleted;
        for (const [why, n] of Object.entries(page.kept)) totals.kept[why] = (totals.kept[why] ?? 0) + n;
        after = page.next ?? undefined;
      } while (after);
    }
  }
  for (;;) {
    const batch = await purgeEmailRecords({ now });
    totals.emailRecords += batch.deleted;
    if (batch.deleted < batch.batchSize) break;
    calls += 1;
    if (calls >= callsPerRun) return again({ kind: 'emailRecords' });
  }
  log.info('retention sweep finished', { now, listed: totals.listed, deleted: totals.deleted, emailRecords: totals.emailRecords });
  return totals;
}
