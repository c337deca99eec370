/**
 * Hostile suite, issue 12 class 13 (retention): the periods are validated so that no spelling of
 * "nothing" means "keep forever" or "delete now", and the pure decision keeps what an unfinished or
 * newer email still needs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { loadConfig, RETENTION_VARIABLES } from '../../src/config';
import { classifyKey, cutoffOf, objectVerdict, parseRetentionPeriod, type RetentionFacts, type RetentionPolicy } from '../../src/domain/retention';
import { subjectDigest } from '../../src/activities/erasure';
import { MINIMAL_ENV } from '../helpers/env';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const DAY = 24 * 3600 * 1000;
const NOW = new Date('2026-06-01T00:00:00.000Z');
const daysAgo = (n: number): Date => new Date(NOW.getTime() - n * DAY);
const policy: RetentionPolicy = { raw: { days: 30 }, parsed: { days: 30 }, attachments: { days: 90 }, quarantine: { days: 7 }, emailRecords: { days: 365 } };
const none: RetentionFacts = { inFlightRawSha256: new Set(), recentlyUsedRawSha256: new Set(), recentlyLinkedKeys: new Set() };

describe('retention periods', () => {
  const refused = ['0', '00', '-1', '1.5', '1e3', 'NaN', 'Infinity', 'forever', 'none', '30d', ' ', '36501', '0x10', 'never!'];
  test(`${refused.length} spellings of nothing, forever or garbage are refused, never read as "keep forever"`, () => {
    for (const text of refused) assert.ok(typeof parseRetentionPeriod(text) === 'object' && 'error' in (parseRetentionPeriod(text) as object), `${JSON.stringify(text)} was accepted`);
  });

  test('whole days from 1 to 36500 and the word never (any case) are accepted', () => {
    assert.deepEqual(parseRetentionPeriod('1'), { days: 1 });
    assert.deepEqual(parseRetentionPeriod(' 36500 '), { days: 36500 });
    assert.equal(parseRetentionPeriod('never'), 'never');
    assert.equal(parseRetentionPeriod('NEVER'), 'never');
  });

  test('every retention variable set to 0, empty-looking or garbage stops the start with its name', () => {
    for (const [name] of Object.values(RETENTION_VARIABLES)) {
      for (const bad of ['0', 'abc', '-5', 'forever']) assert.throws(() => loadConfig({ ...MINIMAL_ENV, [name]: bad }), new RegExp(name));
    }
    assert.throws(() => loadConfig({ ...MINIMAL_ENV, RETENTION_INTERVAL_MINUTES: '0' }), /RETENTION_INTERVAL_MINUTES/);
    assert.throws(() => loadConfig({ ...MINIMAL_ENV, RETENTION_BATCH_SIZE: '1001' }), /RETENTION_BATCH_SIZE/);
    assert.throws(() => loadConfig({ ...MINIMAL_ENV, RETENTION_BATCH_SIZE: '0' }), /RETENTION_BATCH_SIZE/);
  });

  test('unset variables take the documented defaults; never is kept as never', () => {
    const config = loadConfig({ ...MINIMAL_ENV, RETENTION_QUARANTINE_DAYS: 'never' });
    assert.deepEqual(config.retention.policy.raw, { days: 90 });
    assert.equal(config.retention.policy.quarantine, 'never');
    assert.equal(config.retention.intervalMinutes, 60);
    assert.equal(cutoffOf('never', NOW), null);
    assert.deepEqual(cutoffOf({ days: 30 }, NOW), daysAgo(30));
  });
});

describe('what retention deletes', () => {
  const raw = sha('message');
  test('a raw message older than its period is due; one younger, or exactly at the cutoff, is kept', () => {
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(31) }, policy, NOW, none), { due: true });
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(29) }, policy, NOW, none), { due: false, why: 'young' });
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(30) }, policy, NOW, none), { due: false, why: 'young' });
  });

  test('the raw message, parsed document and parts of an email still running or parked are kept however old', () => {
    const facts = { ...none, inFlightRawSha256: new Set([raw]) };
    for (const key of [`raw/${raw}`, `parsed/${raw}/unredacted.json`, `parts/${raw}/2`]) {
      assert.deepEqual(objectVerdict({ key, lastModified: daysAgo(400) }, policy, NOW, facts), { due: false, why: 'in-flight' }, key);
    }
  });

  test('content-addressed bytes a newer email shares are kept although the object itself is old', () => {
    const facts = { ...none, recentlyUsedRawSha256: new Set([raw]) };
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(400) }, policy, NOW, facts), { due: false, why: 'recently-used' });
    assert.deepEqual(objectVerdict({ key: `parsed/${raw}/card.json`, lastModified: daysAgo(400) }, policy, NOW, facts), { due: false, why: 'recently-used' });
  });

  test('an attachment a newer ticket links is kept; an unlinked old one is due on its own period', () => {
    const key = `attachments/${sha('file')}`;
    assert.deepEqual(objectVerdict({ key, lastModified: daysAgo(100) }, policy, NOW, { ...none, recentlyLinkedKeys: new Set([key]) }), { due: false, why: 'recently-linked' });
    assert.deepEqual(objectVerdict({ key, lastModified: daysAgo(100) }, policy, NOW, none), { due: true });
    assert.deepEqual(objectVerdict({ key, lastModified: daysAgo(60) }, policy, NOW, none), { due: false, why: 'young' });
  });

  test('each kind goes by its own period: quarantine after 7 days, raw after 30', () => {
    assert.deepEqual(objectVerdict({ key: `quarantine/${sha('virus')}`, lastModified: daysAgo(8) }, policy, NOW, none), { due: true });
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(8) }, policy, NOW, none), { due: false, why: 'young' });
  });

  test('a kind kept for ever is never due', () => {
    assert.deepEqual(objectVerdict({ key: `raw/${raw}`, lastModified: daysAgo(10_000) }, { ...policy, raw: 'never' }, NOW, none), { due: false, why: 'kept-forever' });
  });

  test('keys outside the pipeline\'s prefixes, or raw keys without a sha256, are never touched', () => {
    for (const key of ['stack-test/x', 'rawx/abc', `Raw/${raw}`, 'raw/not-a-sha', `raw/${raw.toUpperCase()}`, `../raw/${raw}`, '']) {
      assert.equal(objectVerdict({ key, lastModified: daysAgo(1000) }, policy, NOW, none).due, false, key);
    }
  });

  test('keys are classified by prefix with the raw sha256 they derive from', () => {
    assert.deepEqual(classifyKey(`parts/${raw}/0`), { kind: 'parsed', rawSha256: raw });
    assert.deepEqual(classifyKey(`attachments/${raw}`), { kind: 'attachments', rawSha256: null });
    assert.equal(classifyKey('elsewhere/1'), null);
  });
});

describe('erasure audit digest', () => {
  test('every spelling of one mailbox gives one digest, another mailbox or key another, and the digest does not contain the address', () => {
    const key = 'a-signing-key-of-enough-length';
    const digests = ['Ann@Example.com', 'ann+promo@example.com', ' <ann@EXAMPLE.COM> '].map((a) => subjectDigest(key, a));
    assert.equal(new Set(digests).size, 1);
    assert.notEqual(subjectDigest(key, 'bob@example.com'), digests[0]);
    assert.notEqual(subjectDigest('another-signing-key-entirely', 'ann@example.com'), digests[0]);
    assert.match(digests[0]!, /^[0-9a-f]{64}$/);
    assert.ok(!digests[0]!.includes('ann'));
  });
});
