/**
 * Which archive or compression format a file is, from its first bytes. Every format a sender can
 * wrap a file in is named here, opened or not: one that src/parsing cannot open must still be
 * recognised, so that the policy calls it unscannable instead of judging it as an opaque blob.
 */

/** Formats src/parsing/archive-inspect.ts opens and walks. */
export type OpenedFormat = 'zip' | 'tar' | 'gzip' | 'bzip2' | 'xz' | 'zstd';
/** Containers recognised but not opened: no maintained pure-JS reader streams them. */
export type UnopenedFormat = '7z' | 'rar' | 'cab' | 'lzip' | 'compress' | 'lzh' | 'arj' | 'cpio' | 'ar' | 'iso' | 'vhd' | 'vhdx';
export type ArchiveFormat = OpenedFormat | UnopenedFormat;

/** Bytes needed to tell every format apart: a tar header is 512 bytes (ustar magic at 257). */
export const FORMAT_PEEK_BYTES = 512;
/** ISO 9660's first volume descriptor sits at sector 16 (ECMA-119 8.1): a 64 KiB head reaches it. */
const ISO_DESCRIPTOR_OFFSET = 16 * 2048 + 1;

const PREFIXES: readonly [ArchiveFormat, Buffer][] = [
  ['zip', Buffer.from('504b0304', 'hex')],
  ['zip', Buffer.from('504b0506', 'hex')],
  // A spanned archive's first part starts with the split marker (APPNOTE 8.5.3).
  ['zip', Buffer.from('504b0708504b0304', 'hex')],
  ['gzip', Buffer.from('1f8b08', 'hex')],
  ['xz', Buffer.from('fd377a585a00', 'hex')],
  ['zstd', Buffer.from('28b52ffd', 'hex')],
  ['7z', Buffer.from('377abcaf271c', 'hex')],
  ['rar', Buffer.from('526172211a07', 'hex')],
  ['cab', Buffer.from('4d53434600000000', 'hex')],
  ['lzip', Buffer.from('4c5a4950', 'hex')],
  ['compress', Buffer.from('1f9d', 'hex')],
  ['arj', Buffer.from('60ea', 'hex')],
  ['cpio', Buffer.from('070701', 'latin1')],
  ['cpio', Buffer.from('070702', 'latin1')],
  ['cpio', Buffer.from('070707', 'latin1')],
  ['cpio', Buffer.from('c771', 'hex')],
  ['ar', Buffer.from('!<arch>\n', 'latin1')],
  ['vhd', Buffer.from('conectix', 'latin1')],
  ['vhdx', Buffer.from('vhdxfile', 'latin1')],
];

export function isOpenedFormat(format: ArchiveFormat | null): format is OpenedFormat {
  return format === 'zip' || format === 'tar' || format === 'gzip' || format === 'bzip2' || format === 'xz' || format === 'zstd';
}

/** The archive or compression format `head` starts with, or null for anything else. */
export function archiveFormatOf(head: Buffer): ArchiveFormat | null {
  for (const [format, prefix] of PREFIXES) {
    if (head.length >= prefix.length && head.subarray(0, prefix.length).equals(prefix)) return format;
  }
  // "BZh" and a block size digit, then a block or the end-of-stream magic (an empty stream).
  if (head.length >= 10 && head.toString('latin1', 0, 3) === 'BZh' && head[3] !== undefined && head[3] >= 0x31 && head[3] <= 0x39) {
    const magic = head.subarray(4, 10).toString('hex');
    if (magic === '314159265359' || magic === '177245385090') return 'bzip2';
  }
  if (head.length >= 7 && head[2] === 0x2d && head[3] === 0x6c && (head[4] === 0x68 || head[4] === 0x7a) && head[6] === 0x2d) return 'lzh';
  if (isTarHeader(head)) return 'tar';
  if (head.length >= ISO_DESCRIPTOR_OFFSET + 5 && head.toString('latin1', ISO_DESCRIPTOR_OFFSET, ISO_DESCRIPTOR_OFFSET + 5) === 'CD001') return 'iso';
  return null;
}

/**
 * A tar header block: ustar and GNU carry "ustar" at 257 (POSIX.1-1988); a V7 header has no magic,
 * so its checksum (bytes 148-155, octal, summed with that field as spaces) is what identifies it.
 */
export function isTarHeader(head: Buffer): boolean {
  if (head.length < 512) return false;
  if (head.toString('latin1', 257, 262) === 'ustar') return true;
  const field = head.toString('latin1', 148, 156).replace(/[\0 ]+$/, '').trim();
  if (!/^[0-7]{1,7}$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (head[i] ?? 0);
  // An all-zero block sums to 256 and is the end of an archive, not a file.
  return sum !== 256 && sum === parseInt(field, 8) && head[0] !== 0;
}

/**
 * Extensions that name an archive. A file wearing one is inspected even when its first bytes are no
 * archive's: unzip finds a zip by the record at its end, so junk put in front of a zip hides it from
 * a signature check but not from the recipient (a self-extractor's stub is the benign case).
 */
const ARCHIVE_EXTENSIONS = new Set([
  'zip', 'zipx', 'jar', 'tar', 'gz', 'tgz', 'taz', 'gzip', 'bz2', 'tbz', 'tbz2', 'bzip2', 'xz', 'txz', 'zst', 'tzst', 'lz', 'lzma', 'z',
  '7z', 'rar', 'cab', 'iso', 'img', 'vhd', 'vhdx', 'cpio', 'lzh', 'lha', 'arj', 'ace', 'arc', 'deb', 'rpm',
]);

export function claimsArchive(filename: string): boolean {
  const base = (filename.split(/[\\/]/).pop() ?? '').toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot > 0 && ARCHIVE_EXTENSIONS.has(base.slice(dot + 1));
}

/** Whether an attachment must be opened before it is judged: its content or its name says archive. */
export function isArchiveAttachment(head: Buffer, filename: string): boolean {
  return archiveFormatOf(head) !== null || claimsArchive(filename);
}

/** What a person calls the format, for reasons. */
export const FORMAT_NAMES: Record<ArchiveFormat, string> = {
  zip: 'zip',
  tar: 'tar',
  gzip: 'gzip',
  bzip2: 'bzip2',
  xz: 'xz',
  zstd: 'zstd',
  '7z': '7z',
  rar: 'RAR',
  cab: 'Microsoft cabinet',
  lzip: 'lzip',
  compress: 'Unix compress (.Z)',
  lzh: 'LHA',
  arj: 'ARJ',
  cpio: 'cpio',
  ar: 'ar (.deb)',
  iso: 'ISO 9660 disk image',
  vhd: 'virtual hard disk (VHD)',
  vhdx: 'virtual hard disk (VHDX)',
};
