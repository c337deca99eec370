/**
 * Issue 12, class 2 (hostile suite): archives that must not pass. Each compressor carries a bomb,
 * alone and nested, under one shared budget; damaged, truncated, encrypted and unopenable archives
 * end "unscannable"; a failed read is retried, not judged. Formats and nesting: archive-formats.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { DEFAULT_ATTACHMENT_POLICY, evaluateAttachment } from '../../src/domain/attachment-policy';
import { inspectArchive } from '../../src/parsing/archive-inspect';
import { archiveFixture, gzip, gzipBomb, judgeArchive as judge, payloadTar, tarArchive, unopenedArchive, zstd, zstdBomb } from '../helpers/archives';
import { deflatedZeros, peExecutable, zipArchive } from '../helpers/files';

const MiB = 1024 * 1024;
const policy = DEFAULT_ATTACHMENT_POLICY;

describe('bombs in every compressor are blocked', () => {
  test('a gzip, zstd, bzip2 and xz of 300 MiB of zeros are each a bomb', async () => {
    const bombs: [string, Buffer][] = [
      ['zeros.gz', gzipBomb(300)],
      ['zeros.zst', await zstdBomb(300)],
      ['zeros.bz2', archiveFixture('zeros.bz2')],
      ['zeros.xz', archiveFixture('zeros.xz')],
    ];
    for (const [name, bytes] of bombs) {
      const started = Date.now();
      const decision = await judge(name, bytes);
      assert.equal(decision.verdict, 'blocked', name);
      assert.match(decision.reasons[0] ?? '', /^blocked: zip bomb /, name);
      assert.ok(Date.now() - started < 5000, `${name} took ${Date.now() - started} ms`);
    }
    // xz-decompress locks the process while a stream is open: a stopped bomb must release it.
    assert.equal((await judge('after-bomb.tar.xz', archiveFixture('notes.tar.xz'))).verdict, 'allowed');
  });

  test('the same bombs inside a zip and inside a tar are blocked', async () => {
    for (const [name, bytes] of [['zeros.gz', gzipBomb(300)], ['zeros.bz2', archiveFixture('zeros.bz2')], ['zeros.xz', archiveFixture('zeros.xz')]] as const) {
      assert.equal((await judge('wrapped.zip', zipArchive([{ name, content: bytes, method: 'stored' }]))).verdict, 'blocked', `${name} in a zip`);
      assert.equal((await judge('wrapped.tar', await tarArchive([{ name, content: bytes }]))).verdict, 'blocked', `${name} in a tar`);
    }
  });

  test('one budget is shared: two gzips under the ratio limit but over the budget together are a bomb', async () => {
    const limits = { ...policy, maxArchiveUncompressedBytes: 8 * MiB, maxCompressionRatio: 1_000_000 };
    const fiveMiB = gzipBomb(5);
    const tar = await tarArchive([{ name: 'a.gz', content: fiveMiB }, { name: 'b.gz', content: fiveMiB }]);
    const report = await inspectArchive(() => Readable.from([tar]), limits, 'two.tar');
    assert.match(report.bomb ?? '', /over 8388608 bytes inflated/);
    assert.ok(report.totalUncompressed <= 8 * MiB + 256 * 1024, `inflated ${report.totalUncompressed}`);
  });

  test('a tar with more entries than maxArchiveEntries is an entry-count bomb', async () => {
    const members = Array.from({ length: 150 }, (_, i) => ({ name: `f${i}.txt`, content: Buffer.from('x') }));
    const decision = await judge('many.tar.gz', gzip(await tarArchive(members)), { ...policy, maxArchiveEntries: 100 });
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons[0] ?? '', /101 entries, over the 100-entry limit/);
  });

  test('a tar entry larger than the budget is stopped at the budget', async () => {
    const decision = await judge('big.tar', await tarArchive([{ name: 'big.bin', content: Buffer.alloc(3 * MiB, 1) }]), { ...policy, maxArchiveUncompressedBytes: 2 * MiB });
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons[0] ?? '', /over 2097152 bytes inflated, at "big.bin"/);
  });

  test('a zip bomb of deflated zeros stored in a tar.gz is still a bomb', async () => {
    const zip = zipArchive([{ name: 'zeros.log', deflated: deflatedZeros(512 * MiB), declaredSize: 1024 }]);
    assert.equal((await judge('logs.tgz', gzip(await tarArchive([{ name: 'logs.zip', content: zip }])))).verdict, 'blocked');
  });
});

describe('an archive that cannot be opened is unscannable', () => {
  async function expectUnscannable(name: string, bytes: Buffer, pattern?: RegExp): Promise<void> {
    const decision = await judge(name, bytes);
    assert.equal(decision.verdict, 'unscannable', `${name}: ${decision.reasons.join('; ')}`);
    assert.match(decision.reasons[0] ?? '', pattern ?? /^unscannable: /, name);
  }

  test('7z, RAR, cabinet and ISO images, which are not opened here, are unscannable', async () => {
    for (const format of ['7z', 'rar', 'cab', 'iso'] as const) await expectUnscannable(`archive.${format}`, unopenedArchive(format), /cannot be opened here/);
  });

  test('a 7z inside a tar.gz and a RAR inside a zip make the outer archive unscannable', async () => {
    await expectUnscannable('outer.tgz', gzip(await tarArchive([{ name: 'inner.7z', content: unopenedArchive('7z') }])), /"outer.tar\/inner.7z": 7z archives cannot be opened/);
    await expectUnscannable('outer.zip', zipArchive([{ name: 'inner.rar', content: unopenedArchive('rar') }]), /"inner.rar": RAR archives cannot be opened/);
  });

  test('truncated archives of every compressor are unscannable', async () => {
    const tar = await payloadTar('executable');
    const samples: [string, Buffer][] = [
      ['cut.tar.gz', gzip(tar)],
      ['cut.tar.zst', zstd(tar)],
      ['cut.tar.bz2', archiveFixture('notes.tar.bz2')],
      ['cut.tar.xz', archiveFixture('notes.tar.xz')],
    ];
    for (const [name, bytes] of samples) await expectUnscannable(name, bytes.subarray(0, Math.floor(bytes.length / 2)));
  });

  test('damaged compressed data in every compressor is unscannable', async () => {
    const notes = await tarArchive([{ name: 'notes.txt', content: Buffer.from('some text that compresses '.repeat(200)) }]);
    const samples: [string, Buffer][] = [
      ['bad.tar.gz', gzip(notes)],
      ['bad.tar.zst', zstd(notes)],
      ['bad.tar.bz2', archiveFixture('notes.tar.bz2')],
      ['bad.tar.xz', archiveFixture('notes.tar.xz')],
    ];
    for (const [name, bytes] of samples) {
      const damaged = Buffer.from(bytes);
      damaged.fill(0x55, 24, Math.min(damaged.length - 12, 60));
      await expectUnscannable(name, damaged);
    }
  });

  test('a tar cut inside an entry, and a tar with a damaged header, are unscannable', async () => {
    const tar = await tarArchive([{ name: 'a.txt', content: Buffer.alloc(4096, 0x61) }, { name: 'b.txt', content: Buffer.from('b') }]);
    await expectUnscannable('cut.tar', tar.subarray(0, 2048));
    const damaged = Buffer.from(tar);
    damaged.fill(0x37, 512 + 4096, 512 + 4096 + 200);
    await expectUnscannable('bad.tar', damaged);
  });

  test('an encrypted zip inside a tar.gz leaves the tar.gz unscannable', async () => {
    const encrypted = zipArchive([{ name: 'notes.txt', content: Buffer.from('scrambled'), flags: 0x0001 }]);
    await expectUnscannable('outer.tgz', gzip(await tarArchive([{ name: 'secret.zip', content: encrypted }])), /encrypted archive/);
  });

  test('a truncated tar.gz inside a zip leaves the zip unscannable', async () => {
    const tgz = gzip(await payloadTar('script'));
    await expectUnscannable('outer.zip', zipArchive([{ name: 'inner.tgz', content: tgz.subarray(0, 30) }]));
  });

  test('a file named as an archive that does not start like one is looked for from its end: junk before a zip does not hide it', async () => {
    const zip = zipArchive([{ name: 'setup.exe', content: peExecutable() }]);
    const prefixed = Buffer.concat([Buffer.from('not a signature '.repeat(8)), zip]);
    const decision = await judge('invoice.zip', prefixed);
    assert.notEqual(decision.verdict, 'allowed', decision.reasons.join('; '));
    await expectUnscannable('empty.tar.gz', Buffer.from('plain text, not an archive'), /no end-of-central-directory record/);
    const unnamed = await evaluateAttachment({ filename: 'archive.rar', declaredType: 'application/octet-stream', size: 5, head: Buffer.from('hello') }, policy);
    assert.equal(unnamed.verdict, 'unscannable', 'an archive name without an inspection report is not allowed');
  });

  test('an xz inside an xz is unscannable, reported rather than waited on (the decoder is one per process)', async () => {
    await expectUnscannable('nested.tar.xz', archiveFixture('xz-in-xz.tar.xz'), /an xz stream inside an xz stream is not opened/);
    const side = await tarArchive([{ name: 'a.tar.xz', content: archiveFixture('notes.tar.xz') }, { name: 'b.tar.xz', content: archiveFixture('executable.tar.xz') }]);
    assert.equal((await judge('side-by-side.tar', side)).verdict, 'blocked', 'two xz side by side are both opened');
  });
});

describe('reading', () => {
  test('xz attachments inspected at once, bombs among them, all finish: the one-at-a-time xz decoder is always handed on', async () => {
    const samples: [string, Buffer, string][] = [
      ['a.tar.xz', archiveFixture('executable.tar.xz'), 'blocked'],
      ['zeros.xz', archiveFixture('zeros.xz'), 'blocked'],
      ['b.tar.xz', archiveFixture('notes.tar.xz'), 'allowed'],
      ['cut.tar.xz', archiveFixture('notes.tar.xz').subarray(0, 60), 'unscannable'],
      ['c.tar.xz', archiveFixture('macro.tar.xz'), 'blocked'],
    ];
    const verdicts = await Promise.all(samples.map(async ([name, bytes]) => (await judge(name, bytes)).verdict));
    assert.deepEqual(verdicts, samples.map(([, , verdict]) => verdict));
  });

  test('a tar.gz and a tar.bz2 read from a stream in small chunks give the same report as from a buffer', async () => {
    for (const bytes of [gzip(await payloadTar('executable')), archiveFixture('executable.tar.bz2')]) {
      const fromBuffer = await inspectArchive(() => bytes, policy, 'a.tgz');
      const pieces = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
      assert.deepEqual(await inspectArchive(() => Readable.from(pieces), policy, 'a.tgz'), fromBuffer);
    }
  });

  test('a failure to read the attachment rejects, so the activity retries, instead of calling it unscannable', async () => {
    const bytes = gzip(await payloadTar('executable'));
    const failing = (): Readable =>
      Readable.from(
        (async function* () {
          yield bytes.subarray(0, 20);
          throw new Error('connection reset by the object store');
        })(),
      );
    await assert.rejects(inspectArchive(failing, policy, 'a.tgz'), /connection reset by the object store/);
  });
});
