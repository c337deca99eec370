/**
 * Inspection speed of a 20 MiB attachment: a tar.gz and a zip of the same 22 files of 1 MiB
 * (half random bytes, half base64 text, so deflate has work both ways), read as a stream in 64 KiB chunks
 * the way the scan activity reads the object store. Prints the median of five runs per format and
 * the peak RSS. No services needed:
 *   scripts/with-env node dist/bench/archive-inspection.js
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { DEFAULT_ATTACHMENT_POLICY } from '../src/domain/attachment-policy';
import { inspectZip } from '../src/parsing/archive-inspect';
import { zipArchive } from '../test/helpers/files';

const MiB = 1024 * 1024;
const RUNS = 5;

/** 22 files of 1 MiB, random bytes and base64 text by turns: about 20 MiB once deflated. */
function files(): { name: string; content: Buffer }[] {
  const text = (): Buffer => Buffer.from(randomBytes(MiB).toString('base64').replace(/(.{76})/g, '$1\n')).subarray(0, MiB);
  return Array.from({ length: 22 }, (_, i) => ({ name: `logs/part-${i}.${i % 2 ? 'log' : 'bin'}`, content: i % 2 ? text() : randomBytes(MiB) }));
}

async function tarOf(members: { name: string; content: Buffer }[]): Promise<Buffer> {
  const tar = pack();
  for (const m of members) tar.entry({ name: m.name, size: m.content.length }, m.content);
  tar.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of tar) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

function stream(bytes: Buffer): Readable {
  const chunk = 64 * 1024;
  return Readable.from(Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk)));
}

async function time(label: string, bytes: Buffer, name: string): Promise<void> {
  const samples: number[] = [];
  let entries = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = process.hrtime.bigint();
    // inspectZip is the one entry point before and after this change (now an alias of inspectArchive).
    const report = await inspectZip(() => stream(bytes), DEFAULT_ATTACHMENT_POLICY, name);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    entries = report.entries.length;
    if (report.errors.length > 0 || report.bomb) console.log(`${label}: ${report.errors[0] ?? report.bomb}`);
  }
  samples.sort((a, b) => a - b);
  const median = samples[Math.floor(RUNS / 2)] ?? 0;
  console.log(`${label}: ${(bytes.length / MiB).toFixed(1)} MiB, ${entries} entries listed, median ${median.toFixed(0)} ms (${samples.map((s) => s.toFixed(0)).join(', ')})`);
}

async function main(): Promise<void> {
  const members = files();
  const tgz = gzipSync(await tarOf(members), { level: 6 });
  const zip = zipArchive(members);
  await time('zip', zip, 'logs.zip');
  await time('tar.gz', tgz, 'logs.tar.gz');
  console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

void main();
