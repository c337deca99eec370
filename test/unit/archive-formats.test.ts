/**
 * Issue 12, class 2 (hostile suite): every archive format, not only zip. Each payload the policy
 * blocks (an executable, a script, a macro document) is hidden in each format and in each two-level
 * nesting of formats; harmless archives stay allowed. Bombs and unscannable archives:
 * archive-hostile.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ATTACHMENT_POLICY } from '../../src/domain/attachment-policy';
import { archiveFormatOf } from '../../src/domain/archive-format';
import { inspectArchive } from '../../src/parsing/archive-inspect';
import { archiveFixture, gzip, judgeArchive as judge, PAYLOADS, payloadTar, tarArchive, zstd, type PayloadKind } from '../helpers/archives';
import { peExecutable, zipArchive } from '../helpers/files';

const policy = DEFAULT_ATTACHMENT_POLICY;
const KINDS = Object.keys(PAYLOADS) as PayloadKind[];

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
