/**
 * The sweep activity with recording fakes of the store and the port: what it deletes, what it
 * re-checks just before deleting, and that it deletes nothing when it cannot learn which emails are
 * in flight (hostile suite, issue 12 class 13: retention must never take what a live email needs).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ListObjectsInput, ObjectStore } from '../../src/adapters/object-store';
import { createRetentionActivities, type InFlightEmails } from '../../src/activities/retention';
import type { RetentionPolicy } from '../../src/domain/retention';
import type { RetentionStore } from '../../src/ports/retention';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-06-01T00:00:00.000Z');
const policy: RetentionPolicy = { raw: { days: 30 }, parsed: { days: 30 }, attachments: { days: 30 }, quarantine: { days: 30 }, emailRecords: { days: 30 } };

function fakeStore(objects: Record<string, Date>, reusedAfterListing: string[] = []) {
  const deleted: string[] = [];
  const modified = { ...objects };
  const store = {
    list: async (input: ListObjectsInput) => {
      const keys = Object.keys(objects).filter((k) => k.startsWith(input.prefix)).sort();
      // A writer reuses these bytes while the sweep decides: refresh() makes them young.
      for (const key of reusedAfterListing) modified[key] = NOW;
      return { objects: keys.map((key) => ({ key, lastModified: objects[key]!, size: 1 })), next: null };
    },
    modifiedAt: async (key: string) => modified[key] ?? null,
    deleteMany: async (keys: string[]) => {
      deleted.push(...keys);
    },
  } as unknown as ObjectStore;
  return { store, deleted };
}

function fakePort(changes: Partial<RetentionStore> = {}): RetentionStore & { forgotten: string[] } {
  const forgotten: string[] = [];
  return {
    forgotten,
    rawUsedSince: async () => [],
    keysLinkedSince: async () => [],
    forgetStorageKeys: async (keys) => (forgotten.push(...keys), keys.length),
    purgeEmailRecords: async () => 0,
    planErasure: () => Promise.reject(new Error('not used')),
    eraseRows: () => Promise.reject(new Error('not used')),
    recordErasure: () => Promise.reject(new Error('not used')),
    getErasure: () => Promise.reject(new Error('not used')),
    ...changes,
  };
}

const noneInFlight: InFlightEmails = { rawSha256: async () => new Set() };

/** Runs an activity function in a mock activity context (it heartbeats). */
function inActivity<I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> {
  return new MockActivityEnvironment().run(fn, input);
}

describe('the retention sweep activity', () => {
  const old = new Date(NOW.getTime() - 40 * DAY);
  const young = new Date(NOW.getTime() - 10 * DAY);

  test('deletes the old raw messages and keeps the young, an in-flight email\'s and a recently used one\'s', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(sha);
    const { store, deleted } = fakeStore({ [`raw/${a}`]: old, [`raw/${b}`]: young, [`raw/${c}`]: old, [`raw/${d}`]: old });
    const activities = createRetentionActivities({
      store,
      retention: fakePort({ rawUsedSince: async () => [d!] }),
      inFlight: { rawSha256: async () => new Set([c!]) },
      retentionPolicy: policy,
      retentionBatchSize: 100,
    });
    const result = await inActivity(activities.sweepObjects, { kind: 'raw', prefix: 'raw/', now: NOW.toISOString() });
    assert.deepEqual(deleted, [`raw/${a}`]);
    assert.deepEqual(result.kept, { young: 1, 'in-flight': 1, 'recently-used': 1 });
  });

  test('an object reused (refreshed) between the listing and the delete is kept', async () => {
    const [a, b] = ['x', 'y'].map((s) => `attachments/${sha(s)}`);
    const { store, deleted } = fakeStore({ [a!]: old, [b!]: old }, [b!]);
    const port = fakePort();
    const activities = createRetentionActivities({ store, retention: port, inFlight: noneInFlight, retentionPolicy: policy, retentionBatchSize: 100 });
    const result = await inActivity(activities.sweepObjects, { kind: 'attachments', prefix: 'attachments/', now: NOW.toISOString() });
    assert.deepEqual(deleted, [a]);
    assert.deepEqual(port.forgotten, [a], 'only the deleted file is unlinked');
    assert.equal(result.kept['reused-meanwhile'], 1);
  });

  test('when the in-flight emails cannot be learned, it fails and deletes nothing', async () => {
    const { store, deleted } = fakeStore({ [`raw/${sha('z')}`]: old });
    const activities = createRetentionActivities({
      store,
      retention: fakePort(),
      inFlight: { rawSha256: () => Promise.reject(new Error('Temporal unreachable')) },
      retentionPolicy: policy,
      retentionBatchSize: 100,
    });
    await assert.rejects(inActivity(activities.sweepObjects, { kind: 'raw', prefix: 'raw/', now: NOW.toISOString() }), /Temporal unreachable/);
    assert.deepEqual(deleted, []);
  });

  test('a kind kept for ever lists but never deletes; a bad "now" is refused', async () => {
    const { store, deleted } = fakeStore({ [`quarantine/${sha('q')}`]: old });
    const activities = createRetentionActivities({ store, retention: fakePort(), inFlight: noneInFlight, retentionPolicy: { ...policy, quarantine: 'never' }, retentionBatchSize: 100 });
    const result = await inActivity(activities.sweepObjects, { kind: 'quarantine', prefix: 'quarantine/', now: NOW.toISOString() });
    assert.deepEqual(deleted, []);
    assert.deepEqual(result.kept, { 'kept-forever': 1 });
    await assert.rejects(inActivity(activities.sweepObjects, { kind: 'quarantine', prefix: 'quarantine/', now: 'tomorrow' }), RangeError);
  });
});
