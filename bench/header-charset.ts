/**
 * Cost of reading legacy-charset headers, microseconds per message in one run: bare mailparser (same
 * options, parts drained), the same with the body-sample tap in front, the whole parseMime, and the
 * header step alone (decodeHeaderLines + redecodedFields); for ASCII mail, raw UTF-8 headers, and raw
 * GBK headers with the charset declared and undeclared (detection), and raw KOI8-R declared.
 * `node dist/bench/header-charset.js [--n 2000] [--runs 3]`
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { MailParser, type AttachmentStream, type MessageText } from 'mailparser';
import { DEFAULT_LIMITS } from '../src/domain/limits';
import { HeadSample } from '../src/parsing/charset-sources';
import { decodeHeaderLines, redecodedFields, type HeaderLine } from '../src/parsing/header-charset';
import { parseMime } from '../src/parsing/parse-mime';

const FIXTURES = join(__dirname, '..', '..', 'test', 'fixtures');
const ASCII = Buffer.from(
  [
    'Received: from mx.example.net (mx.example.net [192.0.2.1]) by mail.mailgate.local with ESMTPS; Mon, 07 Dec 2026 10:00:00 +0000',
    'DKIM-Signature: v=1; a=rsa-sha256; d=example.net; s=s1; h=from:to:subject:date; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA',
    'From: "Jane Doe" <jane@example.net>',
    'To: Support <support@mailgate.local>',
    'Cc: "Bob Smith" <bob@example.net>',
    'Subject: Invoice 4711 is wrong',
    'Date: Mon, 07 Dec 2026 10:00:00 +0000',
    'Message-ID: <ascii-bench@example.net>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'Hello, the amount on invoice 4711 is wrong. Please check.',
    '',
  ].join('\r\n'),
);
/** Name, message, and the body charset it declares (what the header step is told). */
const INPUTS: [string, Buffer, string | null][] = [
  ['ASCII headers', ASCII, 'us-ascii'],
  ['raw UTF-8 headers (RFC 6532)', readFileSync(join(FIXTURES, 'charset', 'utf8-headers-latin1-body.eml')), 'iso-8859-1'],
  ['raw GBK, charset declared', readFileSync(join(FIXTURES, 'charset', 'gbk-declared.eml')), 'GBK'],
  ['raw KOI8-R, charset declared', readFileSync(join(FIXTURES, 'charset', 'koi8-r-declared.eml')), 'KOI8-R'],
  ['raw GBK, undeclared (detection)', readFileSync(join(FIXTURES, 'charset', 'gbk-undeclared.eml')), null],
];

const discard = async (_part: unknown, content: Readable): Promise<{ partKey: string }> => {
  content.resume();
  await new Promise((r) => content.on('end', r));
  return { partKey: 'discarded' };
};

async function bareMailparser(raw: Buffer, tap: boolean): Promise<void> {
  const parser = new MailParser({ skipTextToHtml: true, skipImageLinks: true, keepDeliveryStatus: true, maxChildNodes: DEFAULT_LIMITS.maxMimeParts });
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'attachment') {
      data.content.resume();
      data.content.on('end', () => data.release?.());
    }
  });
  await new Promise<void>((resolve, reject) => {
    parser.on('end', resolve).on('error', reject);
    const source = Readable.from([raw]);
    (tap ? source.pipe(new HeadSample()) : source).pipe(parser);
  });
}

async function bestOf(runs: number, n: number, work: () => Promise<unknown>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await work();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e3 / n);
  }
  return best;
}

/** The header block as mailsplit hands it over: one binary string per (folded) line. */
function headerLines(raw: Buffer): HeaderLine[] {
  const text = raw.toString('latin1');
  const block = text.slice(0, text.indexOf('\r\n\r\n'));
  return block.split(/\r\n(?![ \t])/).map((line) => ({ key: line.slice(0, line.indexOf(':')).trim().toLowerCase(), line }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '2000' }, runs: { type: 'string', default: '3' } } });
  const n = Number(values.n);
  const runs = Number(values.runs);
  if (!(n >= 1) || !(runs >= 1)) throw new Error('--n and --runs must be positive numbers');
  process.stdout.write(`message (${n} each, best of ${runs})`.padEnd(36) + 'mailparser µs  + sample tap µs  parseMime µs  header step µs\n');
  for (const [name, raw, declared] of INPUTS) {
    await parseMime(Readable.from([raw]), { limits: DEFAULT_LIMITS, sink: discard });
    const bare = await bestOf(runs, n, () => bareMailparser(raw, false));
    const tapped = await bestOf(runs, n, () => bareMailparser(raw, true));
    const full = await bestOf(runs, n, () => parseMime(Readable.from([raw]), { limits: DEFAULT_LIMITS, sink: discard }));
    const lines = headerLines(raw);
    const body = raw.subarray(raw.indexOf('\r\n\r\n') + 4);
    const step = await bestOf(runs, n, () => {
      const decoded = decodeHeaderLines(lines, { declared: () => declared, bodySample: () => body });
      return Promise.resolve(redecodedFields(lines, decoded));
    });
    process.stdout.write(`${name.padEnd(36)}${bare.toFixed(1).padStart(13)}${tapped.toFixed(1).padStart(17)}${full.toFixed(1).padStart(14)}${step.toFixed(1).padStart(16)}\n`);
  }
}

void main();
