/**
 * The retention sweep's activities: one page of one prefix listed, decided and deleted per call
 * (bounded, heartbeating), and email records purged in bounded batches. The decision is the
 * domain's (src/domain/retention.ts); what it needs to know beyond the object (emails in flight,
 * newer emails and tickets sharing content-addressed bytes) is gathered here.
 */
import type { ObjectStore } from '../adapters/object-store';
import { classifyKey, cutoffOf, objectVerdict, type ObjectKind, type RetentionPolicy } from '../domain/retention';
import type { RetentionStore } from '../ports/retention';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';
import { activityLog } from './log';

/** Raw sha256s of emails whose workflow has not finished (running or parked). */
export interface InFlightEmails {
  rawSha256(): Promise<Set<string>>;
}

export interface RetentionDeps {
  store: ObjectStore;
  retention: RetentionStore;
  inFlight: InFlightEmails;
  retentionPolicy: RetentionPolicy;
  retentionBatchSize: number;
}

export interface SweepObjectsInput {
  kind: ObjectKind;
  prefix: string;
  /** Continuation token from the previous call; undefined starts the prefix. */
  after?: string;
  /** ISO instant the periods count back from (the workflow's start, or a test's injected time). */
  now: string;
}

export interface SweepObjectsResult {
  listed: number;
  deleted: number;
  /** Why objects were kept, counted (young, in-flight, recently-used, ...). */
  kept: Record<string, number>;
  next: string | null;
}

export interface PurgeEmailRecordsInput {
  now: string;
}

export function createRetentionActivities(deps: RetentionDeps) {
  return {
    async sweepObjects(input: SweepObjectsInput): Promise<SweepObjectsResult> {
      try {
        return await whileAlive(() => sweep(deps, input));
      } catch (error) {
        rethrowAsFailure(error);
      }
    },

    /** One bounded batch; the workflow calls again while a full batch came back. */
    async purgeEmailRecords(input: PurgeEmailRecordsInput): Promise<{ deleted: number; batchSize: number }> {
      try {
        const cutoff = cutoffOf(deps.retentionPolicy.emailRecords, new Date(input.now));
        if (!cutoff) return { deleted: 0, batchSize: deps.retentionBatchSize };
        const deleted = await deps.retention.purgeEmailRecords(cutoff.toISOString(), deps.retentionBatchSize);
        if (deleted > 0) activityLog().info('email records purged', { deleted, before: cutoff.toISOString() });
        return { deleted, batchSize: deps.retentionBatchSize };
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}

async function sweep(deps: RetentionDeps, input: SweepObjectsInput): Promise<SweepObjectsResult> {
  const now = new Date(input.now);
  if (Number.isNaN(now.getTime())) throw new RangeError(`now must be an ISO instant, got ${input.now}`);
  const page = await deps.store.list({ prefix: input.prefix, after: input.after, limit: deps.retentionBatchSize });
  const cutoff = cutoffOf(deps.retentionPolicy[input.kind], now);
  const kept: Record<string, number> = {};
  if (!cutoff || page.objects.length === 0) {
    if (page.objects.length > 0) kept['kept-forever'] = page.objects.length;
    return { listed: page.objects.length, deleted: 0, kept, next: page.next };
  }
  // Asked per page, right before deleting: an email that started since the last page is protected.
  const since = cutoff.toISOString();
  const shas = [...new Set(page.objects.flatMap((o) => classifyKey(o.key)?.rawSha256 ?? []))];
  const attachmentKeys = input.kind === 'attachments' ? page.objects.map((o) => o.key) : [];
  const [inFlight, recentlyUsed, recentlyLinked] = await Promise.all([
    shas.length > 0 ? deps.inFlight.rawSha256() : Promise.resolve(new Set<string>()),
    shas.length > 0 ? deps.retention.rawUsedSince(shas, since) : Promise.resolve([]),
    attachmentKeys.length > 0 ? deps.retention.keysLinkedSince(attachmentKeys, since) : Promise.resolve([]),
  ]);
  const facts = { inFlightRawSha256: inFlight, recentlyUsedRawSha256: new Set(recentlyUsed), recentlyLinkedKeys: new Set(recentlyLinked) };
  const due: string[] = [];
  for (const object of page.objects) {
    const verdict = objectVerdict(object, deps.retentionPolicy, now, facts);
    if (verdict.due) due.push(object.key);
    else kept[verdict.why] = (kept[verdict.why] ?? 0) + 1;
  }
  // Looked at again just before the delete: a writer that reused one of these content-addressed
  // objects since the listing refreshed it (ObjectStore.refresh), and it is young again.
  const stillDue: string[] = [];
  for (const key of due) {
    const modified = await deps.store.modifiedAt(key);
    if (modified !== null && modified.getTime() < cutoff.getTime()) stillDue.push(key);
    else kept['reused-meanwhile'] = (kept['reused-meanwhile'] ?? 0) + 1;
  }
  await deps.store.deleteMany(stillDue);
  // A deleted attachment or quarantined file is no longer linkable: its rows lose the storage key.
  if (input.kind === 'attachments' || input.kind === 'quarantine') await deps.retention.forgetStorageKeys(stillDue);
  if (stillDue.length > 0) activityLog().info('retention deleted objects', { kind: input.kind, prefix: input.prefix, deleted: stillDue.length, kept });
  return { listed: page.objects.length, deleted: stillDue.length, kept, next: page.next };
}
