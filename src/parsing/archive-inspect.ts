/**
 * Zip archives, opened the way the recipient's unzip tool opens them: through the central
 * directory (PKWARE APPNOTE 4.3.12), whatever the local headers claim. Every entry is inflated in
 * memory, never to disk, and its bytes are counted against one budget shared with any zips nested
 * inside, because a zip's declared sizes are the sender's word and bombs lie in them.
 *
 * Parsed here rather than with yauzl: the part comes from the object store as a stream, and a
 * random-access library would need the whole part in memory (25 MiB) or a stream per read. From a
 * stream this takes two passes (three when the central directory is larger than TAIL_BYTES, in
 * zip-source.ts): one for the end record, one through the entries in order. Only a zip nested
 * inside is held whole.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInflateRaw } from 'node:zlib';
import { assertAttachmentPolicy, judgeFile, type AttachmentPolicy } from '../domain/attachment-policy';
import type { ArchiveEntry, ArchiveReport } from '../domain/archive-report';
import { isZipSignature } from '../domain/attachment-type';
import { findEnd, readCentralEntry, readLocalHeader, ZipFormatError, type CentralEntry, type EndRecord } from './zip-format';
import { bufferSource, chunksOf, Cursor, streamSource, type Source } from './zip-source';

/** Entries listed in a report: enough to explain a verdict, small enough to keep in workflow history. */
export const MAX_LISTED_ENTRIES = 200;
/** A zip inside a zip is held in memory to be read from its end; a larger one is reported, not opened. */
export const MAX_NESTED_ARCHIVE_BYTES = 8 * 1024 * 1024;
/** Inflated bytes kept per entry for type detection. */
const HEAD_BYTES = 64 * 1024;
/** Ratios are judged from this size up: a small run of one byte compresses beyond any bomb ratio, harmlessly. */
const RATIO_FLOOR_BYTES = 1024 * 1024;
/**
 * zlib output chunk. Measured here, 40 MiB inflated through a stream: 148 ms with the 16 KiB
 * default, 57 ms with 64 KiB; larger chunks gain little and leave more garbage between collections.
 */
const INFLATE_CHUNK_BYTES = 64 * 1024;

class ZipBombError extends Error {
  override name = 'ZipBombError';
}

export type ArchiveLimits = AttachmentPolicy;

/**
 * Inspects a zip and the zips inside it. `read` returns the archive's bytes, as a buffer or as a
 * new stream on each call; `limits` also decides each entry's blockedReason (kinds, allowlist).
 * Format errors are reported, not thrown; a failing stream rejects, so an activity can retry.
 */
export async function inspectZip(read: () => Readable | Buffer, limits: ArchiveLimits): Promise<ArchiveReport> {
  assertAttachmentPolicy(limits);
  const inspection = new Inspection(limits);
  try {
    await inspection.archive(streamSource(read), '', 1);
  } catch (error) {
    if (!(error instanceof ZipBombError)) throw error;
    inspection.report.bomb = error.message;
  }
  const { report } = inspection;
  report.totalUncompressed = Math.max(inspection.declared, inspection.inflated);
  return report;
}

class Inspection {
  readonly report: ArchiveReport = { entries: [], totalUncompressed: 0, maxRatio: 0, depth: 0, bomb: null, encrypted: false, errors: [] };
  declared = 0;
  inflated = 0;
  private entryCount = 0;

  constructor(private readonly limits: ArchiveLimits) {}

  async archive(source: Source, prefix: string, depth: number): Promise<void> {
    this.report.depth = Math.max(this.report.depth, depth);
    const where = prefix ? `"${prefix.slice(0, -1)}": ` : '';
    try {
      const { size, tail } = await source.tail();
      const end = findEnd(tail, size - tail.length);
      this.countEntries(end.entries);
      const entries = await this.readDirectory(source, tail, size - tail.length, end);
      const declared = entries.reduce((sum, e) => sum + e.size, 0);
      this.declared += declared;
      if (this.declared > this.limits.maxArchiveUncompressedBytes) {
        throw new ZipBombError(`${where}entries declare ${this.declared} bytes uncompressed, over the ${this.limits.maxArchiveUncompressedBytes}-byte limit`);
      }
      this.checkRatio(`${where}the archive`, declared, size);
      await this.readEntries(source, entries, end.directoryOffset, prefix, depth);
    } catch (error) {
      if (!(error instanceof ZipFormatError)) throw error;
      this.report.errors.push(`${where}${error.message}`);
    }
  }

  private countEntries(count: number): void {
    this.entryCount += count;
    if (this.entryCount > this.limits.maxArchiveEntries) {
      throw new ZipBombError(`${this.entryCount} entries, over the ${this.limits.maxArchiveEntries}-entry limit`);
    }
  }

  private checkRatio(what: string, uncompressed: number, compressed: number): void {
    const ratio = uncompressed / Math.max(compressed, 1);
    if (uncompressed >= RATIO_FLOOR_BYTES && ratio > this.limits.maxCompressionRatio) {
      throw new ZipBombError(`${what} expands ${Math.round(ratio)}:1, over the ${this.limits.maxCompressionRatio}:1 limit`);
    }
  }

  private async readDirectory(source: Source, tail: Buffer, tailStart: number, end: EndRecord): Promise<CentralEntry[]> {
    const inTail = end.directoryOffset >= tailStart;
    const cursor = inTail ? new Cursor(chunksOf(tail), tailStart) : source.open();
    try {
      await cursor.skipTo(end.directoryOffset);
      const entries: CentralEntry[] = [];
      while (cursor.position < end.directoryOffset + end.directorySize) {
        entries.push(await readCentralEntry(cursor));
        if (entries.length > end.entries) this.countEntries(1);
      }
      if (entries.length !== end.entries) throw new ZipFormatError(`the central directory holds ${entries.length} entries, the end record says ${end.entries}`);
      return entries.sort((a, b) => a.localOffset - b.localOffset);
    } finally {
      await cursor.close();
    }
  }

  private async readEntries(source: Source, entries: CentralEntry[], directoryOffset: number, prefix: string, depth: number): Promise<void> {
    const cursor = source.open();
    try {
      let previousEnd = 0;
      for (const entry of entries) {
        const path = prefix + entry.name;
        // Overlapping entries are how a bomb reuses one compressed kernel for every entry (Fifield, 2019).
        if (entry.localOffset < previousEnd) throw new ZipBombError(`entries overlap at "${path}"`);
        await cursor.skipTo(entry.localOffset);
        const dataStart = await readLocalHeader(cursor, entry, path);
        previousEnd = dataStart + entry.compressedSize;
        if (previousEnd > directoryOffset) throw new ZipFormatError(`"${path}" runs into the central directory`);
        await cursor.skipTo(dataStart);
        await this.entry(entry, cursor.range(entry.compressedSize), path, depth);
      }
    } finally {
      await cursor.close();
    }
  }

  private async entry(entry: CentralEntry, data: AsyncGenerator<Buffer>, path: string, depth: number): Promise<void> {
    const content = new EntryContent(this, path, entry.size);
    if (entry.flags & 0x0001) {
      // Traditional PKWARE or AES encryption (APPNOTE 4.4.4 bit 0, 7.2): only the name can be judged.
      this.report.encrypted = true;
    } else if (entry.method === 0 || entry.method === 8) {
      try {
        await (entry.method === 8 ? pipeline(data, createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES }), content.consume) : content.consume(data));
      } catch (error) {
        const problem = dataProblem(error);
        if (problem === null) throw error;
        this.report.errors.push(`"${path}": ${problem}`);
      } finally {
        this.report.maxRatio = Math.max(this.report.maxRatio, content.bytes / Math.max(entry.compressedSize, 1));
      }
    } else {
      this.report.errors.push(`"${path}": compression method ${entry.method} is not inspected`);
    }
    const size = content.bytes > 0 ? content.bytes : entry.size;
    this.report.maxRatio = Math.max(this.report.maxRatio, size / Math.max(entry.compressedSize, 1));
    if (content.bytes > entry.size) throw new ZipBombError(`"${path}" inflates to ${content.bytes} bytes but declares ${entry.size}`);
    this.checkRatio(`"${path}"`, size, entry.compressedSize);
    const head = content.head();
    const judged = await judgeFile({ filename: path, head }, this.limits);
    this.list({ name: path, size, compressedSize: entry.compressedSize, detectedType: judged.detected?.mime ?? null, blockedReason: judged.blockedBy });
    if (!isZipSignature(head)) return;
    if (depth >= this.limits.maxArchiveDepth) throw new ZipBombError(`archives nested more than ${this.limits.maxArchiveDepth} deep, at "${path}"`);
    if (content.nested) await this.archive(bufferSource(content.nested), `${path}/`, depth + 1);
    else this.report.errors.push(`"${path}": a nested archive over ${MAX_NESTED_ARCHIVE_BYTES} bytes is not inspected`);
  }

  /** Counts inflated bytes against the budget shared by every level. */
  spend(bytes: number, path: string, declared: number): void {
    this.inflated += bytes;
    if (this.inflated > this.limits.maxArchiveUncompressedBytes) {
      throw new ZipBombError(`over ${this.limits.maxArchiveUncompressedBytes} bytes inflated, at "${path}", which declares ${declared} bytes`);
    }
  }

  private list(entry: ArchiveEntry): void {
    const { entries } = this.report;
    if (entries.length < MAX_LISTED_ENTRIES) {
      entries.push(entry);
      return;
    }
    if (entry.blockedReason === null) return;
    const replaceable = entries.findLastIndex((e) => e.blockedReason === null);
    if (replaceable >= 0) entries[replaceable] = entry;
  }
}

/** One entry's inflated bytes: counted, the head kept, and all of it kept if it is a zip small enough to open. */
class EntryContent {
  bytes = 0;
  nested: Buffer | null = null;
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;
  /** Decided once the first four bytes are in. */
  private isZip: boolean | null = null;
  private nestedParts: Buffer[] | null = [];

  constructor(
    private readonly inspection: Inspection,
    private readonly path: string,
    private readonly declared: number,
  ) {}

  readonly consume = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of chunks) this.add(chunk);
    if (this.nestedParts && this.isZip) this.nested = Buffer.concat(this.nestedParts);
    this.nestedParts = null;
  };

  private add(chunk: Buffer): void {
    this.inspection.spend(chunk.length, this.path, this.declared);
    this.bytes += chunk.length;
    if (this.headBytes < HEAD_BYTES) {
      const piece = chunk.subarray(0, HEAD_BYTES - this.headBytes);
      this.headParts.push(piece);
      this.headBytes += piece.length;
      if (this.isZip === null && this.headBytes >= 4) this.isZip = isZipSignature(this.head());
    }
    if (this.isZip === false || this.bytes > MAX_NESTED_ARCHIVE_BYTES) this.nestedParts = null;
    this.nestedParts?.push(chunk);
  }

  head(): Buffer {
    return this.headParts.length === 1 && this.headParts[0] ? this.headParts[0] : Buffer.concat(this.headParts);
  }
}

/** What is wrong with an entry's data, or null for errors that are not the archive's (bombs, I/O). */
function dataProblem(error: unknown): string | null {
  if (error instanceof ZipFormatError) return error.message;
  const code = (error as { code?: unknown }).code;
  if (code === 'Z_DATA_ERROR') return `the deflate data is damaged (${(error as Error).message})`;
  if (code === 'Z_BUF_ERROR') return 'the deflate data ends early';
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'bytes follow the end of the deflate data';
  return null;
}
