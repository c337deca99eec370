/**
 * Fidelity class 1, real mail accepted: messages that begin with an mbox separator, blank lines or a
 * stray line, or carry a broken line among their headers, or have no header at all, are read by the
 * ingress and by the parse step with their real headers; bytes that are plainly not mail are refused
 * with the reason. Each case runs through readHeaderBlock (the ingress) and parseMime (the parse step).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NotAnEmailError, readHeaderBlock } from '../../src/ingress/mime-headers';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { findMailStart, MailPrefixStripper, PREFIX_WINDOW } from '../../src/parsing/mail-prefix';
import { parseMime } from '../../src/parsing/parse-mime';
import { ROOT } from '../helpers/stack';

const FIXTURES = path.join(ROOT, 'test/fixtures/fidelity-accept');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));

const discard = async (_part: unknown, content: Readable): Promise<{ partKey: string }> => {
  content.resume();
  await new Promise((r) => content.on('end', r));
  return { partKey: 'discarded' };
};

const HEADERS = 'From: Ann Customer <ann@customer.example>\nTo: support@mailgate.local\nSubject: Printer jam\nMessage-ID: <jam@customer.example>\n';
const crlf = (text: string): string => text.replace(/\n/g, '\r\n');

interface Accepted {
  name: string;
  raw: Buffer;
  subject: string;
  from: string | null;
  /** What the ticket text must contain, and must not (prefix lines leaking into the body). */
  text: RegExp;
  notText?: RegExp;
}

const accepted: Accepted[] = [
  { name: 'an mbox separator line (LF)', raw: Buffer.from(`From ann@customer.example Mon Jan  1 00:00:00 2001\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'an mbox separator line (CRLF)', raw: Buffer.from(crlf(`From ann@customer.example Mon Jan  1 00:00:00 2001\n${HEADERS}\nThe printer jams.\n`)), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a quoted >From separator', raw: Buffer.from(`>From ann@customer.example Mon Jan  1 00:00:00 2001\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'an mbox separator, then a blank line', raw: Buffer.from(`From ann@customer.example Mon Jan  1 00:00:00 2001\n\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'one blank line (CRLF)', raw: Buffer.from(crlf(`\n${HEADERS}\nThe printer jams.\n`)), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'three blank lines (LF), one of them spaces', raw: Buffer.from(`\n  \t\n\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a UTF-8 byte order mark', raw: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(crlf(`${HEADERS}\nThe printer jams.\n`))]), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a stray junk line', raw: Buffer.from(crlf(`garbage left by a script\n${HEADERS}\nThe printer jams.\n`)), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/, notText: /garbage/ },
  { name: 'an MMDF separator', raw: Buffer.from(`\x01\x01\x01\x01\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a POP3 +OK line', raw: Buffer.from(crlf(`+OK 812 octets\n${HEADERS}\nThe printer jams.\n`)), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/, notText: /octets/ },
  { name: 'an mbox separator and a stray line', raw: Buffer.from(`From ann@customer.example Mon Jan  1 00:00:00 2001\nX\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a broken line in the middle of the header block', raw: Buffer.from(crlf(`From: Ann Customer <ann@customer.example>\nthis line lost its field name\nTo: support@mailgate.local\nSubject: Printer jam\n\nThe printer jams.\n`)), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'a header block with only an unusual field', raw: Buffer.from('X-Ticket-Form: 7\n\nThe printer jams.\n'), subject: '', from: null, text: /^The printer jams/ },
  { name: 'a body without any header', raw: Buffer.from('The printer jams.\nPlease call me.\n'), subject: '', from: null, text: /^The printer jams\.\nPlease call me/ },
  { name: 'prose whose second line looks like a field keeps its first line', raw: Buffer.from('Dear team,\nNote: the printer jams again\n\nthanks\n'), subject: '', from: null, text: /^Dear team,\nNote: the printer jams again/ },
  { name: 'prose that starts with "From " keeps its first line', raw: Buffer.from('From what I can tell, the printer jams.\n\nPlease call me.\n'), subject: '', from: null, text: /^From what I can tell, the printer jams\.\n\nPlease call me/ },
  { name: 'a date-less From_ line above the headers', raw: Buffer.from(`From ann@customer.example\n${HEADERS}\nThe printer jams.\n`), subject: 'Printer jam', from: 'ann@customer.example', text: /^The printer jams/ },
  { name: 'corpus: mikel/mail attachment_with_encoded_name.eml (mbox)', raw: fixture('attachment_with_encoded_name.eml'), subject: 'Fwd: Signed email causes file attachments', from: 'xxxxxxxxx.xxxxxxx@gmail.com', text: /Forwarded message/ },
  { name: 'corpus: mikel/mail attachment_with_base64_encoded_name.eml (mbox)', raw: fixture('attachment_with_base64_encoded_name.eml'), subject: 'Fwd: Signed email causes file attachments', from: 'xxxxxxxxx.xxxxxxx@gmail.com', text: /Forwarded message/ },
  { name: 'corpus: mikel/mail raw_email_with_nested_attachment.eml (mbox)', raw: fixture('raw_email_with_nested_attachment.eml'), subject: 'Testing attachments', from: 'jamis@37signals.com', text: /./ },
  { name: 'corpus: mikel/mail raw_email_with_illegal_boundary.eml (mbox)', raw: fixture('raw_email_with_illegal_boundary.eml'), subject: 'Testing outlook', from: 'email_test@me.nowhere', text: /./, notText: /^From / },
  { name: 'corpus: mime4j malformedHeaderStartsBody-noheader.msg (no header)', raw: fixture('malformedHeaderStartsBody-noheader.msg'), subject: '', from: null, text: /^This is a simple message not having headers\.\nThe whole text should be recognized as body\./ },
];

const refused: { name: string; raw: Buffer; reason: RegExp }[] = [
  { name: 'an empty body', raw: Buffer.alloc(0), reason: /empty/ },
  { name: 'nothing but blank lines', raw: Buffer.from('\r\n\r\n   \r\n'), reason: /neither a header field nor any text/ },
  { name: 'nothing but an mbox separator', raw: Buffer.from('From ann@customer.example Mon Jan  1 00:00:00 2001\n\n'), reason: /neither a header field nor any text/ },
  { name: 'a PNG image', raw: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]), Buffer.from('IHDR')]), reason: /binary data, not text: a NUL byte/ },
  { name: 'binary garbage without NUL bytes', raw: Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 31 || 1)), reason: /binary data, not text: \d+ control bytes/ },
  { name: 'a JSON document', raw: Buffer.from('{"subject":"hi","from":"ann@customer.example"}\n'), reason: /JSON document/ },
  { name: 'an HTML page', raw: Buffer.from('<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n'), reason: /HTML page/ },
  { name: 'an XML document', raw: Buffer.from('<?xml version="1.0"?>\n<feed/>\n'), reason: /XML document/ },
  { name: 'a PDF file', raw: Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n', 'latin1'), reason: /PDF document/ },
  { name: 'an HTTP response with its headers', raw: Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nDate: Mon, 1 Jan 2001 00:00:00 GMT\r\n\r\n<p>hi</p>'), reason: /HTTP message/ },
];

let passed = 0;
const total = accepted.length + refused.length;
after(() => {
  process.stdout.write(`# fidelity class 1 (real mail accepted): ${passed}/${total}\n`);
});

describe('real mail is accepted by the ingress and parsed by its real headers', () => {
  for (const c of accepted) {
    test(`a message with ${c.name} is accepted and parsed with its headers`, async () => {
      const headers = readHeaderBlock(c.raw);
      if (c.from) assert.ok(headers.get('from')?.includes(c.from), `the ingress reads From: ${headers.get('from')}`);
      else assert.equal(headers.get('from'), undefined);
      const document = await parseMime(Readable.from([c.raw]), { limits: DEFAULT_LIMITS, sink: discard });
      assert.equal(document.subject, c.subject);
      assert.equal(document.from?.address ?? null, c.from);
      assert.match(document.text, c.text);
      if (c.notText) assert.doesNotMatch(document.text, c.notText);
      passed++;
    });
  }
});

describe('bytes that are plainly not mail are refused, and the refusal says why', () => {
  for (const c of refused) {
    test(`${c.name} is refused`, () => {
      assert.throws(() => readHeaderBlock(c.raw), (error: unknown) => error instanceof NotAnEmailError && c.reason.test(error.message));
      passed++;
    });
  }
});

describe('the prefix stripper in front of the parser', () => {
  test('passes a message without a prefix through byte for byte, however it is chunked', async () => {
    const raw = Buffer.from(crlf(`${HEADERS}\n${'The printer jams.\n'.repeat(3000)}`));
    for (const size of [1, 7, 4096, PREFIX_WINDOW + 1]) {
      const chunks = Array.from({ length: Math.ceil(raw.length / size) }, (_, i) => raw.subarray(i * size, (i + 1) * size));
      const out: Buffer[] = [];
      for await (const chunk of Readable.from(chunks).pipe(new MailPrefixStripper())) out.push(chunk as Buffer);
      assert.ok(Buffer.concat(out).equals(raw), `unchanged in chunks of ${size}`);
    }
  });

  test('removes the mbox separator and blank lines, and puts an empty header block in front of a bare body', async () => {
    const strip = async (text: string): Promise<string> => {
      const out: Buffer[] = [];
      for await (const chunk of Readable.from([Buffer.from(text)]).pipe(new MailPrefixStripper())) out.push(chunk as Buffer);
      return Buffer.concat(out).toString();
    };
    assert.equal(await strip('From a@b.example Mon Jan  1 00:00:00 2001\r\n\r\nSubject: x\r\n\r\nbody'), 'Subject: x\r\n\r\nbody');
    assert.equal(await strip('just text\nmore\n'), '\njust text\nmore\n');
  });

  test('names what it skipped', () => {
    const start = findMailStart(Buffer.from(`\n\nFrom ann@customer.example Mon Jan  1 00:00:00 2001\njunk\n${HEADERS}\nbody`));
    assert.deepEqual(start.skipped, ['2 blank lines', 'an mbox separator', 'a stray line']);
    assert.equal(start.bodyOnly, false);
  });

  test('does not skip more than three stray lines, nor stray lines above a block without a known field', () => {
    assert.equal(findMailStart(Buffer.from(`a\nb\nc\nd\n${HEADERS}\nbody`)).bodyOnly, true);
    assert.equal(findMailStart(Buffer.from('Hello,\nNote: see below\nPS: thanks\n\nbody')).bodyOnly, true);
  });
});
