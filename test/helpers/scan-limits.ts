/**
 * Files that cross one of clamd's limits by the smallest step, each carrying the EICAR test string
 * where clamd, stopped at that limit, would not see it. The values mirror config/clamav/clamd.conf.in
 * (a test reads the template and fails when the two drift apart). Built at run time from zeros that
 * deflate to almost nothing, so a file that unpacks to 100 MiB is about 100 KB on the wire.
 */
import { deflateRawSync } from 'node:zlib';
import { deflatedZeros, zipArchive, type ZipMember } from './files';
import { eicar } from './samples';

const MiB = 1024 * 1024;

export const SCAN_LIMITS = Object.freeze({
  streamMaxLength: 60 * MiB,
  maxScanSize: 100 * MiB,
  maxFileSize: 120 * MiB,
  maxRecursion: 16,
  maxFiles: 10_000,
});

/** The template's value for a directive, in bytes for sizes ("60M") and as a number otherwise. */
export function clamdSetting(template: string, name: string): number {
  const match = new RegExp(`^${name}\\s+(\\d+)([KM]?)\\s*$`, 'm').exec(template);
  if (!match) throw new Error(`${name} is not set in the clamd template`);
  const unit = match[2] === 'M' ? MiB : match[2] === 'K' ? 1024 : 1;
  return Number(match[1]) * unit;
}

/**
 * Deflate data for `bytes` zeros followed by `tail`, never holding the zeros: whole mebibytes of
 * byte-aligned zero blocks (deflatedZeros without its closing block), then one fresh final stream
 * for the remainder and the tail (RFC 1951 3.2.3: blocks follow each other; a fresh stream refers
 * to nothing before it).
 */
function zerosThen(bytes: number, tail: Buffer): Buffer {
  const whole = Math.max(0, Math.floor((bytes - 1) / MiB));
  const head = whole > 0 ? deflatedZeros(whole * MiB) : Buffer.alloc(2);
  return Buffer.concat([head.subarray(0, head.length - 2), deflateRawSync(Buffer.concat([Buffer.alloc(bytes - whole * MiB), tail]))]);
}

/** A member of `size` bytes that ends with EICAR. */
function signatureAtEnd(name: string, size: number): ZipMember {
  const sig = eicar();
  return { name, deflated: zerosThen(size - sig.length, sig), declaredSize: size };
}

/** A marker member so each built file has its own sha256 (content-addressed quarantine keys). */
function marker(id: string): ZipMember {
  return { name: 'id.txt', content: Buffer.from(id), method: 'stored' };
}

/** One member of `size` bytes, the signature in its last bytes. Over MaxFileSize at maxFileSize + 1. */
export function memberOf(size: number, id: string): Buffer {
  return zipArchive([marker(id), signatureAtEnd('report.log', size)]);
}

/** Members of zeros adding up to `unpacked` bytes, then the signature in a last, small member. */
export function scanSizeOf(unpacked: number, id: string): Buffer {
  const members: ZipMember[] = [marker(id)];
  for (let left = unpacked, i = 0; left > 0; i++) {
    const size = Math.min(left, 25 * MiB);
    members.push({ name: `part-${i}.bin`, deflated: zerosThen(size, Buffer.alloc(0)), declaredSize: size });
    left -= size;
  }
  members.push({ name: 'last.txt', content: eicar() });
  return zipArchive(members);
}

/** The signature in a zip in a zip ... `levels` zips deep. Over MaxRecursion at maxRecursion levels. */
export function nestedOf(levels: number, id: string): Buffer {
  let inner = zipArchive([marker(id), { name: 'deepest.txt', content: eicar() }]);
  for (let level = 2; level <= levels; level++) inner = zipArchive([{ name: `level-${level - 1}.zip`, content: inner }]);
  return inner;
}

/** `before` one-byte members, then the signature as the next one. Over MaxFiles at maxFiles members before it. */
export function filesOf(before: number, id: string): Buffer {
  const members: ZipMember[] = [marker(id)];
  for (let i = 1; i < before; i++) members.push({ name: `f${i}`, content: Buffer.from('a'), method: 'stored' });
  members.push({ name: 'last.txt', content: eicar() });
  return zipArchive(members);
}

/** A zip whose member carrying the signature is marked encrypted (APPNOTE 4.4.4 bit 0). */
export function encryptedZip(id: string): Buffer {
  return zipArchive([marker(id), { name: 'invoice.txt', content: eicar(), flags: 1 }]);
}
