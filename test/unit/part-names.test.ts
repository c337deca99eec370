import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseName, extensionFor, MAX_FILENAME_CHARS, PartNamer, safeFileStem } from '../../src/parsing/part-names';
import { containerFixture, FidelityTally, parseStored } from '../helpers/parse-fixture';

const tally = new FidelityTally('class 3 (names for unnamed parts)');
after(() => console.log(tally.line()));

const names = async (fixture: string): Promise<string[]> => (await parseStored(containerFixture(fixture))).document.attachments.map((a) => a.filename);

describe('names for parts the sender did not name', () => {
  test('an unnamed image, document, text and binary part are named by type, each name once in the email', () =>
    tally.check(async () => {
      assert.deepEqual(await names('unnamed-parts.eml'), [
        'image.png',
        'image (2).png',
        'document.pdf',
        'document.html',
        'file.bin',
        'file (2).bin',
        'message.txt',
        'image.jpg',
      ]);
    }));

  test('two parts both called scan.pdf (in any case) become scan.pdf and Scan (2).PDF', () =>
    tally.check(async () => {
      const list = await names('named-duplicates.eml');
      assert.deepEqual(list.slice(0, 2), ['scan.pdf', 'Scan (2).PDF']);
    }));

  test('a name given only in Content-Type name= is used', () =>
    tally.check(async () => {
      assert.equal((await names('named-duplicates.eml'))[2], 'from-content-type.pdf');
    }));

  test('RFC 2231 names, percent-encoded and split into continuations, are decoded', () =>
    tally.check(async () => {
      const list = await names('named-duplicates.eml');
      assert.equal(list[3], 'Rechnung März.pdf');
      assert.equal(list[4], 'über lange Namen.pdf');
    }));

  test('a sender-given name that a generated name took earlier is numbered, not duplicated', () =>
    tally.check(async () => {
      assert.deepEqual((await names('named-duplicates.eml')).slice(5), ['image.png', 'image (2).png']);
    }));

  test('a forwarded message is named by its decoded subject with .eml', () =>
    tally.check(async () => {
      const list = await names('forwarded-with-attachments.eml');
      assert.equal(list[1], 'Re_ Invoice 03_2026 – für Ann.eml');
    }));

  test('a forwarded message whose subject is raw 8-bit GBK (no encoded-words) is named in Chinese, not U+FFFD', () =>
    tally.check(async () => {
      const inner = Buffer.concat([
        Buffer.from('From: a@example.com\r\nSubject: '),
        Buffer.from([0xb7, 0xa2, 0xc6, 0xb1, 0xce, 0xca, 0xcc, 0xe2]), // 发票问题 in GBK
        Buffer.from('\r\nContent-Type: text/plain; charset=gbk\r\n\r\n'),
        Buffer.from([0xc4, 0xe3, 0xba, 0xc3]), // 你好
        Buffer.from('\r\n'),
      ]);
      const outer = Buffer.concat([
        Buffer.from('From: b@example.com\r\nTo: support@example.com\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee below\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n'),
        inner,
        Buffer.from('--b--\r\n'),
      ]);
      const list = (await parseStored(outer)).document.attachments.map((a) => a.filename);
      assert.equal(list[0], '发票问题.eml');
    }));

  test('a forwarded message without a subject is forwarded-message.eml; slashes, control characters and reserved names are made safe', () =>
    tally.check(async () => {
      assert.deepEqual(await names('forwarded-no-subject.eml'), ['forwarded-message.eml', '_.._etc_passwd_ a subject_with_slashes_and_stars.eml', '_CON.eml']);
    }));

  test('S/MIME and PGP parts get the names mail clients use', () =>
    tally.check(async () => {
      assert.deepEqual(await names('smime-signed.eml'), ['smime.p7s']);
      assert.deepEqual(await names('smime-encrypted.eml'), ['smime.p7m']);
      assert.deepEqual(await names('pgp-signed.eml'), ['signature.asc']);
      assert.deepEqual(await names('pgp-encrypted.eml'), ['pgp-version.txt', 'encrypted.asc']);
    }));

  test('a calendar part is calendar.ics', () =>
    tally.check(async () => {
      assert.deepEqual(await names('calendar-only.eml'), ['calendar.ics']);
    }));

  test('real mail: the named parts of public fixtures keep their names', () =>
    tally.check(async () => {
      assert.deepEqual(await names('corpus/raw_email_with_nested_attachment.eml'), ['truncated.png', 'smime.p7s']);
      assert.equal((await names('corpus/mimetorture.eml')).length, 9);
    }));

  test('the message body never becomes a named attachment', () =>
    tally.check(async () => {
      const { document } = await parseStored('From: a@x.example\r\nSubject: plain\r\n\r\nJust text.\r\n');
      assert.deepEqual(document.attachments, []);
      assert.equal(document.text, 'Just text.\n');
    }));
});

describe('the naming rules', () => {
  test('extensions come from mime-db, with the extension people know where it lists another first', () => {
    assert.equal(extensionFor('application/vnd.openxmlformats-officedocument.wordprocessingml.document'), 'docx');
    assert.equal(extensionFor('image/webp'), 'webp');
    assert.equal(extensionFor('audio/mpeg'), 'mp3');
    assert.equal(extensionFor('message/global'), 'eml');
    assert.equal(extensionFor('application/x-not-registered'), 'bin');
    assert.equal(extensionFor('constructor'), 'bin');
    assert.equal(baseName({ given: null, contentType: 'toString' }), 'file.bin');
  });

  test('a given name keeps its letters but loses bidi overrides, zero-width and control characters and path separators', () => {
    assert.equal(baseName({ given: 'invoice\u202Efdp.exe', contentType: 'application/pdf' }), 'invoicefdp.exe');
    assert.equal(baseName({ given: '../../etc/passwd', contentType: 'text/plain' }), '.._.._etc_passwd');
    assert.equal(baseName({ given: 'C:\\Users\\ann\\report.pdf', contentType: 'application/pdf' }), 'C:_Users_ann_report.pdf');
    assert.equal(baseName({ given: 'تقرير\u200b.pdf', contentType: 'application/pdf' }), 'تقرير.pdf');
    assert.equal(baseName({ given: '\u202E\u0007', contentType: 'image/png' }), 'image.png');
  });

  test('type-derived names say what the part is', () => {
    assert.equal(baseName({ given: null, contentType: 'application/zip' }), 'archive.zip');
    assert.equal(baseName({ given: null, contentType: 'video/mp4' }), 'video.mp4');
    assert.equal(baseName({ given: null, contentType: 'application/msword' }), 'document.doc');
    assert.equal(baseName({ given: null, contentType: 'text/calendar' }), 'calendar.ics');
    assert.equal(baseName({ given: null, contentType: 'application/octet-stream', encrypted: true }), 'encrypted.asc');
    assert.equal(baseName({ given: '  ', contentType: 'image/gif' }), 'image.gif');
  });

  test('a subject made into a file name loses path separators, control and bidi characters, leading dots and trailing dots, and is capped', () => {
    assert.equal(safeFileStem('a/b\\c:d*e?f"g<h>i|j'), 'a_b_c_d_e_f_g_h_i_j');
    assert.equal(safeFileStem('\u0000tab\there\u202Egnp.exe'), 'tab here gnp.exe');
    assert.equal(safeFileStem('...hidden'), 'hidden');
    assert.equal(safeFileStem('ends with dots...  '), 'ends with dots');
    assert.equal(safeFileStem('lpt1.txt'), '_lpt1.txt');
    assert.equal(safeFileStem('\u0001\u0002'), '');
    assert.equal([...safeFileStem('x'.repeat(1000))].length, 120);
    assert.equal(baseName({ given: null, contentType: 'message/rfc822', subject: '////' }), '____.eml');
    assert.equal(baseName({ given: null, contentType: 'message/rfc822', subject: '   ' }), 'forwarded-message.eml');
  });

  test('names are unique case-insensitively, numbered before the extension, and never longer than the cap', () => {
    const namer = new PartNamer();
    assert.equal(namer.unique('Report.PDF'), 'Report.PDF');
    assert.equal(namer.unique('report.pdf'), 'report (2).pdf');
    assert.equal(namer.unique('report.pdf'), 'report (3).pdf');
    assert.equal(namer.unique('.bashrc'), '.bashrc');
    assert.equal(namer.unique('.bashrc'), '.bashrc (2)');
    const long = `${'n'.repeat(400)}.pdf`;
    const first = namer.unique(long);
    const second = namer.unique(long);
    assert.equal(first.length, MAX_FILENAME_CHARS);
    assert.ok(first.endsWith('.pdf'));
    assert.equal(second.length, MAX_FILENAME_CHARS);
    assert.ok(second.endsWith(' (2).pdf'));
  });

  test('names already on a ticket are reserved as they are; a numbered name counts on from its base', () => {
    const namer = new PartNamer();
    namer.reserve('image.png');
    namer.reserve('Image (2).PNG');
    assert.equal(namer.unique('image.png'), 'image (3).png');
    assert.equal(namer.unique('image (2).png'), 'image (4).png');
    assert.equal(namer.unique('scan (2).pdf'), 'scan (2).pdf');
    assert.equal(namer.unique('scan (2).pdf'), 'scan (3).pdf');
  });
});
