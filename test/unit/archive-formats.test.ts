/**
 * Issue 12, class 2 (hostile suite): every archive format, not only zip. Each payload the policy
 * blocks (an executable, a script, a macro document) is hidden in each format and in each two-level
 * nesting of formats; each compressor carries a bomb; damaged, truncated, encrypted and unopenable
 * archives end "unscannable"; harmless archives stay allowed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { DEFAULT_ATTACHMENT_POLICY, evaluateAttachment, type AttachmentDecision, type AttachmentPolicy } from '../../src/domain/attachment-policy';
import { archiveFormatOf } from '../../src/domain/archive-format';
import { inspectArchive } from '../../src/parsing/archive-inspect';
import { archiveFixture, gzip, gzipBomb, PAYLOADS, tarArchive, unopenedArchive, zstd, zstdBomb, type PayloadKind } from '../helpers/archives';
import { deflatedZeros, peExecutable, zipArchive } from '../helpers/files';

const MiB = 1024 * 1024;
const policy = DEFAULT_ATTACHMENT_POLICY;
const KINDS = Object.keys(PAYLOADS) as PayloadKind[];

async function judge(filename: string, bytes: Buffer | (() => Readable), limits: AttachmentPolicy = policy): Promise<AttachmentDecision> {
  const archive = await inspectArchive(typeof bytes === 'function' ? bytes : () => bytes, limits, filename);
  const head = Buffer.isBuffer(bytes) ? bytes : Buffer.alloc(0);
  return evaluateAttachment({ filename, declaredType: 'application/octet-stream', size: head.length, head: head.subarray(0, 64 * 1024), archive }, limits);
}

function payloadTar(kind: PayloadKind): Promise<Buffer> {
  const payload = PAYLOADS[kind];
  return tarArchive([{ name: `docs/${payload.name}`, content: payload.content() }]);
}

/** Each format a payload can arrive in, as [extension, builder]. */
const CONTAINERS: Record<string, (kind: PayloadKind) => Promise<Buffer>> = {
  tar: (kind) => payloadTar(kind),
  'tar.gz': async (kind) => gzip(await payloadTar(kind)),
  tgz: async (kind) => gzip(await payloadTar(kind)),
  'tar.bz2': (kind) => Promise.resolve(archiveFixture(`${kind === 'macro' ? 'macro' : kind}.tar.bz2`)),
  'tar.xz': (kind) => Promise.resolve(archiveFixture(`${kind}.tar.xz`)),
  'tar.zst': async (kind) => zstd(await payloadTar(kind)),
  zip: (kind) => Promise.resolve(zipArchive([{ name: `docs/${PAYLOADS[kind].name}`, content: PAYLOADS[kind].content() }])),
  gz: (kind) => Promise.resolve(gzip(PAYLOADS[kind].content())),
  zst: (kind) => Promise.resolve(zstd(PAYLOADS[kind].content())),
};

/** Wrappers around an inner archive: the outer level of a two-level nesting. */
const OUTERS: Record<string, (name: string, inner: Buffer) => Promise<Buffer>> = {
  zip: (name, inner) => Promise.resolve(zipArchive([{ name, content: inner }])),
  tar: (name, inner) => tarArchive([{ name, content: inner }]),
  'tar.gz': async (name, inner) => gzip(await tarArchive([{ name, content: inner }])),
  'tar.zst': async (name, inner) => zstd(await tarArchive([{ name, content: inner }])),
  gz: (_name, inner) => Promise.resolve(gzip(inner)),
};

/** Rewrites the compression method of a one-entry zip in its local and central headers. */
function withMethod(zip: Buffer, method: number): Buffer {
  const patched = Buffer.from(zip);
  patched.writeUInt16LE(method, 8);
  patched.writeUInt16LE(method, patched.indexOf(Buffer.from('504b0102', 'hex')) + 10);
  return patched;
}

function fileName(kind: PayloadKind, ext: string): string {
  // A single compressed file is named for what it holds, as a sender would: "run.sh.gz".
  return ext === 'gz' || ext === 'zst' ? `${PAYLOADS[kind].name}.${ext}` : `bundle.${ext}`;
}

describe('every archive format is opened and judged by what it holds', () => {
  for (const [ext, build] of Object.entries(CONTAINERS)) {
    test(`an executable, a script and a macro document hidden in a .${ext} are each blocked`, async () => {
      for (const kind of KINDS) {
        const decision = await judge(fileName(kind, ext), await build(kind));
        assert.equal(decision.verdict, 'blocked', `${kind} in .${ext}: ${decision.reasons.join('; ')}`);
        assert.ok(decision.reasons.some((r) => PAYLOADS[kind].reason.test(r)), `${kind} in .${ext}: ${decision.reasons.join('; ')}`);
      }
    });
  }

  test('a zip64 zip (Info-ZIP -fz) holding an executable is blocked, alone and inside a tar.gz', async () => {
    const zip64 = archiveFixture('zip64.zip');
    assert.equal((await judge('zip64.zip', zip64)).verdict, 'blocked');
    assert.equal((await judge('zip64.tgz', gzip(await tarArchive([{ name: 'zip64.zip', content: zip64 }])))).verdict, 'blocked');
  });

  test('zip entries compressed with bzip2, zstd and xz (methods 12, 93, 95) are opened and judged', async () => {
    const bodies: [number, Buffer][] = [[12, archiveFixture('tool.exe.bz2')], [93, zstd(peExecutable())], [95, archiveFixture('tool.exe.xz')]];
    for (const [method, body] of bodies) {
      const decision = await judge('methods.zip', withMethod(zipArchive([{ name: 'docs/readme.txt', content: body, method: 'stored', declaredSize: 512 }]), method));
      assert.equal(decision.verdict, 'blocked', `method ${method}: ${decision.reasons.join('; ')}`);
      assert.match(decision.reasons.join('; '), /Windows executable \(PE\)/, `method ${method}`);
    }
    const bomb = await judge('bomb.zip', withMethod(zipArchive([{ name: 'zeros.bin', content: archiveFixture('zeros.bz2'), method: 'stored', declaredSize: 1000 }]), 12));
    assert.equal(bomb.verdict, 'blocked');
    assert.match(bomb.reasons[0] ?? '', /zip bomb .*inflates to more than the 1000 bytes it declares/);
  });

  test('single-file bzip2 and xz of an executable are blocked', async () => {
    for (const name of ['tool.exe.bz2', 'tool.exe.xz']) assert.equal((await judge(name, archiveFixture(name))).verdict, 'blocked', name);
  });

  test('harmless tars in every compressor, and a gzip of text, are allowed', async () => {
    const notes = await tarArchive([{ name: 'docs/notes.txt', content: Buffer.from('meeting notes\n') }]);
    const samples: [string, Buffer][] = [
      ['notes.tar', notes],
      ['notes.tar.gz', gzip(notes)],
      ['notes.tar.zst', zstd(notes)],
      ['notes.tar.bz2', archiveFixture('notes.tar.bz2')],
      ['notes.tar.xz', archiveFixture('notes.tar.xz')],
      ['log.txt.gz', gzip(Buffer.from('line\n'.repeat(1000)))],
    ];
    for (const [name, bytes] of samples) {
      const decision = await judge(name, bytes);
      assert.equal(decision.verdict, 'allowed', `${name}: ${decision.reasons.join('; ')}`);
    }
  });

  test('a gzip is also judged by the file name stored in its header, which 7-Zip restores', async () => {
    const decision = await judge('notes.txt.gz', gzip(Buffer.from('MsgBox "hi"'), 'invoice.vbs'));
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons.join('; '), /script \(\.vbs\) named "invoice\.vbs"/);
  });

  test('a compressed file is judged by the name a tool saves it under: "payload.js.gz" is a script', async () => {
    const decision = await judge('payload.js.gz', gzip(Buffer.from('WScript.Echo(1)')));
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons.join('; '), /script \(\.js\) named "payload\.js"/);
  });

  test('a tar entry with an unknown or sparse typeflag is read as a file, as POSIX says it is extracted', async () => {
    for (const flag of ['S', 'Z']) {
      const tar = Buffer.from(await tarArchive([{ name: 'setup.exe', content: peExecutable() }]));
      tar.write(flag, 156, 'latin1');
      tar.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += tar[i] ?? 0;
      tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      const decision = await judge('odd.tar', tar);
      assert.equal(decision.verdict, 'blocked', `typeflag ${flag}: ${decision.reasons.join('; ')}`);
    }
  });

  test('data carried by a link or device entry, which some tools read as the next header, is judged too', async () => {
    const hidden = await tarArchive([{ name: 'setup.exe', content: peExecutable() }]);
    for (const flag of ['1', '2', '3']) {
      const tar = Buffer.from(await tarArchive([{ name: 'innocent', content: hidden }, { name: 'end.txt', content: Buffer.from('x') }]));
      tar.write(flag, 156, 'latin1');
      tar.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += tar[i] ?? 0;
      tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      const decision = await judge('links.tar', tar);
      assert.equal(decision.verdict, 'blocked', `typeflag ${flag}: ${decision.reasons.join('; ')}`);
    }
  });

  test('tar entries with GNU and pax long names, and V7 headers without magic, are read', async () => {
    const longName = `${'deep/'.repeat(40)}setup.exe`;
    const decision = await judge('long.tar.gz', gzip(await tarArchive([{ name: longName, content: peExecutable() }])));
    assert.equal(decision.verdict, 'blocked', decision.reasons.join('; '));
    const v7 = Buffer.from(await tarArchive([{ name: 'setup.exe', content: peExecutable() }]));
    v7.fill(0, 257, 265);
    let sum = 0;
    v7.fill(0x20, 148, 156);
    for (let i = 0; i < 512; i++) sum += v7[i] ?? 0;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(archiveFormatOf(v7), 'tar');
    assert.equal((await judge('old.tar', v7)).verdict, 'blocked');
  });
});

describe('nested archives are opened in any combination, two levels deep', () => {
  const inners: Record<string, (kind: PayloadKind) => Promise<Buffer>> = {
    'tar.gz': CONTAINERS['tar.gz']!,
    'tar.bz2': CONTAINERS['tar.bz2']!,
    'tar.xz': CONTAINERS['tar.xz']!,
    'tar.zst': CONTAINERS['tar.zst']!,
    zip: CONTAINERS.zip!,
    gz: CONTAINERS.gz!,
  };
  for (const [outer, wrap] of Object.entries(OUTERS)) {
    test(`each payload in each format inside a .${outer} is blocked`, async () => {
      for (const [inner, build] of Object.entries(inners)) {
        for (const kind of KINDS) {
          const bytes = await wrap(fileName(kind, inner), await build(kind));
          const decision = await judge(`outer.${outer}`, bytes);
          assert.equal(decision.verdict, 'blocked', `${kind} in .${inner} in .${outer}: ${decision.reasons.join('; ')}`);
          assert.ok(decision.reasons.some((r) => PAYLOADS[kind].reason.test(r)), `${kind} in .${inner} in .${outer}: ${decision.reasons.join('; ')}`);
        }
      }
    });
  }

  test('a zip in a tar.gz in a zip is listed under its full path', async () => {
    const inner = zipArchive([{ name: 'setup.exe', content: peExecutable() }]);
    const tgz = gzip(await tarArchive([{ name: 'payload.zip', content: inner }]));
    const report = await inspectArchive(() => zipArchive([{ name: 'files.tgz', content: tgz }]), policy, 'outer.zip');
    assert.ok(report.entries.some((e) => e.name === 'files.tgz/files.tar/payload.zip/setup.exe' && e.blockedReason !== null), JSON.stringify(report.entries));
    assert.equal(report.depth, 3);
  });

  test('archives nested past maxArchiveDepth are a bomb, whatever their formats', async () => {
    let bytes = await tarArchive([{ name: 'setup.exe', content: peExecutable() }]);
    for (let level = 0; level < 4; level++) bytes = gzip(await tarArchive([{ name: `level${level}.tar.gz`, content: bytes }]));
    const decision = await judge('deep.tar.gz', bytes);
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons[0] ?? '', /archives nested more than 3 deep/);
    let onion = peExecutable();
    for (let level = 0; level < 5; level++) onion = gzip(onion);
    assert.match((await judge('onion.gz', onion)).reasons[0] ?? '', /archives nested more than 3 deep/);
  });
});

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
