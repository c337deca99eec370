/**
 * The zip records read to find and walk the entries (PKWARE APPNOTE): the end record and its zip64
 * form, central directory records, and local headers. Anything that does not match the format is a
 * ZipFormatError, which the inspection reports rather than throws.
 */

const SIGNATURE = { local: 0x04034b50, central: 0x02014b50, end: 0x06054b50, end64: 0x06064b50, locator64: 0x07064b50 };

export class ZipFormatError extends Error {
  override name = 'ZipFormatError';
}

/** Reads bytes in order from a known position (a zip-source Cursor). */
export interface ZipReader {
  readonly position: number;
  bytes(length: number): Promise<Buffer>;
}

export interface EndRecord {
  entries: number;
  directoryOffset: number;
  directorySize: number;
}

/** The end record, searched backwards past a comment of up to 65,535 bytes (APPNOTE 4.3.16). */
export function findEnd(tail: Buffer, tailStart: number): EndRecord {
  for (let at = tail.length - 22; at >= Math.max(0, tail.length - 22 - 0xffff); at--) {
    if (tail.readUInt32LE(at) !== SIGNATURE.end || at + 22 + tail.readUInt16LE(at + 20) > tail.length) continue;
    if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) throw new ZipFormatError('multi-part (spanned) archives are not supported');
    let record: EndRecord = { entries: tail.readUInt16LE(at + 10), directorySize: tail.readUInt32LE(at + 12), directoryOffset: tail.readUInt32LE(at + 16) };
    let endOfDirectory = tailStart + at;
    const zip64 = record.entries === 0xffff || record.directorySize === 0xffffffff || record.directoryOffset === 0xffffffff;
    if (zip64 && at >= 20 && tail.readUInt32LE(at - 20) === SIGNATURE.locator64) {
      endOfDirectory = Number(tail.readBigUInt64LE(at - 12));
      const rel = endOfDirectory - tailStart;
      if (rel < 0 || rel + 56 > tail.length || tail.readUInt32LE(rel) !== SIGNATURE.end64) throw new ZipFormatError('the zip64 end record cannot be found');
      record = { entries: Number(tail.readBigUInt64LE(rel + 32)), directorySize: Number(tail.readBigUInt64LE(rel + 40)), directoryOffset: Number(tail.readBigUInt64LE(rel + 48)) };
    }
    if (record.directoryOffset + record.directorySize > endOfDirectory) throw new ZipFormatError('the central directory lies outside the archive');
    return record;
  }
  throw new ZipFormatError('not a zip archive: no end-of-central-directory record');
}

export interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** A central directory record (APPNOTE 4.3.12), with zip64 sizes from extra field 0x0001 (4.5.3). */
export async function readCentralEntry(cursor: ZipReader): Promise<CentralEntry> {
  const fixed = await cursor.bytes(46);
  if (fixed.readUInt32LE(0) !== SIGNATURE.central) throw new ZipFormatError(`a central directory record at byte ${cursor.position - 46} is damaged`);
  const nameLength = fixed.readUInt16LE(28);
  const extraLength = fixed.readUInt16LE(30);
  const variable = await cursor.bytes(nameLength + extraLength + fixed.readUInt16LE(32));
  const flags = fixed.readUInt16LE(8);
  // Bit 11 marks UTF-8 names; others are CP437, read as Latin-1, which keeps ASCII extensions exact.
  const name = variable.toString(flags & 0x0800 ? 'utf8' : 'latin1', 0, nameLength);
  const entry = { name, flags, method: fixed.readUInt16LE(10), compressedSize: fixed.readUInt32LE(20), size: fixed.readUInt32LE(24), localOffset: fixed.readUInt32LE(42) };
  const extra = variable.subarray(nameLength, nameLength + extraLength);
  for (let at = 0; at + 4 <= extra.length; at += 4 + extra.readUInt16LE(at + 2)) {
    if (extra.readUInt16LE(at) !== 0x0001) continue;
    const values = extra.subarray(at + 4, at + 4 + extra.readUInt16LE(at + 2));
    let next = 0;
    const wide = (value: number): number => {
      if (value !== 0xffffffff || next + 8 > values.length) return value;
      next += 8;
      return Number(values.readBigUInt64LE(next - 8));
    };
    entry.size = wide(entry.size);
    entry.compressedSize = wide(entry.compressedSize);
    entry.localOffset = wide(entry.localOffset);
  }
  return entry;
}

/**
 * Reads the local header of `entry` (APPNOTE 4.3.7), the cursor standing at its offset, and returns
 * where the entry's data starts. Only the name and extra lengths are taken from it: sizes and flags
 * come from the central directory.
 */
export async function readLocalHeader(cursor: ZipReader, entry: CentralEntry, path: string): Promise<number> {
  const header = await cursor.bytes(30);
  if (header.readUInt32LE(0) !== SIGNATURE.local) throw new ZipFormatError(`no local header for "${path}" at byte ${entry.localOffset}`);
  return cursor.position + header.readUInt16LE(26) + header.readUInt16LE(28);
}
