/**
 * Erasing one requester (by mailbox): the stored objects first, then the database rows in one
 * transaction, then the audit record. Objects go first because the rows are how they are found: a
 * retry after a crash plans again from rows that are still there. Every step is idempotent, so the
 * erasure workflow may rerun any of them.
 */
import { createHmac } from 'node:crypto';
import type { ObjectStore } from '../adapters/object-store';
import { mailboxOf } from '../domain/mailbox';
import type { ErasureCounts, RetentionStore } from '../ports/retention';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';
import { activityLog } from './log';

export interface ErasureDeps {
  store: ObjectStore;
  retention: RetentionStore;
  signingKey: string;
}

export interface ErasureInput {
  /** The requester's address, any spelling: erasure covers every spelling of the mailbox. */
  address: string;
}

export interface RecordErasureInput {
  id: string;
  address: string;
  requestedBy: string;
  requestedAt: string;
  dryRun: boolean;
  counts: ErasureCounts;
}

/** S3 DeleteObjects takes at most 1000 keys; smaller batches heartbeat more often. */
const DELETE_BATCH = 500;

/** The keyed digest the audit keeps instead of the address (see src/ports/retention.ts). */
export function subjectDigest(signingKey: string, address: string): string {
  return createHmac('sha256', signingKey).update(`erasure-subject:${mailboxOf(address)}`).digest('hex');
}

async function parsedKeysOf(store: ObjectStore, rawSha256: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`parsed/${rawSha256}/`, `parts/${rawSha256}/`]) {
    let after: string | undefined;
    do {
      const page = await store.list({ prefix, after, limit: 1000 });
      keys.push(...page.objects.map((o) => o.key));
      after = page.next ?? undefined;
    } while (after);
  }
  return keys;
}

async function objectsOf(deps: ErasureDeps, address: string): Promise<{ counts: ErasureCounts; raw: string[]; parsed: string[]; attachments: string[] }> {
  const plan = await deps.retention.planErasure(mailboxOf(address));
  const parsed: string[] = [];
  for (const sha of plan.rawSha256) parsed.push(...(await parsedKeysOf(deps.store, sha)));
  return {
    counts: { ...plan.counts, parsedObjects: parsed.length },
    raw: plan.rawSha256.map((sha) => `raw/${sha}`),
    parsed,
    attachments: plan.objectKeys,
  };
}

export function createErasureActivities(deps: ErasureDeps) {
  return {
    /** What the erasure would touch; changes nothing (the dry run, and the audit's object counts). */
    async planErasure(input: ErasureInput): Promise<ErasureCounts> {
      try {
        return await whileAlive(async () => (await objectsOf(deps, input.address)).counts);
      } catch (error) {
        rethrowAsFailure(error);
      }
    },

    async eraseObjects(input: ErasureInput): Promise<ErasureCounts> {
      try {
        return await whileAlive(async () => {
          const found = await objectsOf(deps, input.address);
          const keys = [...found.parsed, ...found.attachments, ...found.raw];
          for (let i = 0; i < keys.length; i += DELETE_BATCH) await deps.store.deleteMany(keys.slice(i, i + DELETE_BATCH));
          activityLog().info('erasure deleted objects', { raw: found.raw.length, parsed: found.parsed.length, attachments: found.attachments.length });
          return found.counts;
        });
      } catch (error) {
        rethrowAsFailure(error);
      }
    },

    async eraseRows(input: ErasureInput): Promise<ErasureCounts> {
      try {
        return await deps.retention.eraseRows(mailboxOf(input.address));
      } catch (error) {
        rethrowAsFailure(error);
      }
    },

    async recordErasure(input: RecordErasureInput): Promise<void> {
      try {
        await deps.retention.recordErasure({
          id: input.id,
          requestedBy: input.requestedBy,
          requestedAt: input.requestedAt,
          subjectDigest: subjectDigest(deps.signingKey, input.address),
          dryRun: input.dryRun,
          counts: input.counts,
          completedAt: new Date().toISOString(),
        });
        activityLog().info('erasure recorded', { id: input.id, dryRun: input.dryRun, counts: input.counts });
      } catch (error) {
        rethrowAsFailure(error);
      }
    },
  };
}
