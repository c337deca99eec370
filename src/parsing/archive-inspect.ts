/**
 * Archives of every format a sender can wrap a file in, opened the way the recipient would open
 * them, in memory and never on disk: zip (zip-walk.ts), tar and the single-stream compressors
 * gzip, bzip2, xz and zstd (stream-walk.ts), nested in any combination. All levels and formats
 * share one decompressed-bytes budget, one entry count, the ratio rule and the nesting depth,
 * because every size a sender declares is a claim and bombs lie in them. A format recognised but
 * not opened (7z, RAR, cabinet, ISO...; domain/archive-format.ts) is reported as an error, which
 * the policy turns into "unscannable".
 *
 * The part comes from the object store as a stream: a zip is read in two passes (its directory is
 * at the end), every other format in one, and only a zip nested inside another archive is held
 * whole (MAX_NESTED_ARCHIVE_BYTES).
 */
import { Readable } from 'node:stream';
import { assertAttachmentPolicy } from '../domain/attachment-policy';
import type { ArchiveReport } from '../domain/archive-report';
import { archiveFormatOf, FORMAT_NAMES, FORMAT_PEEK_BYTES, isOpenedFormat, type OpenedFormat } from '../domain/archive-format';
import { Inspection, SourceReadError, ZipBombError, type ArchiveLimits, type NestedContent } from './inspection';
import { walkCompressed, walkTar, type Place } from './stream-walk';
import { walkZip } from './zip-walk';
import { bufferSource, chunksOf, streamSource } from './zip-source';

export { MAX_LISTED_ENTRIES, MAX_NESTED_ARCHIVE_BYTES, type ArchiveLimits } from './inspection';

/**
 * Inspects an archive of any format and the archives inside it. `read` returns the attachment's
 * bytes, as a buffer or as a new stream on each call; `limits` also decides each entry's
 * blockedReason (kinds, allowlist); `filename` names what a compressor's output is called.
 * Format errors are reported, not thrown; a failing stream rejects, so an activity can retry.
 */
export async function inspectArchive(read: () => Readable | Buffer, limits: ArchiveLimits, filename = ''): Promise<ArchiveReport> {
  assertAttachmentPolicy(limits);
  const inspection: Inspection = new Inspection(limits, (format, content, path, depth) => openNested(inspection, format, content, path, depth));
  const initial = read();
  const first = guarded(initial);
  try {
    const source = first[Symbol.asyncIterator]();
    const peeked: Buffer[] = [];
    let peekedBytes = 0;
    while (peekedBytes < FORMAT_PEEK_BYTES) {
      const next = await source.next();
      if (next.done) break;
      peeked.push(next.value);
      peekedBytes += next.value.length;
    }
    const format = archiveFormatOf(Buffer.concat(peeked));
    const rest = resume(peeked, source);
    if (format === 'zip' || format === null) {
      // A zip is read from its end, as unzip reads it: so is a file named as an archive that does not
      // start like one (junk in front of a zip). The stream already opened is the first pass.
      let fresh: Readable | null = Readable.from(rest);
      const again = (): Readable => {
        const stream = fresh ?? Readable.from(guarded(read()));
        fresh = null;
        return stream;
      };
      await walkZip(inspection, Buffer.isBuffer(initial) ? bufferSource(initial) : streamSource(again), '', 1);
    } else if (isOpenedFormat(format)) {
      await openStream(inspection, format, rest, { label: '', prefix: '', name: filename }, 1);
    } else {
      await source.return?.(undefined);
      inspection.report.errors.push(`${FORMAT_NAMES[format]} archives cannot be opened here, so their contents cannot be inspected`);
    }
  } catch (error) {
    if (error instanceof SourceReadError) throw error.original;
    if (!(error instanceof ZipBombError)) throw error;
    inspection.report.bomb = error.message;
  }
  const { report } = inspection;
  report.totalUncompressed = Math.max(inspection.declared, inspection.inflated);
  return report;
}

/** The zip-only name this inspection had before it opened every format. */
export const inspectZip = inspectArchive;

async function openNested(inspection: Inspection, format: OpenedFormat, content: NestedContent, path: string, depth: number): Promise<void> {
  if (format === 'zip') {
    if (content.kind === 'buffer') await walkZip(inspection, bufferSource(content.bytes), `${path}/`, depth);
    return;
  }
  const chunks = content.kind === 'buffer' ? chunksOf(content.bytes) : content.chunks;
  await openStream(inspection, format, chunks, { label: path, prefix: `${path}/`, name: path }, depth);
}

async function openStream(inspection: Inspection, format: Exclude<OpenedFormat, 'zip'>, chunks: AsyncIterable<Buffer>, place: Place, depth: number): Promise<void> {
  if (format === 'tar') await walkTar(inspection, chunks, place, depth);
  else await walkCompressed(inspection, format, chunks, place, depth);
}

/** The attachment's own bytes; a failure to read them is marked, so it is retried rather than judged. */
async function* guarded(value: Readable | Buffer): AsyncGenerator<Buffer> {
  try {
    yield* chunksOf(value);
  } catch (error) {
    throw error instanceof TypeError ? error : new SourceReadError(error);
  }
}

async function* resume(peeked: Buffer[], source: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* peeked;
  for (let next = await source.next(); !next.done; next = await source.next()) yield next.value;
}
