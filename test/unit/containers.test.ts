import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { readCalendar } from '../../src/parsing/calendar';
import { decompressRtf, MAX_RTF_BYTES, RtfError, rtfToText } from '../../src/parsing/rtf';
import { MAX_TNEF_ATTRIBUTES, readTnef, TnefError } from '../../src/parsing/tnef';
import { containerFixture, FidelityTally, parseStored } from '../helpers/parse-fixture';
import { hugePropertyCount, lengthPastEnd, tnef, tnefAttachment, tnefBody, tnefMessageBinaryProp, winmailMessage } from '../helpers/tnef-writer';

/** MS-OXRTFCP 3.1.1: the specification's example of compressed RTF. */
const SPEC_COMPRESSED_RTF = Buffer.from('2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c0900206277' + '05b06c647d0a800fa0', 'hex');

const tally = new FidelityTally('class 5 (containers)');
after(() => console.log(tally.line()));

const expectedList = (name: string): string[] =>
  containerFixture(`corpus/${name}.expected-attachments.list`)
    .toString('utf8')
    .split(/\r?\n/)
    .filter((l) => l.length > 0);

describe('winmail.dat (TNEF) is unpacked into its files', () => {
  for (const name of ['two-files.tnef', 'winmail.tnef']) {
    test(`the reader finds the files MimeKit lists for ${name}`, () =>
      tally.check(() => {
        const content = readTnef(containerFixture(`corpus/${name}`), { maxFiles: 100 });
        assert.deepEqual(
          content.files.map((f) => f.filename),
          expectedList(name),
        );
      }));
  }

  test('a winmail.dat attachment becomes its files, named and marked as coming from it, and the original is kept', () =>
    tally.check(async () => {
      const { document, stored } = await parseStored(containerFixture('winmail.eml'));
      assert.deepEqual(
        document.attachments.map((a) => [a.filename, a.container ?? null]),
        [
          ['winmail.dat', null],
          ['AUTHORS', 'winmail.dat'],
          ['README', 'winmail.dat'],
        ],
      );
      const inner = readTnef(containerFixture('corpus/two-files.tnef'), { maxFiles: 10 });
      assert.deepEqual(stored.get(1), inner.files[0]!.data);
      assert.deepEqual(stored.get(2), inner.files[1]!.data);
      // Unpacked files go through the same sink as every part: stored, sized and hashed.
      for (const a of document.attachments) {
        assert.equal(a.partKey, `parts/test/${a.index}`);
        assert.equal(a.size, stored.get(a.index)!.length);
        assert.match(a.sha256, /^[0-9a-f]{64}$/);
      }
      assert.equal(document.text, 'The two files are attached.');
      assert.deepEqual(document.notes, ['Unpacked 2 file(s) from "winmail.dat" (Outlook TNEF): "AUTHORS", "README"; the original is kept too.']);
    }));

  test('a winmail.dat sent as application/octet-stream is recognised by its name', () =>
    tally.check(async () => {
      const raw = winmailMessage(containerFixture('corpus/two-files.tnef'), { text: 'x' }).replace('application/ms-tnef', 'application/octet-stream');
      const { document } = await parseStored(raw);
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['winmail.dat', 'AUTHORS', 'README'],
      );
    }));

  test('two unnamed-looking TNEF files with one title are kept apart by number', () =>
    tally.check(async () => {
      const { document } = await parseStored(winmailMessage(containerFixture('corpus/winmail.tnef'), { text: 'see attached' }));
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['winmail.dat', 'Untitled Attachment', 'Untitled Attachment (2)'],
      );
    }));

  test('real Outlook mail with a winmail.dat that holds only the body parses and keeps the container', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/tnef-ukr.eml'));
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['winmail.dat'],
      );
      assert.match(document.text, /шостий/);
    }));

  test('the MAPI long file name and MIME tag win over the 8.3 title; the TNEF body is the text when the message has none', () =>
    tally.check(async () => {
      const data = tnef([
        tnefBody('Body written in Outlook.'),
        ...tnefAttachment({ title: 'QUARTE~1.XLS', longName: 'Quarterly figures – 2026.xlsx', mimeTag: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', data: Buffer.from('PK fake') }),
        ...tnefAttachment({ title: 'photo.png', data: Buffer.from('fake png') }),
      ]);
      const { document } = await parseStored(winmailMessage(data));
      assert.deepEqual(
        document.attachments.map((a) => [a.filename, a.contentType]),
        [
          ['winmail.dat', 'application/ms-tnef'],
          ['Quarterly figures – 2026.xlsx', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'],
          ['photo.png', 'image/png'],
        ],
      );
      assert.equal(document.text, 'Body written in Outlook.');
    }));

  test("Outlook's rich body (compressed RTF) is the text when neither the message nor winmail.dat has a plain one", () =>
    tally.check(async () => {
      const data = tnef([tnefMessageBinaryProp(0x1009, SPEC_COMPRESSED_RTF), ...tnefAttachment({ title: 'a.txt', data: Buffer.from('a') })]);
      const { document } = await parseStored(winmailMessage(data));
      assert.equal(document.text, 'hello world');
      const withText = await parseStored(winmailMessage(data, { text: 'the message text' }));
      assert.equal(withText.document.text, 'the message text');
    }));

  const hostile: [string, Buffer][] = [
    ['truncated in the middle', containerFixture('corpus/two-files.tnef').subarray(0, 1700)],
    ['an attribute length past the end', tnef([lengthPastEnd()])],
    ['a property count far beyond the data', tnef([hugePropertyCount()])],
    ['no TNEF signature', Buffer.from('MZ this is not TNEF at all')],
    ['an unknown attribute level', tnef([Buffer.from([9, 0x0f, 0x80, 0x06, 0x00, 0, 0, 0, 0, 0, 0])])],
  ];
  for (const [label, data] of hostile) {
    test(`a winmail.dat with ${label} is kept as it came, with a note, never a crash`, () =>
      tally.check(async () => {
        const { document, stored } = await parseStored(winmailMessage(data, { text: 'hello' }));
        assert.deepEqual(
          document.attachments.map((a) => a.filename),
          ['winmail.dat'],
        );
        assert.deepEqual(stored.get(0), data);
        assert.equal(document.text, 'hello');
        assert.ok(document.notes?.some((n) => n.startsWith('"winmail.dat" could not be unpacked')), JSON.stringify(document.notes));
      }));
  }

  test('random damage to a real winmail.dat gives its files or a TnefError, never another error', () => {
    const original = containerFixture('corpus/two-files.tnef');
    let seed = 20261207;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const damaged = Buffer.from(original.subarray(0, original.length - random(200)));
      for (let k = 0; k < 1 + random(4); k++) damaged[6 + random(damaged.length - 6)] = random(256);
      try {
        const content = readTnef(damaged, { maxFiles: 10 });
        for (const file of content.files) assert.ok(file.data.length <= damaged.length);
      } catch (error) {
        assert.ok(error instanceof TnefError, String(error));
        refused++;
      }
    }
    assert.ok(refused > 0);
  });

  test('more attributes than the cap are refused, not walked', () => {
    const many = tnef(Array.from({ length: MAX_TNEF_ATTRIBUTES + 1 }, () => tnefBody('')));
    assert.throws(() => readTnef(many, { maxFiles: 10 }), TnefError);
  });

  test('a winmail.dat with more files than the attachment limit unpacks up to the limit and says how many stayed inside', () =>
    tally.check(async () => {
      const files = Array.from({ length: 30 }, (_, i) => tnefAttachment({ title: `f${i}.txt`, data: Buffer.from(`file ${i}`) })).flat();
      const { document } = await parseStored(winmailMessage(tnef(files), { text: 'many' }), { ...DEFAULT_LIMITS, maxAttachments: 5 });
      assert.equal(document.attachments.length, 5);
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['winmail.dat', 'f0.txt', 'f1.txt', 'f2.txt', 'f3.txt'],
      );
      assert.ok(document.notes?.some((n) => n.startsWith('26 file(s) in "winmail.dat" were not unpacked')), JSON.stringify(document.notes));
    }));
});

describe('the rich body reader (RTF)', () => {
  test('decompresses the MS-OXRTFCP example exactly', () => {
    assert.equal(decompressRtf(SPEC_COMPRESSED_RTF).toString('latin1'), '{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n');
  });

  test('keeps visible text only: code pages, \\u escapes, paragraphs; not font tables, ignorable destinations or RTF-only parts of encapsulated HTML', () => {
    const rtf = String.raw`{\rtf1\ansi\ansicpg1251\fromhtml1{\fonttbl{\f0 Arial;}}{\*\htmltag64 <p>}\'cf\'f0\'e8\'e2\'e5\'f2 \u8364?5{\*\htmltag72 </p>}\htmlrtf\par hidden\htmlrtf0\par Zweite Zeile: gr\u252\'fc\u223?e}`;
    assert.equal(rtfToText(Buffer.from(rtf, 'latin1')), 'Привет €5\nZweite Zeile: grüße');
  });

  test('hostile RTF: a huge declared size is capped, garbage never throws anything but RtfError, deep nesting is refused', () => {
    const header = Buffer.alloc(16);
    header.writeUInt32LE(0xffffffff, 4);
    header.writeUInt32LE(0x75465a4c, 8);
    let seed = 7;
    const noise = Buffer.from(Array.from({ length: 4000 }, () => (seed = (seed * 48271) % 2147483647) & 0xff));
    const out = decompressRtf(Buffer.concat([header, noise]));
    assert.ok(out.length <= MAX_RTF_BYTES);
    assert.equal(typeof rtfToText(out), 'string');
    assert.throws(() => decompressRtf(Buffer.from('short')), RtfError);
    assert.throws(() => rtfToText(Buffer.from('{'.repeat(10_000))), RtfError);
  });
});

describe('S/MIME and PGP mail is kept intact, with a note', () => {
  test('S/MIME signed: the text shows, the signature is smime.p7s, the note says it was not verified', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('smime-signed.eml'));
      assert.equal(document.text.trim(), 'Please ship order 1234.');
      assert.deepEqual(
        document.attachments.map((a) => [a.filename, a.contentType]),
        [['smime.p7s', 'application/pkcs7-signature']],
      );
      assert.deepEqual(document.notes, ['Signed with S/MIME; the signature (kept as an attachment) was not verified.']);
    }));

  test('real S/MIME signed mail keeps its attachment and its signature', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/raw_email_with_nested_attachment.eml'));
      assert.match(document.text, /Here is a test of an attachment/);
      assert.deepEqual(document.notes, ['Signed with S/MIME; the signature (kept as an attachment) was not verified.']);
    }));

  test('S/MIME encrypted: the text says it cannot be read, the ciphertext is smime.p7m', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('smime-encrypted.eml'));
      assert.equal(document.text, '[This message is encrypted with S/MIME and cannot be read here. It is attached as smime.p7m.]');
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['smime.p7m'],
      );
      assert.match(document.notes?.[0] ?? '', /^Encrypted with S\/MIME/);
    }));

  test('S/MIME opaque-signed: the text says the content is inside smime.p7m', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('smime-opaque-signed.eml'));
      assert.match(document.text, /signed with S\/MIME in a form Mailgate does not unpack/);
      assert.match(document.notes?.[0] ?? '', /signature was not verified/);
    }));

  test('PGP/MIME signed: the text shows, the signature is signature.asc, noted as not verified', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('pgp-signed.eml'));
      assert.equal(document.text.trim(), 'The server is down again.');
      assert.deepEqual(document.notes, ['Signed with PGP; the signature was not verified.']);
    }));

  test('real mail with a PGP-signed part (MIME torture test) is noted as signed', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/mimetorture.eml'));
      assert.ok(document.attachments.some((a) => a.filename === 'signature.asc'));
      assert.deepEqual(document.notes, ['Signed with PGP; the signature was not verified.']);
    }));

  test('PGP/MIME encrypted: the text says it cannot be read, the ciphertext is encrypted.asc', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('pgp-encrypted.eml'));
      assert.equal(document.text, '[This message is encrypted with PGP and cannot be read here. It is attached as encrypted.asc.]');
      assert.deepEqual(document.notes, ['Encrypted with PGP: Mailgate cannot read it; the encrypted content is kept as an attachment.']);
    }));

  test('inline PGP: the armored text is kept as it came and noted', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('pgp-inline.eml'));
      assert.match(document.text, /^-----BEGIN PGP MESSAGE-----/);
      assert.deepEqual(document.notes, ['The text holds a PGP-encrypted block that Mailgate cannot read; it is shown as it came.']);
    }));

  test('plain mail gets no protection note', async () => {
    const { document } = await parseStored(containerFixture('unnamed-parts.eml'));
    assert.deepEqual(document.notes, []);
  });
});

describe('calendar invitations are shown as text, the .ics kept', () => {
  test('an invitation that is the only part becomes the text: summary, time with its zone, place, organizer, attendees', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('calendar-only.eml'));
      assert.equal(
        document.text,
        [
          'Calendar invitation: Quarterly review of the support contract, with the whole team',
          'When: 2026-12-10 14:00 (Europe/Berlin) to 2026-12-10 15:30 (Europe/Berlin)',
          'Where: Room 4; second floor',
          'Organizer: Ann Example <ann@customer.example>',
          'Attendees: 3',
          '(attached as calendar.ics)',
        ].join('\n'),
      );
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['calendar.ics'],
      );
    }));

  test('a cancellation in an alternative is appended to the text and the html once, though the .ics is attached twice', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('calendar-cancel-alternative.eml'));
      assert.equal(document.text.split('Calendar cancellation: Quarterly review').length, 2);
      assert.match(document.text, /^The review is cancelled\.\n\nCalendar cancellation: Quarterly review\nWhen: 2026-12-10 13:00 \(UTC\)/);
      assert.match(document.html ?? '', /<pre>Calendar cancellation: Quarterly review/);
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['calendar.ics', 'invite.ics'],
      );
    }));

  test('a reply says who answered what', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('calendar-reply.eml'));
      assert.match(document.text, /^Calendar reply: Quarterly review\nWhen: 2026-12-10\n/);
      assert.match(document.text, /Reply: Bob <bob@partner\.example> accepted/);
    }));

  test('a real Google Calendar invitation gets its summary and time zone in the text', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/calendar-event.eml'));
      assert.match(document.text, /Calendar invitation: Test event ⏰\nWhen: 2024-04-11 11:00 \(Europe\/Tallinn\) to 2024-04-11 12:00 \(Europe\/Tallinn\)/);
    }));

  test('the reader survives hostile calendars: no END, endless folding, thousands of events', () => {
    assert.deepEqual(readCalendar('BEGIN:VEVENT\nSUMMARY:open').events, []);
    const folded = readCalendar(`BEGIN:VEVENT\nSUMMARY:${'x\n '.repeat(100_000)}\nEND:VEVENT`);
    assert.equal(folded.events[0]!.summary!.length, 300);
    const many = readCalendar('BEGIN:VCALENDAR\n' + 'BEGIN:VEVENT\nSUMMARY:e\nEND:VEVENT\n'.repeat(5000) + 'END:VCALENDAR');
    assert.equal(many.events.length, 20);
    assert.equal(readCalendar('\u0000\u0001:::;;;"""').events.length, 0);
  });
});

describe("a forwarded message's attachments are reachable", () => {
  test('the .eml is kept and its attachments, two levels deep, are parts of their own marked with where they came from', () =>
    tally.check(async () => {
      const { document, stored } = await parseStored(containerFixture('forwarded-with-attachments.eml'));
      const eml = 'Re_ Invoice 03_2026 – für Ann.eml';
      assert.deepEqual(
        document.attachments.map((a) => [a.filename, a.container ?? null]),
        [
          ['invoice.pdf', null],
          [eml, null],
          ['invoice (2).pdf', eml],
          ['image.png', eml],
          ['Original quote.eml', eml],
          ['quote.pdf', `${eml} / Original quote.eml`],
        ],
      );
      assert.ok(stored.get(2)!.subarray(0, 5).equals(Buffer.from('%PDF-')));
      // An inline image of the forwarded message is a file here: this message's HTML does not show it.
      assert.equal(document.attachments[3]!.inline, false);
      assert.equal(document.attachments[3]!.contentId, null);
      assert.equal(document.text.trim(), "Forwarding Bob's mail, please look at the invoice.");
      // One note names the files by the names they got here; the nested listing is not repeated.
      assert.deepEqual(document.notes, [
        `Listed 4 attachment(s) of the forwarded message "${eml}" as files of their own: "invoice (2).pdf", "image.png", "Original quote.eml", "quote.pdf"; the message is kept whole.`,
      ]);
    }));

  test('real mail: the PDF inside a forwarded message is listed', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/attachment_message_rfc822.eml'));
      assert.deepEqual(
        document.attachments.map((a) => [a.filename, a.container ?? null]),
        [
          ['ForwardedMessage.eml', null],
          ['broken.pdf', 'ForwardedMessage.eml'],
        ],
      );
    }));

  test('real mail: a base64-encoded forward inside a base64-encoded forward', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('corpus/base64encoded-rfc822message-nested.msg'));
      assert.equal(document.attachments.length, 2);
      assert.equal(document.attachments[1]!.container, document.attachments[0]!.filename);
    }));

  test('the attachment limit counts unpacked parts: past it they stay inside the .eml, with a note', () =>
    tally.check(async () => {
      const { document } = await parseStored(containerFixture('forwarded-with-attachments.eml'), { ...DEFAULT_LIMITS, maxAttachments: 3 });
      assert.equal(document.attachments.length, 3);
      assert.ok(document.notes?.some((n) => /were not unpacked/.test(n)), JSON.stringify(document.notes));
    }));

  test('a forwarded message that cannot be parsed is kept whole, with a note', () =>
    tally.check(async () => {
      const parts = Array.from({ length: 30 }, (_, i) => `--z\r\nContent-Type: text/plain\r\n\r\n${i}\r\n`).join('');
      const inner = `Subject: too many parts\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n${parts}--z--\r\n`;
      const raw = `From: a@x.example\r\nSubject: fwd\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(inner).toString('base64')}\r\n--o--\r\n`;
      const { document } = await parseStored(raw, { ...DEFAULT_LIMITS, maxMimeParts: 20 });
      assert.deepEqual(
        document.attachments.map((a) => a.filename),
        ['too many parts.eml'],
      );
      assert.ok(document.notes?.some((n) => n.startsWith('The attachments of "too many parts.eml" could not be listed')), JSON.stringify(document.notes));
    }));

  test("a bounce's returned message stays one part: it is evidence, not a forward", async () => {
    const raw =
      'From: MAILER-DAEMON@mx.example\r\nSubject: failure\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n' +
      '--r\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n' +
      '--r\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <orig@customer.example>\r\nSubject: original\r\nContent-Type: multipart/mixed; boundary="i"\r\n\r\n--i\r\nContent-Type: application/pdf; name="a.pdf"\r\n\r\n%PDF-1.4\r\n--i--\r\n--r--\r\n';
    const { document } = await parseStored(raw);
    assert.equal(document.attachments.filter((a) => a.container).length, 0);
    assert.equal(document.returnedMessage?.messageId, 'orig@customer.example');
  });
});
