import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import iconv from 'iconv-lite';
import { simpleParser } from 'mailparser';
import type { EmailDocument } from '../../src/domain/email';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { MAX_RAW_HEADER_BYTES, MAX_RAW_HEADERS, MIN_DETECTION_CONFIDENCE } from '../../src/parsing/header-charset';
import { parseMime } from '../../src/parsing/parse-mime';
import { readHeaderBlock } from '../../src/ingress/mime-headers';
import { headlineOf } from '../../src/ingress/start-email-workflow';
import { LEGACY_CHARSET_CASES, SPECIAL_FIXTURES, TEXTS, legacyCharsetMessage } from '../helpers/legacy-charset-cases';

const FIXTURES = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'charset');
const fixture = (file: string): Buffer => readFileSync(join(FIXTURES, file));

const discard = async (_part: unknown, content: Readable): Promise<{ partKey: string }> => {
  content.resume();
  await new Promise((r) => content.on('end', r));
  return { partKey: 'discarded' };
};
const parse = (raw: Buffer): Promise<EmailDocument> => parseMime(Readable.from([raw]), { limits: DEFAULT_LIMITS, sink: discard });
const record = (doc: EmailDocument, name: string) => doc.rawHeaders?.find((h) => h.name === name);

/** Every fixture whose Subject and From name have one right reading, for the class score. */
const EXPECTED: { file: string; subject: string; fromName: string }[] = [
  ...LEGACY_CHARSET_CASES.map((c) => ({ file: c.file, subject: c.subject, fromName: c.name })),
  { file: 'multipart-big5.eml', subject: TEXTS.tw.subject, fromName: TEXTS.tw.name },
  { file: 'mixed-encoded-word-gbk.eml', subject: `[工单] ${TEXTS.zh.subject}`, fromName: `客服 ${TEXTS.zh.name}` },
  { file: 'shift_jis-addresses.eml', subject: '表示ソフトの不具合', fromName: 'ソニー 表' },
  { file: 'utf8-declared-gbk.eml', subject: TEXTS.zh.subject, fromName: TEXTS.zh.name },
  { file: 'utf8-headers-latin1-body.eml', subject: 'Grüße – 東京', fromName: 'Jürgen Müller' },
  { file: 'iso-2022-jp-raw-subject.eml', subject: '請求書の金額', fromName: '' },
  { file: 'mikel-mail-utf8-headers.eml', subject: 'Säying Hello', fromName: 'Jöhn Doe' },
];

describe('headers in legacy charsets (issue 14, class 2)', () => {
  let right = 0;
  let bare = 0;
  after(() => {
    console.log(`# fidelity class 2 (legacy charset headers): ${right}/${EXPECTED.length} (mailparser alone: ${bare}/${EXPECTED.length})`);
  });

  for (const expected of EXPECTED) {
    test(`${expected.file}: subject and sender name read right, with no replacement character`, async () => {
      const raw = fixture(expected.file);
      const doc = await parse(raw);
      const alone = await simpleParser(raw);
      if (alone.subject === expected.subject && (alone.from?.value[0]?.name ?? '') === expected.fromName) bare++;
      assert.equal(doc.subject, expected.subject);
      assert.equal(doc.from?.name ?? '', expected.fromName);
      const { subject, from, to, cc, replyTo, headers } = doc;
      assert.ok(!JSON.stringify({ subject, from, to, cc, replyTo, headers }).includes('\uFFFD'), 'no U+FFFD in any header');
      right++;
    });
  }

  test('the fixtures on disk are what the case table writes (regenerate.ts)', () => {
    for (const c of LEGACY_CHARSET_CASES) assert.ok(fixture(c.file).equals(legacyCharsetMessage(c)), c.file);
    for (const [file, build] of Object.entries(SPECIAL_FIXTURES)) assert.ok(fixture(file).equals(build()), file);
  });

  test('each re-read header is recorded with its original bytes, its charset, and whether it was declared or detected', async () => {
    for (const c of LEGACY_CHARSET_CASES) {
      const raw = fixture(c.file);
      const doc = await parse(raw);
      for (const name of ['subject', 'from']) {
        const entry = record(doc, name);
        assert.ok(entry, `${c.file}: ${name} recorded`);
        assert.equal(entry.source, c.expectSource, `${c.file}: ${name} source`);
        assert.equal(entry.charset, c.expectCharset, `${c.file}: ${name} charset`);
        assert.equal(entry.truncated, false);
        const original = Buffer.from(entry.bytes, 'base64');
        assert.ok(raw.includes(original) && original.subarray(0, name.length + 1).toString().toLowerCase() === `${name}:`, `${c.file}: ${name} bytes`);
        if (c.expectSource === 'detected') assert.ok((entry.confidence ?? 0) >= MIN_DETECTION_CONFIDENCE);
        else assert.equal(entry.confidence, null);
      }
      // The To header is ASCII: nothing to re-read, nothing recorded.
      assert.equal(record(doc, 'to'), undefined);
    }
  });

  test('the declared charset wins over detection, and for a multipart it is the first text part’s', async () => {
    const doc = await parse(fixture('multipart-big5.eml'));
    assert.equal(record(doc, 'subject')?.source, 'declared');
    assert.equal(record(doc, 'subject')?.charset, 'Big5');
    assert.equal(doc.text.trim(), TEXTS.tw.body);
    // GB2312 declared, GBK bytes: the declaration (read as its superset GBK) is used, not a guess.
    const gb = await parse(fixture('gb2312-declared.eml'));
    assert.equal(record(gb, 'subject')?.source, 'declared');
  });

  test('with no declaration the charset is detected from the header and body bytes together', async () => {
    const doc = await parse(fixture('shift_jis-undeclared.eml'));
    assert.deepEqual(
      doc.rawHeaders?.map((h) => [h.name, h.charset, h.source]),
      [
        ['from', 'Shift_JIS', 'detected'],
        ['subject', 'Shift_JIS', 'detected'],
      ],
    );
  });

  test('too little text to detect: read as windows-1252, never U+FFFD, and the record says it was a fallback', async () => {
    const raw = fixture('gbk-short-undeclared.eml');
    const doc = await parse(raw);
    const entry = record(doc, 'subject');
    assert.equal(entry?.source, 'fallback');
    assert.equal(entry?.charset, 'windows-1252');
    assert.ok((entry?.confidence ?? 100) < MIN_DETECTION_CONFIDENCE);
    assert.ok(!doc.subject.includes('\uFFFD'));
    // Each byte is one character, 0x81 (unassigned in windows-1252) included, so nothing is lost.
    const bytes = iconv.encode('丂乗问题', 'gbk');
    assert.equal(doc.subject.length, bytes.length);
    assert.equal(doc.subject.charCodeAt(0), 0x81);
    assert.ok(Buffer.from(entry?.bytes ?? '', 'base64').includes(bytes));
  });

  test('a declared charset that cannot read the header bytes (UTF-8 over GBK) is passed over for detection, and named in the record', async () => {
    const doc = await parse(fixture('utf8-declared-gbk.eml'));
    const entry = record(doc, 'subject');
    assert.equal(entry?.source, 'detected');
    assert.equal(entry?.charset, 'GB18030');
    assert.equal(entry?.declaredButUnusable, 'utf-8');
  });

  test('a declared single-byte charset is believed even where the header is in another charset, and its bytes are kept to read again', async () => {
    const raw = fixture('latin1-declared-sjis-subject.eml');
    const doc = await parse(raw);
    const subject = record(doc, 'subject');
    assert.equal(subject?.source, 'declared');
    assert.equal(subject?.charset, 'windows-1252');
    assert.ok(!doc.subject.includes('\uFFFD'));
    // The kept bytes read right once the right charset is known.
    const bytes = Buffer.from(subject?.bytes ?? '', 'base64');
    assert.equal(iconv.decode(bytes, 'shift_jis'), `Subject: ${TEXTS.ja.subject}`);
    assert.equal(doc.from?.name, TEXTS.fr.name);
  });

  test('valid raw UTF-8 headers (RFC 6532) stay UTF-8 whatever the body declares, and are read right in the kept headers', async () => {
    const doc = await parse(fixture('utf8-headers-latin1-body.eml'));
    assert.equal(doc.rawHeaders, undefined);
    assert.deepEqual(doc.headers['subject'], ['Grüße – 東京']);
    assert.deepEqual(doc.headers['x-note'], ['naïve']);
    assert.deepEqual(doc.headers['from'], ['"Jürgen Müller" <juergen@example.de>']);
    const mikel = await parse(fixture('mikel-mail-utf8-headers.eml'));
    assert.deepEqual(mikel.headers['to'], ['"Märy Smith" <märy@exämple.net>']);
  });

  test('pure ASCII headers are untouched and encoded-words keep their own charset', async () => {
    const raw = readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'mail', 'iso-2022-jp.eml'));
    const doc = await parse(raw);
    assert.equal(doc.rawHeaders, undefined);
    const subjectLine = raw.toString('latin1').split('\n').find((l) => l.startsWith('Subject:')) ?? '';
    assert.deepEqual(doc.headers['subject'], [subjectLine.slice('Subject:'.length).trim()]);
    assert.equal(doc.from?.name, '山田太郎');
    // A GBK message: the UTF-8 encoded-word stays UTF-8 next to the raw GBK text.
    const mixed = await parse(fixture('mixed-encoded-word-gbk.eml'));
    assert.equal(mixed.subject, `[工单] ${TEXTS.zh.subject}`);
    assert.deepEqual(mixed.headers['subject'], [`=?UTF-8?B?W+W3peWNlV0=?= ${TEXTS.zh.subject}`]);
  });

  test('To, Cc, Reply-To names and the kept headers are re-read too; a Shift_JIS 0x5C byte is not a backslash', async () => {
    const doc = await parse(fixture('shift_jis-addresses.eml'));
    assert.deepEqual(doc.from, { address: 'sony@example.jp', name: 'ソニー 表' });
    assert.deepEqual(doc.to, [{ address: 'support@mailgate.local', name: 'サポート窓口' }]);
    assert.deepEqual(doc.cc, [
      { address: 'taro@example.jp', name: '山田 太郎' },
      { address: 'hanako@example.jp', name: '佐藤花子' },
    ]);
    assert.deepEqual(doc.replyTo, [{ address: 'reply@example.jp', name: 'ソニー 表 返信' }]);
    assert.deepEqual(doc.headers['cc'], ['"山田 太郎" <taro@example.jp>, 佐藤花子 <hanako@example.jp>']);
    assert.deepEqual(doc.rawHeaders?.map((h) => h.name), ['from', 'to', 'cc', 'reply-to', 'subject']);
  });

  test('ISO-2022-JP escape sequences without encoded-words are read as Japanese', async () => {
    const doc = await parse(fixture('iso-2022-jp-raw-subject.eml'));
    assert.equal(doc.subject, '請求書の金額');
    assert.deepEqual(doc.headers['subject'], ['請求書の金額']);
  });

  test('the record is capped: bytes per header and headers per message', async () => {
    const long = iconv.encode('长'.repeat(3000), 'gbk');
    const lines = [Buffer.from('Subject: '), long, Buffer.from('\r\n')];
    for (let i = 0; i < MAX_RAW_HEADERS + 20; i++) lines.push(Buffer.from(`X-Tag-${i}: `), iconv.encode('标签', 'gbk'), Buffer.from('\r\n'));
    lines.push(Buffer.from('From: a@example.cn\r\nContent-Type: text/plain; charset=gbk\r\n\r\nbody\r\n'));
    const doc = await parse(Buffer.concat(lines));
    assert.equal(doc.rawHeaders?.length, MAX_RAW_HEADERS);
    const subject = record(doc, 'subject');
    assert.equal(subject?.truncated, true);
    assert.equal(Buffer.from(subject?.bytes ?? '', 'base64').length, MAX_RAW_HEADER_BYTES);
    assert.equal(doc.subject, '长'.repeat(3000));
  });

  test('a hostile declared charset (UTF-7, an unknown name, __proto__) is never used: the bytes are detected instead', async () => {
    for (const charset of ['utf-7', 'x-no-such-charset', '__proto__']) {
      const raw = legacyCharsetMessage({ ...LEGACY_CHARSET_CASES[0]!, declared: charset });
      const doc = await parse(raw);
      assert.equal(doc.subject, TEXTS.zh.subject, charset);
      assert.equal(record(doc, 'subject')?.source, 'detected', charset);
      assert.equal(record(doc, 'subject')?.declaredButUnusable, charset, charset);
    }
  });

  test('the ingress headline (Temporal UI) reads a raw legacy or UTF-8 subject by the same rules', () => {
    for (const [file, subject] of [
      ['shift_jis-declared.eml', TEXTS.ja.subject],
      ['koi8-r-declared.eml', TEXTS.ru.subject],
      ['utf8-headers-latin1-body.eml', 'Grüße – 東京'],
      ['mixed-encoded-word-gbk.eml', `[工单] ${TEXTS.zh.subject}`],
    ] as const) {
      assert.equal(headlineOf(readHeaderBlock(fixture(file))).subject, subject, file);
    }
  });

  test('an attached message’s headers (message/rfc822, as a bounce returns them) are read by its own declaration or detection', async () => {
    const inner = (charset: string | null, text: typeof TEXTS.ru, encoding: string): Buffer =>
      Buffer.concat([
        Buffer.from('From: a@example.net\r\nSubject: '),
        iconv.encode(text.subject, encoding),
        Buffer.from(`\r\nMessage-ID: <inner@example.net>\r\nContent-Type: text/plain${charset ? `; charset=${charset}` : ''}\r\n\r\n`),
        iconv.encode(text.body, encoding),
        Buffer.from('\r\n'),
      ]);
    const bounce = (message: Buffer): Buffer =>
      Buffer.concat([
        Buffer.from(
          'From: MAILER-DAEMON@mx.example.org\r\nTo: support@mailgate.local\r\nSubject: Undelivered Mail\r\n' +
            'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n' +
            '--r\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n' +
            '--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n' +
            'Final-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n' +
            '--r\r\nContent-Type: message/rfc822\r\n\r\n',
        ),
        message,
        Buffer.from('--r--\r\n'),
      ]);
    const declared = await parse(bounce(inner('koi8-r', TEXTS.ru, 'koi8-r')));
    assert.equal(declared.returnedMessage?.subject, TEXTS.ru.subject);
    assert.equal(declared.returnedMessage?.messageId, 'inner@example.net');
    const detected = await parse(bounce(inner(null, TEXTS.zh, 'gbk')));
    assert.equal(detected.returnedMessage?.subject, TEXTS.zh.subject);
    // The top-level headers are ASCII: nothing of the embedded message goes into its record.
    assert.equal(detected.rawHeaders, undefined);
  });
});
