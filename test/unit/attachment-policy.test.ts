import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import {
  DEFAULT_ATTACHMENT_POLICY,
  evaluateAttachment,
  InvalidAttachmentPolicyError,
  type AttachmentDecision,
  type AttachmentPolicy,
} from '../../src/domain/attachment-policy';
import { detectType } from '../../src/domain/attachment-type';
import type { ArchiveReport } from '../../src/domain/archive-report';
import { inspectZip, MAX_LISTED_ENTRIES } from '../../src/parsing/archive-inspect';
import {
  compoundFile,
  deflatedZeros,
  elfExecutable,
  machOExecutable,
  msiPackage,
  pdfDocument,
  peExecutable,
  pngImage,
  shebangScript,
  wordDocument,
  zipArchive,
  type ZipMember,
} from '../helpers/files';

const MiB = 1024 * 1024;
const policy = DEFAULT_ATTACHMENT_POLICY;

function evaluate(
  filename: string,
  bytes: Buffer,
  options: { declaredType?: string; archive?: ArchiveReport; policy?: AttachmentPolicy } = {},
): Promise<AttachmentDecision> {
  const input = { filename, declaredType: options.declaredType ?? 'application/octet-stream', size: bytes.length, head: bytes.subarray(0, 64 * 1024) };
  return evaluateAttachment(options.archive ? { ...input, archive: options.archive } : input, options.policy ?? policy);
}

async function evaluateZip(filename: string, zip: Buffer, options: { policy?: AttachmentPolicy } = {}): Promise<AttachmentDecision> {
  const archive = await inspectZip(() => zip, options.policy ?? policy);
  return evaluate(filename, zip, { ...options, archive });
}

/** Zips nested `levels` deep: the innermost holds `content` as `name`. */
function nestedZip(levels: number, name: string, content: Buffer): Buffer {
  let zip = zipArchive([{ name, content }]);
  for (let level = levels - 1; level >= 1; level--) zip = zipArchive([{ name: `level${level + 1}.zip`, content: zip }]);
  return zip;
}

describe('attachment type detection by content', () => {
  test('file-type, an ES module, loads into the compiled CommonJS build and detects a PDF', async () => {
    assert.deepEqual(await detectType(pdfDocument()), { mime: 'application/pdf', ext: 'pdf' });
  });
  test('PE, ELF and Mach-O executables are detected and blocked as executables', async () => {
    const samples: [string, Buffer, string, string][] = [
      ['tool.exe', peExecutable(), 'application/x-msdownload', 'Windows executable (PE)'],
      ['tool', elfExecutable(), 'application/x-elf', 'Linux executable (ELF)'],
      ['tool', machOExecutable(), 'application/x-mach-binary', 'macOS executable (Mach-O)'],
    ];
    for (const [filename, bytes, mime, label] of samples) {
      const decision = await evaluate(filename, bytes);
      assert.equal(decision.verdict, 'blocked', filename);
      assert.equal(decision.detectedType, mime);
      assert.equal(decision.reasons[0], `blocked: ${label} named "${filename}"`);
    }
  });
  test('an OLE2 file whose root storage carries the Windows Installer CLSID is an MSI, blocked as an installer', async () => {
    const decision = await evaluate('update.doc', msiPackage());
    assert.equal(decision.detectedType, 'application/x-msi');
    assert.equal(decision.verdict, 'blocked');
    assert.match(decision.reasons[0] ?? '', /^blocked: Windows Installer package \(MSI\) named "update.doc"$/);
  });
  test('a plain OLE2 document is a compound file and is allowed', async () => {
    const decision = await evaluate('minutes.doc', compoundFile({ storages: ['WordDocument'] }), { declaredType: 'application/msword' });
    assert.deepEqual(decision, { verdict: 'allowed', detectedType: 'application/x-cfb', mismatch: false, reasons: [] });
  });
  test('a script with a "#!" line is blocked whatever its name', async () => {
    const decision = await evaluate('notes.txt', shebangScript(), { declaredType: 'text/plain' });
    assert.equal(decision.verdict, 'blocked');
    assert.deepEqual(decision.reasons, ['blocked: script with a "#!" interpreter line named "notes.txt"']);
  });
  test('scripts and shortcuts are blocked by extension when their text has no signature', async () => {
    for (const name of ['run.js', 'run.vbs', 'run.ps1', 'run.bat', 'run.cmd', 'run.hta', 'link.lnk', 'app.jar']) {
      const decision = await evaluate(name, Buffer.from('WScript.Echo "hi"'));
      assert.equal(decision.verdict, 'blocked', name);
      assert.match(decision.reasons[0] ?? '', /^blocked: script \(\.\w+\) named/);
    }
  });
  test('a PDF, a PNG and a zip of harmless files are detected and allowed', async () => {
    assert.deepEqual(await evaluate('report.pdf', pdfDocument(), { declaredType: 'application/pdf' }), {
      verdict: 'allowed',
      detectedType: 'application/pdf',
      mismatch: false,
      reasons: [],
    });
    assert.equal((await evaluate('chart.png', pngImage(), { declaredType: 'image/png' })).detectedType, 'image/png');
    const zip = zipArchive([{ name: 'notes.txt', content: Buffer.from('hello') }, { name: 'scan.pdf', content: pdfDocument() }]);
    const decision = await evaluateZip('files.zip', zip);
    assert.deepEqual(decision, { verdict: 'allowed', detectedType: 'application/zip', mismatch: false, reasons: [] });
  });
});

describe('macro-enabled Office documents', () => {
  test('a .docx without a VBA project is allowed', async () => {
    const decision = await evaluateZip('report.docx', wordDocument({ vbaProject: false }));
    assert.equal(decision.verdict, 'allowed');
    assert.equal(decision.detectedType, 'application/vnd.openxmlformats-officedocument.wordprocessingml.document');
  });
  test('a .docm is blocked as a macro-enabled Office document', async () => {
    const decision = await evaluateZip('report.docm', wordDocument({ vbaProject: true }));
    assert.equal(decision.verdict, 'blocked');
    assert.equal(decision.detectedType, 'application/vnd.ms-word.document.macroenabled.12');
    assert.ok(decision.reasons.includes('blocked: macro-enabled Office document (docm) named "report.docm"'));
  });
  test('a .docx that carries word/vbaProject.bin is blocked although its name and content types say docx', async () => {
    const decision = await evaluateZip('report.docx', wordDocument({ vbaProject: true, macroEnabled: false }));
    assert.equal(decision.verdict, 'blocked');
    assert.equal(decision.mismatch, false);
    assert.ok(decision.reasons.includes('blocked: Office document with a VBA macro project ("word/vbaProject.bin") named "report.docx"'));
  });
  test('an OLE2 Word document with a Macros storage is blocked', async () => {
    const decision = await evaluate('old.doc', compoundFile({ storages: ['WordDocument', 'Macros'] }));
    assert.deepEqual(decision.reasons, ['blocked: Office document with VBA macros named "old.doc"']);
  });
  test('macro-office is configurable: left out of blockedKinds, a .docm is allowed', async () => {
    const lenient = { ...policy, blockedKinds: policy.blockedKinds.filter((kind) => kind !== 'macro-office') };
    assert.equal((await evaluateZip('report.docm', wordDocument({ vbaProject: true }), { policy: lenient })).verdict, 'allowed');
  });
});

describe('name and declared type against content', () => {
  test('a PNG named .pdf is flagged as a mismatch but not blocked for it', async () => {
    const decision = await evaluate('invoice.pdf', pngImage(), { declaredType: 'application/pdf' });
    assert.equal(decision.verdict, 'allowed');
    assert.equal(decision.mismatch, true);
    assert.deepEqual(decision.reasons, [
      'mismatch: named "invoice.pdf" but the content is image/png',
      'mismatch: declared as application/pdf but the content is image/png',
    ]);
  });
  test('a Windows executable named invoice.pdf is blocked and flagged', async () => {
    const decision = await evaluate('invoice.pdf', peExecutable(), { declaredType: 'application/pdf' });
    assert.equal(decision.verdict, 'blocked');
    assert.equal(decision.mismatch, true);
    assert.equal(decision.reasons[0], 'blocked: Windows executable (PE) named "invoice.pdf"');
  });
  test('a file named .pdf without a PDF signature is flagged', async () => {
    const decision = await evaluate('invoice.pdf', Buffer.from('just some text'));
    assert.deepEqual(decision.reasons, ['mismatch: named "invoice.pdf" but the content has no PDF signature']);
  });
  test('generic declared types, aliases and container families are not mismatches', async () => {
    const zip = zipArchive([{ name: 'a.txt', content: Buffer.from('a') }]);
    assert.equal((await evaluateZip('bundle.zip', zip)).mismatch, false);
    const archive = await inspectZip(() => zip, policy);
    assert.equal((await evaluate('bundle.zip', zip, { declaredType: 'application/x-zip-compressed', archive })).mismatch, false);
    const doc = compoundFile({ storages: ['WordDocument'] });
    assert.equal((await evaluate('minutes.doc', doc, { declaredType: 'application/msword; name="minutes.doc"' })).mismatch, false);
  });
});

describe('allowlist', () => {
  test('an allowlisted extension lets a blocked kind through when the content agrees with it', async () => {
    const decision = await evaluate('setup.exe', peExecutable(), { policy: { ...policy, allowExtensions: ['exe'] } });
    assert.equal(decision.verdict, 'allowed');
    assert.deepEqual(decision.reasons, ['allowed: ".exe" is on the allowlist, overriding: Windows executable (PE) named "setup.exe"']);
    const oddlyDeclared = await evaluate('setup.exe', peExecutable(), { declaredType: 'application/pdf', policy: { ...policy, allowExtensions: ['exe'] } });
    assert.equal(oddlyDeclared.verdict, 'allowed', 'the allowlist is about names; a wrong declared type is only flagged');
    assert.equal(oddlyDeclared.mismatch, true);
  });
  test('an allowlisted extension does not let through content that only wears it', async () => {
    const decision = await evaluate('invoice.pdf', peExecutable(), { policy: { ...policy, allowExtensions: ['.PDF'] } });
    assert.equal(decision.verdict, 'blocked');
    assert.ok(decision.reasons.includes('allowlist not applied: the content of "invoice.pdf" is not what ".pdf" names'));
  });
  test('allowlisting "docm" lets macro-enabled Word documents through', async () => {
    const decision = await evaluateZip('report.docm', wordDocument({ vbaProject: true }), { policy: { ...policy, allowExtensions: ['docm'] } });
    assert.equal(decision.verdict, 'allowed');
  });
  test('limits of 0 or NaN and unknown kinds are refused, naming the field', async () => {
    await assert.rejects(evaluate('a.pdf', pdfDocument(), { policy: { ...policy, maxArchiveEntries: 0 } }), InvalidAttachmentPolicyError);
    await assert.rejects(inspectZip(() => Buffer.alloc(0), { ...policy, maxCompressionRatio: Number.NaN }), /maxCompressionRatio/);
    const unknownKind = { ...policy, blockedKinds: ['virus'] } as unknown as AttachmentPolicy;
    await assert.rejects(evaluate('a.pdf', pdfDocument(), { policy: unknownKind }), /blockedKinds: unknown kind "virus"/);
  });
});

describe('zip inspection', () => {
  test('an EXE inside a zip is listed with its reason and blocks the zip', async () => {
    const zip = zipArchive([{ name: 'readme.txt', content: Buffer.from('open me') }, { name: 'docs/invoice.pdf', content: peExecutable() }]);
    const report = await inspectZip(() => zip, policy);
    assert.deepEqual(report.entries[1], {
      name: 'docs/invoice.pdf',
      size: 512,
      compressedSize: report.entries[1]?.compressedSize,
      detectedType: 'application/x-msdownload',
      blockedReason: 'Windows executable (PE) named "docs/invoice.pdf"',
    });
    const decision = await evaluate('invoice.zip', zip, { archive: report });
    assert.equal(decision.verdict, 'blocked');
    assert.deepEqual(decision.reasons, ['blocked: archive "invoice.zip" holding Windows executable (PE) named "docs/invoice.pdf"']);
  });
  test('a zip that is not inspected is unscannable, since it could hold anything', async () => {
    const decision = await evaluate('files.zip', zipArchive([{ name: 'a.txt', content: Buffer.from('a') }]));
    assert.equal(decision.verdict, 'unscannable');
    assert.deepEqual(decision.reasons, ['unscannable: archive "files.zip" that was not inspected']);
  });
  test('an entry that declares a huge size is a bomb before anything is inflated', async () => {
    const zip = zipArchive([{ name: 'zeros.bin', deflated: deflatedZeros(512 * MiB), declaredSize: 512 * MiB }]);
    assert.ok(zip.length < MiB);
    const report = await inspectZip(() => zip, policy);
    assert.equal(report.bomb, `entries declare ${512 * MiB} bytes uncompressed, over the ${256 * MiB}-byte limit`);
    assert.deepEqual(report.entries, []);
    assert.match((await evaluate('zeros.zip', zip, { archive: report })).reasons[0] ?? '', /^blocked: zip bomb "zeros.zip": entries declare/);
  });
  test('an entry that inflates far beyond the budget under a small declared size is stopped at the budget', async () => {
    const budget = { ...policy, maxArchiveUncompressedBytes: 8 * MiB };
    const zip = zipArchive([{ name: 'zeros.bin', deflated: deflatedZeros(256 * MiB), declaredSize: 1000 }]);
    const report = await inspectZip(() => zip, budget);
    assert.equal(report.bomb, `over ${8 * MiB} bytes inflated, at "zeros.bin", which declares 1000 bytes`);
    assert.ok(report.totalUncompressed <= 8 * MiB + 64 * 1024, `inflated ${report.totalUncompressed}`);
  });
  test('an entry that inflates past its declared size is a bomb even within the budget', async () => {
    const zip = zipArchive([{ name: 'small.txt', deflated: deflatedZeros(2 * MiB), declaredSize: 1000 }]);
    const report = await inspectZip(() => zip, policy);
    assert.equal(report.bomb, `"small.txt" inflates to ${2 * MiB} bytes but declares 1000`);
  });
  test('an archive whose honest sizes expand beyond the ratio limit is a bomb', async () => {
    const zip = zipArchive([{ name: 'zeros.bin', deflated: deflatedZeros(4 * MiB), declaredSize: 4 * MiB }]);
    const report = await inspectZip(() => zip, policy);
    assert.match(report.bomb ?? '', /^the archive expands \d+:1, over the 100:1 limit$/);
  });
  test('20,000 tiny entries are an entry-count bomb, refused from the end record', async () => {
    const members: ZipMember[] = Array.from({ length: 20_000 }, (_, i) => ({ name: `f${i}.txt`, content: Buffer.from('x'), method: 'stored' }));
    const report = await inspectZip(() => zipArchive(members), policy);
    assert.equal(report.bomb, '20000 entries, over the 10000-entry limit');
  });
  test('entries that share compressed data are an overlapping-file bomb', async () => {
    const report = await inspectZip(() => withDuplicatedEntry(zipArchive([{ name: 'a.txt', content: Buffer.from('a'.repeat(100)) }])), policy);
    assert.equal(report.bomb, 'entries overlap at "a.txt"');
  });
  test('a zip inside a zip is opened and its entries are listed under its path', async () => {
    const report = await inspectZip(() => nestedZip(2, 'tool.exe', peExecutable()), policy);
    assert.equal(report.depth, 2);
    assert.deepEqual(report.entries.map((e) => [e.name, e.blockedReason]), [
      ['level2.zip', null],
      ['level2.zip/tool.exe', 'Windows executable (PE) named "level2.zip/tool.exe"'],
    ]);
  });
  test('zips nested five levels deep are refused past maxArchiveDepth', async () => {
    const report = await inspectZip(() => nestedZip(5, 'payload.exe', peExecutable()), policy);
    assert.equal(report.depth, 3);
    assert.equal(report.bomb, 'archives nested more than 3 deep, at "level2.zip/level3.zip/level4.zip"');
  });
  test('an encrypted entry is reported and its name still judged: an .exe name blocks, a harmless one leaves the zip unscannable', async () => {
    const zip = zipArchive([{ name: 'invoice.exe', content: Buffer.from('scrambled'), flags: 0x0001 }]);
    const report = await inspectZip(() => zip, policy);
    assert.equal(report.encrypted, true);
    assert.equal(report.entries[0]?.blockedReason, 'executable (.exe) named "invoice.exe"');
    const decision = await evaluate('invoice.zip', zip, { archive: report });
    assert.equal(decision.verdict, 'blocked');
    assert.ok(decision.reasons.includes('unscannable: encrypted archive "invoice.zip", whose contents cannot be inspected'));
    const hidden = zipArchive([{ name: 'notes.txt', content: Buffer.from('scrambled'), flags: 0x0001 }]);
    const quiet = await evaluate('notes.zip', hidden, { archive: await inspectZip(() => hidden, policy) });
    assert.equal(quiet.verdict, 'unscannable');
    assert.deepEqual(quiet.reasons, ['unscannable: encrypted archive "notes.zip", whose contents cannot be inspected']);
  });
  test('a corrupt zip gives a clear error, not a crash, and is unscannable', async () => {
    const notZip = Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.from('garbage'.repeat(10))]);
    assert.deepEqual((await inspectZip(() => notZip, policy)).errors, ['not a zip archive: no end-of-central-directory record']);
    const zip = zipArchive([{ name: 'a.txt', content: Buffer.from('some text that deflates '.repeat(20)) }]);
    const damaged = Buffer.from(zip);
    damaged.fill(0xff, 30 + 'a.txt'.length, 30 + 'a.txt'.length + 4);
    const report = await inspectZip(() => damaged, policy);
    assert.match(report.errors[0] ?? '', /^"a\.txt": the deflate data is damaged/);
    const truncated = Buffer.concat([zip.subarray(0, 20), zip.subarray(zip.length - 22)]);
    assert.match((await inspectZip(() => truncated, policy)).errors[0] ?? '', /central directory lies outside the archive/);
    const decision = await evaluate('a.zip', damaged, { archive: report });
    assert.equal(decision.verdict, 'unscannable');
    assert.match(decision.reasons[0] ?? '', /^unscannable: archive "a.zip" that could not be fully inspected/);
  });
  test('a zip read from a stream in small chunks gives the same report as from a buffer', async () => {
    const zip = zipArchive([{ name: 'a.txt', content: Buffer.from('hello') }, { name: 'inner.zip', content: nestedZip(1, 'run.js', Buffer.from('x')) }]);
    let reads = 0;
    const chunks = (): Readable => {
      reads += 1;
      return Readable.from(Array.from({ length: Math.ceil(zip.length / 7) }, (_, i) => zip.subarray(i * 7, i * 7 + 7)));
    };
    assert.deepEqual(await inspectZip(chunks, policy), await inspectZip(() => zip, policy));
    assert.equal(reads, 2, 'one pass for the end record and central directory, one through the entries');
  });
  test('a central directory larger than the kept tail is read in a pass of its own', async () => {
    const members: ZipMember[] = Array.from({ length: 4_000 }, (_, i) => ({ name: `${'d'.repeat(300)}/${i}.txt`, content: Buffer.from('x'), method: 'stored' }));
    members.push({ name: 'last.exe', content: peExecutable() });
    const zip = zipArchive(members);
    let reads = 0;
    const report = await inspectZip(() => {
      reads += 1;
      return Readable.from([zip]);
    }, policy);
    assert.equal(reads, 3);
    assert.deepEqual(report.errors, []);
    assert.equal(report.entries.length, MAX_LISTED_ENTRIES);
    assert.equal(report.entries.at(-1)?.name, 'last.exe', 'a blocked entry displaces an allowed one from a full list');
  });
});

/** The one-entry zip with its central record repeated: two entries whose data is the same bytes. */
function withDuplicatedEntry(zip: Buffer): Buffer {
  const end = zip.subarray(zip.length - 22);
  const directory = zip.subarray(end.readUInt32LE(16), zip.length - 22);
  const newEnd = Buffer.from(end);
  newEnd.writeUInt16LE(2, 8);
  newEnd.writeUInt16LE(2, 10);
  newEnd.writeUInt32LE(directory.length * 2, 12);
  return Buffer.concat([zip.subarray(0, end.readUInt32LE(16)), directory, directory, newEnd]);
}
