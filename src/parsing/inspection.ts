/**
 * The state one archive inspection shares across every level and format: the report, the one
 * decompressed-bytes budget, the entry count, the ratio rule, and the judging and listing of each
 * file found. The format walkers (zip-walk.ts, stream-walk.ts) feed it files; a file that is itself
 * an archive is handed back to them through `openNested`, so a tar in a gzip in a zip is opened
 * with the same budget as a zip in a zip.
 */
import { judgeFile, type AttachmentPolicy } from '../domain/attachment-policy';
import type { ArchiveEntry, ArchiveReport } from '../domain/archive-report';
import { archiveFormatOf, FORMAT_NAMES, FORMAT_PEEK_BYTES, isOpenedFormat, type ArchiveFormat, type OpenedFormat } from '../domain/archive-format';
import { ZipFormatError } from './zip-format';

/** Entries listed in a report: enough to explain a verdict, small enough to keep in workflow history. */
export const MAX_LISTED_ENTRIES = 200;
/** A zip inside another archive is held in memory to be read from its end; a larger one is reported, not opened. */
export const MAX_NESTED_ARCHIVE_BYTES = 8 * 1024 * 1024;
/** Decompressed bytes kept per file for type detection. */
const HEAD_BYTES = 64 * 1024;
/** Ratios are judged from this size up: a small run of one byte compresses beyond any bomb ratio, harmlessly. */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export class ZipBombError extends Error {
  override name = 'ZipBombError';
}

/** The attachment's own bytes could not be read (object store): the activity retries, nothing is judged. */
export class SourceReadError extends Error {
  override name = 'SourceReadError';
  constructor(readonly original: unknown) {
    super('the attachment could not be read', { cause: original });
  }
}

export type ArchiveLimits = AttachmentPolicy;

/** Opens a nested archive found in a file's content; bombs and read errors throw, format problems are reported. */
export type OpenNested = (format: OpenedFormat, content: NestedContent, path: string, depth: number) => Promise<void>;
export type NestedContent = { kind: 'buffer'; bytes: Buffer } | { kind: 'stream'; chunks: AsyncIterable<Buffer> };

export interface FileFacts {
  /** Path in the attachment: "docs/a.tar.gz/setup.exe". */
  path: string;
  /** Archive level the file sits in (1 for an entry of the attachment itself). */
  depth: number;
  /** A tar in this file opens at the file's own level: the file is a compression layer's output. */
  tarAtSameDepth?: boolean;
  /** Another name the file may be saved under (a gzip header's stored name), judged as well. */
  alsoNamed?: string;
}

export class Inspection {
  readonly report: ArchiveReport = { entries: [], totalUncompressed: 0, maxRatio: 0, depth: 0, bomb: null, encrypted: false, errors: [] };
  declared = 0;
  inflated = 0;
  /** xz-decompress decodes one stream at a time per process: an xz inside an xz would wait on itself. */
  xzOpen = false;
  private entryCount = 0;

  constructor(
    readonly limits: ArchiveLimits,
    readonly openNested: OpenNested,
  ) {}

  reached(depth: number): void {
    this.report.depth = Math.max(this.report.depth, depth);
  }

  countEntries(count: number): void {
    this.entryCount += count;
    if (this.entryCount > this.limits.maxArchiveEntries) {
      throw new ZipBombError(`${this.entryCount} entries, over the ${this.limits.maxArchiveEntries}-entry limit`);
    }
  }

  checkRatio(what: string, uncompressed: number, compressed: number): void {
    const ratio = uncompressed / Math.max(compressed, 1);
    if (uncompressed >= RATIO_FLOOR_BYTES && ratio > this.limits.maxCompressionRatio) {
      throw new ZipBombError(`${what} expands ${Math.round(ratio)}:1, over the ${this.limits.maxCompressionRatio}:1 limit`);
    }
  }

  noteRatio(uncompressed: number, compressed: number): void {
    this.report.maxRatio = Math.max(this.report.maxRatio, uncompressed / Math.max(compressed, 1));
  }

  /** Counts decompressed bytes against the budget shared by every level and format. */
  spend(bytes: number, path: string, declared: number | null): void {
    this.inflated += bytes;
    if (this.inflated > this.limits.maxArchiveUncompressedBytes) {
      const claim = declared === null ? '' : `, which declares ${declared} bytes`;
      throw new ZipBombError(`over ${this.limits.maxArchiveUncompressedBytes} bytes inflated, at "${path}"${claim}`);
    }
  }

  /**
   * Records a format problem (the archive is then unscannable) or rethrows what is not the
   * archive's fault: a bomb, a failed read of the attachment.
   */
  problem(where: string, error: unknown): void {
    if (error instanceof ZipBombError || error instanceof SourceReadError) throw error;
    this.report.errors.push(`${where}${describe(error)}`);
  }

  unopened(path: string, format: ArchiveFormat): void {
    this.report.errors.push(`"${path}": ${FORMAT_NAMES[format]} archives cannot be opened here, so their contents cannot be inspected`);
  }

  /** Judges a file's head and lists it; a zip held whole (see FileContent) is opened after. */
  async judge(content: FileContent, facts: FileFacts, sizes: { size: number; compressedSize: number }): Promise<void> {
    const head = content.head();
    const judged = await judgeFile({ filename: facts.path, head }, this.limits);
    let blockedBy = judged.blockedBy;
    if (blockedBy === null && facts.alsoNamed) blockedBy = (await judgeFile({ filename: facts.alsoNamed, head }, this.limits)).blockedBy;
    this.list({ name: facts.path, ...sizes, detectedType: judged.detected?.mime ?? null, blockedReason: blockedBy });
    if (content.format !== 'zip') return;
    if (content.nested) await this.openNested('zip', { kind: 'buffer', bytes: content.nested }, facts.path, facts.depth + 1);
    else if (content.bytes > MAX_NESTED_ARCHIVE_BYTES) this.report.errors.push(`"${facts.path}": a nested archive over ${MAX_NESTED_ARCHIVE_BYTES} bytes is not inspected`);
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

/**
 * One file's decompressed bytes: counted against the budget, the head kept, and, by the format its
 * first bytes show, either streamed into a nested walker as they arrive (tar, gzip, bzip2, xz,
 * zstd), kept whole to be opened after (a zip up to MAX_NESTED_ARCHIVE_BYTES: it is read from its
 * end), or reported as unopenable (7z, RAR...).
 */
export class FileContent {
  bytes = 0;
  format: ArchiveFormat | null = null;
  nested: Buffer | null = null;
  private readonly headParts: Buffer[] = [];
  private headBytes = 0;
  private nestedParts: Buffer[] | null = null;

  constructor(
    private readonly inspection: Inspection,
    private readonly facts: FileFacts,
    private readonly declared: number | null,
  ) {}

  readonly consume = async (chunks: AsyncIterable<Buffer>): Promise<void> => {
    const source = chunks[Symbol.asyncIterator]();
    const peeked: Buffer[] = [];
    while (this.bytes < FORMAT_PEEK_BYTES) {
      const next = await source.next();
      if (next.done) break;
      this.add(next.value);
      peeked.push(next.value);
    }
    this.format = archiveFormatOf(this.head());
    if (this.format !== null) {
      const depth = this.format === 'tar' && this.facts.tarAtSameDepth ? this.facts.depth : this.facts.depth + 1;
      if (depth > this.inspection.limits.maxArchiveDepth) {
        throw new ZipBombError(`archives nested more than ${this.inspection.limits.maxArchiveDepth} deep, at "${this.facts.path}"`);
      }
    }
    if (this.format === 'zip') this.nestedParts = [...peeked];
    else if (this.format !== null && !isOpenedFormat(this.format)) this.inspection.unopened(this.facts.path, this.format);
    else if (this.format !== null) {
      const depth = this.format === 'tar' && this.facts.tarAtSameDepth ? this.facts.depth : this.facts.depth + 1;
      await this.inspection.openNested(this.format, { kind: 'stream', chunks: this.rest(peeked, source) }, this.facts.path, depth);
    }
    // Whatever a nested walker left (a tar's padding, bytes after a gzip member) is still counted.
    for (let next = await source.next(); !next.done; next = await source.next()) this.add(next.value);
    if (this.nestedParts && this.bytes <= MAX_NESTED_ARCHIVE_BYTES) this.nested = Buffer.concat(this.nestedParts);
    this.nestedParts = null;
  };

  private async *rest(peeked: Buffer[], source: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
    yield* peeked;
    for (let next = await source.next(); !next.done; next = await source.next()) {
      this.add(next.value);
      yield next.value;
    }
  }

  private add(chunk: Buffer): void {
    this.inspection.spend(chunk.length, this.facts.path, this.declared);
    this.bytes += chunk.length;
    if (this.headBytes < HEAD_BYTES) {
      const piece = chunk.subarray(0, HEAD_BYTES - this.headBytes);
      this.headParts.push(piece);
      this.headBytes += piece.length;
    }
    if (this.bytes > MAX_NESTED_ARCHIVE_BYTES) this.nestedParts = null;
    this.nestedParts?.push(chunk);
  }

  head(): Buffer {
    return this.headParts.length === 1 && this.headParts[0] ? this.headParts[0] : Buffer.concat(this.headParts);
  }
}

/** A format problem in words: the zip reader's own errors, zlib's codes, the libraries' messages. */
function describe(error: unknown): string {
  if (error instanceof ZipFormatError) return error.message;
  const code = (error as { code?: unknown }).code;
  if (code === 'Z_DATA_ERROR') return `the deflate data is damaged (${(error as Error).message})`;
  if (code === 'Z_BUF_ERROR') return 'the deflate data ends early';
  if (code === 'ERR_STREAM_PREMATURE_CLOSE') return 'bytes follow the end of the deflate data';
  return error instanceof Error ? error.message : String(error);
}
