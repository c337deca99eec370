/**
 * Archives of every format for the hostile suite, built in the test: tar with tar-stream, gzip and
 * zstd with node:zlib. bzip2 and xz have no maintained pure-JS compressor, so those come from
 * test/fixtures/archives, written by its regenerate script with the bzip2 and xz tools.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createZstdCompress, gzipSync, zstdCompressSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { DEFAULT_ATTACHMENT_POLICY, evaluateAttachment, type AttachmentDecision, type AttachmentPolicy } from '../../src/domain/attachment-policy';
import { inspectArchive } from '../../src/parsing/archive-inspect';
import { deflatedZeros, peExecutable, shebangScript, wordDocument } from './files';

export interface TarMember {
  name: string;
  content: Buffer;
  type?: 'file' | 'directory' | 'symlink';
}

/** Entries dated at the epoch, so the committed fixtures regenerate byte for byte. */
const MTIME = new Date(0);

/** A ustar archive (pax headers for long names), as GNU tar and bsdtar read it. */
export async function tarArchive(members: TarMember[]): Promise<Buffer> {
  const tar = pack();
  const collected = collect(tar);
  for (const member of members) {
    const type = member.type ?? 'file';
    if (type === 'file') tar.entry({ name: member.name, size: member.content.length, mtime: MTIME }, member.content);
    else tar.entry({ name: member.name, type, mtime: MTIME, ...(type === 'symlink' ? { linkname: 'target' } : {}) });
  }
  tar.finalize();
  return collected;
}

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

export function gzip(bytes: Buffer, storedName?: string): Buffer {
  const zipped = gzipSync(bytes);
  if (storedName === undefined) return zipped;
  // FLG.FNAME (RFC 1952 2.3.1): the original name, zero-terminated, after the 10-byte header.
  const header = Buffer.from(zipped.subarray(0, 10));
  header[3] = (header[3] ?? 0) | 0x08;
  return Buffer.concat([header, Buffer.from(`${storedName}\0`, 'latin1'), zipped.subarray(10)]);
}

export function zstd(bytes: Buffer): Buffer {
  return zstdCompressSync(bytes);
}

/** A gzip member that inflates to `mebibytes` MiB of zeros; its trailer is left zero (never reached). */
export function gzipBomb(mebibytes: number): Buffer {
  const header = Buffer.from('1f8b0800000000000003', 'hex');
  return Buffer.concat([header, deflatedZeros(mebibytes * 1024 * 1024), Buffer.alloc(8)]);
}

/** zstd of `mebibytes` MiB of zeros, compressed from one reused buffer so it is never held whole. */
export async function zstdBomb(mebibytes: number): Promise<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  const parts: Buffer[] = [];
  await pipeline(
    Readable.from((function* () {
      for (let i = 0; i < mebibytes; i++) yield zeros;
    })()),
    createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 19 } }),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) parts.push(chunk);
    },
  );
  return Buffer.concat(parts);
}

/** The payloads hidden in each format: what the policy blocks by content or by name. */
export const PAYLOADS = {
  executable: { name: 'tool.exe', content: (): Buffer => peExecutable(), reason: /Windows executable \(PE\)/ },
  script: { name: 'run.sh', content: (): Buffer => shebangScript(), reason: /script with a "#!" interpreter line/ },
  macro: { name: 'report.docx', content: (): Buffer => wordDocument({ vbaProject: true, macroEnabled: false }), reason: /VBA macro project/ },
} as const;

export type PayloadKind = keyof typeof PAYLOADS;

export function payloadTar(kind: PayloadKind): Promise<Buffer> {
  const payload = PAYLOADS[kind];
  return tarArchive([{ name: `docs/${payload.name}`, content: payload.content() }]);
}

/** Inspects an archive as the scan activity does and returns the policy's decision on it. */
export async function judgeArchive(filename: string, bytes: Buffer | (() => Readable), limits: AttachmentPolicy = DEFAULT_ATTACHMENT_POLICY): Promise<AttachmentDecision> {
  const archive = await inspectArchive(typeof bytes === 'function' ? bytes : () => bytes, limits, filename);
  const head = Buffer.isBuffer(bytes) ? bytes.subarray(0, 64 * 1024) : Buffer.alloc(0);
  return evaluateAttachment({ filename, declaredType: 'application/octet-stream', size: head.length, head, archive }, limits);
}

/** Bytes of a committed fixture in test/fixtures/archives. */
export function archiveFixture(name: string): Buffer {
  return readFileSync(join(__dirname, '..', '..', '..', 'test', 'fixtures', 'archives', name));
}

/** Signature-correct heads of formats not opened here: enough for detection, nothing to open. */
export function unopenedArchive(format: '7z' | 'rar' | 'cab' | 'iso'): Buffer {
  const filler = Buffer.alloc(600, 0x41);
  switch (format) {
    case '7z':
      return Buffer.concat([Buffer.from('377abcaf271c0004', 'hex'), filler]);
    case 'rar':
      return Buffer.concat([Buffer.from('526172211a070100', 'hex'), filler]);
    case 'cab':
      return Buffer.concat([Buffer.from('4d53434600000000', 'hex'), filler]);
    case 'iso': {
      const image = Buffer.alloc(17 * 2048);
      image.write('\u0001CD001\u0001', 16 * 2048, 'latin1');
      return image;
    }
  }
}
