/**
 * The formats read front to back in one pass: tar (tar-stream: ustar, pax and GNU long names) and
 * the single-stream compressors (decompress.ts). Their bytes arrive as chunks, from the object
 * store or from the entry of an enclosing archive, and nothing is held beyond one chunk and a
 * file's head; a tar.gz is one archive level (the tar opens at the gzip's level), a gzip of a
 * gzip is two.
 */
import { pipeline } from 'node:stream/promises';
import { extract } from 'tar-stream';
import { FORMAT_NAMES } from '../domain/archive-format';
import { decompressor, type StreamFormat } from './decompress';
import { FileContent, ZipBombError, type Inspection } from './inspection';

/** Bytes read to find a gzip header's original file name (RFC 1952 2.3.1, FNAME). */
const GZIP_HEADER_BYTES = 1024;
/** Extensions a compressor adds, and what the file was called before (tar.gz's short forms). */
const COMPRESSED_NAMES: [RegExp, string][] = [
  [/\.(tgz|taz|tbz2?|tbz|txz|tzst|tzs)$/i, '.tar'],
  [/\.(gz|gzip|z|bz2|bzip2|bz|xz|zst|zstd)$/i, ''],
];

/** Where a walked archive sits: `label` names it in errors ('' at the top), `prefix` starts its entries' paths. */
export interface Place {
  label: string;
  prefix: string;
  /** The compressed file's own name, from which the decompressed file's name is derived. */
  name: string;
}

export async function walkTar(inspection: Inspection, chunks: AsyncIterable<Buffer>, place: Place, depth: number): Promise<void> {
  inspection.reached(depth);
  // V7 headers carry no ustar magic; archiveFormatOf already vouched for the checksum.
  const tar = extract({ allowUnknownFormat: true } as Parameters<typeof extract>[0]);
  let stop = false;
  // tar-stream is a writable whose entries are read as they are parsed; the feeder writes the
  // chunks in and reads its source to the end whatever happens to the parse, so the caller's
  // iterator is never read from two places at once.
  const feeding = (async () => {
    try {
      for await (const chunk of chunks) {
        if (stop || tar.destroyed) continue;
        if (!tar.write(chunk)) await writable(tar);
      }
      if (!tar.destroyed) tar.end(undefined);
    } catch (error) {
      tar.destroy(error as Error);
      throw error;
    }
  })();
  try {
    for await (const entry of tar) {
      inspection.countEntries(1);
      const path = place.prefix + entry.header.name;
      // Every entry's data is read and judged: POSIX has an unknown typeflag extracted as a regular
      // file, so only the types that carry no data of their own are let off when they carry none.
      const content = new FileContent(inspection, { path, depth }, entry.header.size);
      await content.consume(bytesOf(entry));
      if (content.bytes > 0 || !DATALESS_TYPES.has(entry.header.type)) {
        await inspection.judge(content, { path, depth }, { size: content.bytes, compressedSize: entry.header.size });
      }
    }
  } catch (error) {
    stop = true;
    tar.destroy();
    await feeding.catch(() => undefined);
    inspection.problem(place.label ? `"${place.label}": ` : '', error);
    return;
  }
  await feeding;
}

/** Resolves when the parser wants more input, or is gone; leaves no listener behind either way. */
function writable(tar: ReturnType<typeof extract>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      tar.off('drain', done);
      tar.off('close', done);
      resolve();
    };
    tar.on('drain', done);
    tar.on('close', done);
  });
}

/** Links, directories, devices and FIFOs carry no data of their own. */
const DATALESS_TYPES = new Set<string | null>(['directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

async function* bytesOf(entry: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of entry) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('a tar entry must yield bytes');
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

export async function walkCompressed(inspection: Inspection, format: StreamFormat, chunks: AsyncIterable<Buffer>, place: Place, depth: number): Promise<void> {
  inspection.reached(depth);
  const where = place.label ? `"${place.label}": ` : '';
  if (format === 'xz' && inspection.xzOpen) {
    inspection.report.errors.push(`${where}an xz stream inside an xz stream is not opened`);
    for await (const _chunk of chunks);
    return;
  }
  let input = 0;
  let storedName: string | null = null;
  async function* counted(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      if (format === 'gzip' && input < GZIP_HEADER_BYTES) storedName ??= gzipName(chunk);
      input += chunk.length;
      yield chunk;
    }
  }
  const derived = derivedName(place.name);
  const limits = inspection.limits;
  const guard = (output: number, fed: number): void => {
    if (output > limits.maxArchiveUncompressedBytes) throw new ZipBombError(`${where}${FORMAT_NAMES[format]} data inflates past ${limits.maxArchiveUncompressedBytes} bytes`);
    inspection.checkRatio(`${where || 'the '}${FORMAT_NAMES[format]} data`, output, fed);
  };
  let output = 0;
  async function* guarded(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      output += chunk.length;
      guard(output, input);
      yield chunk;
    }
  }
  const facts = { path: place.prefix + derived, depth, tarAtSameDepth: true };
  const content = new FileContent(inspection, facts, null);
  inspection.countEntries(1);
  if (format === 'xz') inspection.xzOpen = true;
  const stream = decompressor(format, guard);
  try {
    await pipeline(counted(chunks), stream, guarded, content.consume);
  } catch (error) {
    inspection.problem(where, error);
  } finally {
    // Released here whatever the pipeline did: the xz decoder holds a process-wide lock until destroyed.
    stream.destroy();
    if (format === 'xz') inspection.xzOpen = false;
  }
  inspection.noteRatio(content.bytes, input);
  const alsoNamed = storedName !== null && storedName !== derived ? place.prefix + storedName : undefined;
  await inspection.judge(content, { ...facts, ...(alsoNamed ? { alsoNamed } : {}) }, { size: content.bytes, compressedSize: input });
}

/** The name a decompressing tool gives the output: "a.tar.gz" → "a.tar", "notes.txt.xz" → "notes.txt". */
export function derivedName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  for (const [pattern, replacement] of COMPRESSED_NAMES) {
    if (pattern.test(base)) return base.replace(pattern, replacement) || 'data';
  }
  return base === '' ? 'data' : base;
}

/**
 * The original name a gzip header stores (FLG.FNAME, ISO 8859-1, zero-terminated), which 7-Zip and
 * `gunzip -N` restore: judged beside the derived name, since either may be what the recipient gets.
 */
export function gzipName(header: Buffer): string | null {
  if (header.length < 10 || header[0] !== 0x1f || header[1] !== 0x8b) return null;
  const flags = header[3] ?? 0;
  if (!(flags & 0x08)) return null;
  let at = 10;
  if (flags & 0x04) at += 2 + (header.length >= 12 ? header.readUInt16LE(10) : 0);
  const end = header.indexOf(0, at);
  if (end < 0) return null;
  const name = header.toString('latin1', at, end).split(/[\\/]/).pop() ?? '';
  return name === '' ? null : name;
}
