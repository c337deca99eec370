/**
 * Fidelity class 4, legacy transfer encodings: x-uuencode parts and `begin … end` blocks in plain
 * bodies arrive as the files the sender attached, through the same sink and limits as every other
 * attachment; damage keeps what decodes and says what was lost.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/limits';
import type { EmailDocument } from '../../src/domain/email';
import { parseMime, type PartInfo } from '../../src/parsing/parse-mime';
import { decodeUuLine, extractUuBlocks, UudecodeStream, uuFileName } from '../../src/parsing/uuencode';
import { ROOT } from '../helpers/stack';

const FIXTURES = path.join(ROOT, 'test/fixtures/fidelity-accept');
const fixture = (name: string): Buffer => readFileSync(path.join(FIXTURES, name));
const REPORT = fixture('report.bin');
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Parses a message and keeps what the sink received, by part index. */
async function parse(raw: Buffer, limits: Limits = DEFAULT_LIMITS): Promise<{ document: EmailDocument; stored: Map<number, { info: PartInfo; bytes: Buffer }> }> {
  const stored = new Map<number, { info: PartInfo; bytes: Buffer }>();
  const document = await parseMime(Readable.from([raw]), {
    limits,
    sink: async (info, content) => {
      const chunks: Buffer[] = [];
      for await (const chunk of content) chunks.push(chunk as Buffer);
      stored.set(info.index, { info, bytes: Buffer.concat(chunks) });
      return { partKey: `parts/test/${info.index}` };
    },
  });
  return { document, stored };
}

let passed = 0;
let total = 0;
/** A fidelity case: counted in the class line. */
function fidelity(name: string, body: () => Promise<void> | void): void {
  total++;
  test(name, async () => {
    await body();
    passed++;
  });
}
after(() => {
  process.stdout.write(`# fidelity class 4 (legacy transfer encodings): ${passed}/${total}\n`);
});

describe('uuencoded MIME parts', () => {
  for (const [file, encoding] of [
    ['uu-cte-x-uuencode.eml', 'x-uuencode'],
    ['uu-cte-x-uue.eml', 'X-UUE'],
  ] as const) {
    fidelity(`a part with Content-Transfer-Encoding ${encoding} is stored as the decoded file under its name`, async () => {
      const { document, stored } = await parse(fixture(file));
      assert.equal(document.attachments.length, 1);
      const [part] = document.attachments;
      assert.equal(part?.filename, 'report.bin');
      assert.equal(part?.size, REPORT.length);
      assert.equal(part?.sha256, sha256(REPORT));
      assert.ok(stored.get(0)?.bytes.equals(REPORT), 'the sink received the decoded bytes');
      assert.equal(part?.skippedReason, null);
      assert.match(document.text, /^The report is attached\.\s*$/);
    });
  }

  fidelity('a uuencoded part without a file name of its own takes the name on its begin line', async () => {
    const { document, stored } = await parse(fixture('uu-cte-uuencode-unnamed.eml'));
    assert.equal(document.attachments[0]?.filename, 'report.bin');
    assert.ok(stored.get(0)?.bytes.equals(REPORT));
  });

  fidelity('a part typed application/x-uuencode (no transfer encoding) is decoded and typed by its begin line', async () => {
    const raw = fixture('uu-cte-uuencode-unnamed.eml')
      .toString('latin1')
      .replace('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: uuencode', 'Content-Type: application/x-uuencode\r\nContent-Transfer-Encoding: 7bit');
    const { document, stored } = await parse(Buffer.from(raw, 'latin1'));
    assert.equal(document.attachments[0]?.filename, 'report.bin');
    assert.equal(document.attachments[0]?.contentType, 'application/octet-stream');
    assert.ok(stored.get(0)?.bytes.equals(REPORT));
  });

  fidelity('an inline text part declared x-uuencode reaches the text, and its block still becomes the file', async () => {
    const raw = fixture('uu-cte-x-uuencode.eml')
      .toString('latin1')
      .replace('Content-Type: application/octet-stream; name="report.bin"\r\nContent-Disposition: attachment; filename="report.bin"', 'Content-Type: text/plain');
    const { document, stored } = await parse(Buffer.from(raw, 'latin1'));
    assert.deepEqual(document.attachments.map((a) => a.filename), ['report.bin']);
    assert.ok(stored.get(0)?.bytes.equals(REPORT));
    assert.match(document.text, /\[attachment: report\.bin\]/);
  });

  fidelity('a uuencoded part larger than the attachment limit is not stored, like any other part', async () => {
    const { document } = await parse(fixture('uu-cte-x-uuencode.eml'), { ...DEFAULT_LIMITS, maxAttachmentBytes: 500 });
    assert.match(document.attachments[0]?.skippedReason ?? '', /500-byte attachment limit/);
  });

  fidelity('a part declared uuencoded that holds no begin line is kept as it arrived, with a note', async () => {
    const raw = Buffer.from(
      'From: a@customer.example\r\nSubject: odd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--b\r\nContent-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nnot uuencoded at all\r\n--b--\r\n',
    );
    const { document, stored } = await parse(raw);
    assert.equal(stored.get(0)?.bytes.toString(), 'not uuencoded at all');
    assert.match(document.text, /\[attachment: x\.bin, no begin line: stored as it arrived, not decoded\]/);
  });
});

describe('begin … end blocks in a plain text body', () => {
  fidelity('each block becomes an attachment with its name, and a short note takes its place in the text', async () => {
    const { document, stored } = await parse(fixture('uu-body-two-blocks.eml'));
    assert.deepEqual(document.attachments.map((a) => [a.filename, a.contentType, a.size]), [
      ['notes.txt', 'text/plain', 23],
      ['report.bin', 'application/octet-stream', REPORT.length],
    ]);
    assert.equal(stored.get(0)?.bytes.toString(), 'Meeting notes\nline two\n');
    assert.ok(stored.get(1)?.bytes.equals(REPORT), 'the mode (600) does not change the content');
    assert.match(document.text, /please find the files below\.\n\n\[attachment: notes\.txt\]\n\nand the report:\n\n\[attachment: report\.bin\]\n\nRegards,/);
    assert.doesNotMatch(document.text, /^begin |^end$|^M/m);
  });

  fidelity('lines whose trailing spaces a relay stripped decode to the zero bytes those spaces were', async () => {
    const { document, stored } = await parse(fixture('uu-body-stripped-spaces.eml'));
    assert.ok(stored.get(0)?.bytes.equals(Buffer.concat([Buffer.alloc(100), Buffer.from('tail')])));
    assert.match(document.text, /^Zeros follow\.\n\[attachment: zeros\.bin\]\nbye/);
  });

  fidelity('a truncated block keeps what decoded and says the end line is missing', async () => {
    const { document, stored } = await parse(fixture('uu-body-truncated.eml'));
    assert.ok(stored.get(0)?.bytes.equals(REPORT.subarray(0, 9 * 45)), 'nine whole lines of 45 bytes');
    assert.match(document.text, /\[attachment: report\.bin, incomplete: the block ends without its end line\]/);
  });

  fidelity('a mangled line is skipped and counted, and the lines after it still decode', async () => {
    const { document, stored } = await parse(fixture('uu-body-broken-line.eml'));
    const bytes = stored.get(0)?.bytes ?? Buffer.alloc(0);
    assert.ok(bytes.equals(Buffer.concat([REPORT.subarray(0, 4 * 45), REPORT.subarray(5 * 45)])));
    assert.match(document.text, /\[attachment: report\.bin, incomplete: 1 broken line skipped\]\nthanks/);
  });

  fidelity('a block that stops after its zero-length line leaves the text after it alone', () => {
    const { text, blocks } = extractUuBlocks('begin 644 a.txt\n!80``\n\nREGARDS,\nJOHN\n', { maxBlocks: 5, maxBytes: 1000 });
    assert.equal(blocks[0]?.content.toString(), 'a');
    assert.equal(text, '[attachment: a.txt, incomplete: the block ends without its end line]\nREGARDS,\nJOHN\n');
  });

  fidelity('the uuencode -m form (begin-base64 … ====) decodes too', async () => {
    const { stored } = await parse(fixture('uu-body-base64.eml'));
    assert.ok(stored.get(0)?.bytes.equals(REPORT));
  });

  fidelity('prose that starts with "begin 644" stays text', async () => {
    const { document } = await parse(fixture('uu-body-prose.eml'));
    assert.equal(document.attachments.length, 0);
    assert.match(document.text, /^begin 644 days ago we asked for a refund\./);
  });

  fidelity('a begin line naming a path stores the file under its base name', async () => {
    const { document } = await parse(fixture('uu-body-traversal.eml'));
    assert.equal(document.attachments[0]?.filename, 'passwd');
  });

  fidelity('blocks past the attachment count are listed as skipped, never handed to the sink', async () => {
    const { document, stored } = await parse(fixture('uu-body-two-blocks.eml'), { ...DEFAULT_LIMITS, maxAttachments: 1 });
    assert.equal(document.attachments[0]?.skippedReason, null);
    assert.match(document.attachments[1]?.skippedReason ?? '', /over the limit of 1 attachments/);
    assert.deepEqual([...stored.keys()], [0]);
  });

  fidelity('a block larger than the attachment limit stops decoding just past it and is not stored', async () => {
    const { document } = await parse(fixture('uu-body-two-blocks.eml'), { ...DEFAULT_LIMITS, maxAttachmentBytes: 100 });
    assert.equal(document.attachments[0]?.skippedReason, null);
    assert.match(document.attachments[1]?.skippedReason ?? '', /100-byte attachment limit/);
    assert.match(document.text, /\[attachment: report\.bin, incomplete: decoding stopped at the 100-byte attachment limit\]/);
  });
});

describe('the decoder itself', () => {
  test('decodes a line by its length character and rejects characters outside the alphabet', () => {
    assert.equal(decodeUuLine('+:&5L;&\\@=V]R;&0*')?.toString(), 'hello world');
    assert.equal(decodeUuLine('`')?.length, 0);
    assert.equal(decodeUuLine('M this has lower case'), null);
  });

  test('file names lose directories and control characters', () => {
    assert.equal(uuFileName('C:\\temp\\a.txt'), 'a.txt');
    assert.equal(uuFileName('..'), 'uuencoded.bin');
    assert.equal(uuFileName('a\u0007b.txt'), 'ab.txt');
  });

  test('the streaming decoder gives the same bytes however the input is chunked', async () => {
    const text = fixture('uu-cte-x-uuencode.eml').toString('latin1');
    const block = text.slice(text.indexOf('begin 644'), text.indexOf('\r\nend\r\n') + 7);
    for (const size of [1, 3, 64, 100_000]) {
      const input = Buffer.from(block, 'latin1');
      const chunks = Array.from({ length: Math.ceil(input.length / size) }, (_, i) => input.subarray(i * size, (i + 1) * size));
      const decoder = new UudecodeStream();
      const out: Buffer[] = [];
      for await (const chunk of Readable.from(chunks).pipe(decoder)) out.push(chunk as Buffer);
      assert.ok(Buffer.concat(out).equals(REPORT), `chunks of ${size}`);
      assert.equal(decoder.name, 'report.bin');
      assert.equal(decoder.note, null);
    }
  });

  test('at most maxBlocks blocks are taken out of one text; the rest stay as text', () => {
    const block = 'begin 644 a.txt\n!80``\n`\nend';
    const { blocks, text } = extractUuBlocks(`${block}\n${block}\n${block}`, { maxBlocks: 2, maxBytes: 1000 });
    assert.equal(blocks.length, 2);
    assert.equal(blocks[0]?.content.toString(), 'a');
    assert.match(text, /^\[attachment: a\.txt\]\n\[attachment: a\.txt\]\nbegin 644 a\.txt/);
  });

  test('garbage never throws: random bytes after a begin line decode to something or nothing', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 200; n++) {
      const junk = Array.from({ length: 400 }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('');
      assert.doesNotThrow(() => extractUuBlocks(`begin 644 x\nM${junk}\nend\n`, { maxBlocks: 5, maxBytes: 1000 }));
    }
  });
});
