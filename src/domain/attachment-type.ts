/**
 * What an attachment is, judged by its bytes. A file name and a declared Content-Type are the
 * sender's claims, and a sender who wants an executable opened calls it "invoice.pdf"; so the
 * type comes from the content (file-type's magic numbers, plus the OLE2 directory for what
 * file-type reports only as "cfb"), and the dangerous kinds are found by content and by name.
 */

/*
 * file-type is published as an ES module only, and this project compiles to CommonJS with
 * "moduleResolution": "node10", which ignores package "exports" and so cannot see its typings.
 * Node >= 22.12 loads an ES module through require() when nothing in its graph uses top-level
 * await (file-type's graph does not; the unit tests load it from dist), and the typings are read
 * from the file its "exports" names, for types only: the compiled code calls require('file-type').
 */
type FileTypeApi = typeof import('file-type/source/index.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- an ES-module package, see above
const { fileTypeFromBuffer } = require('file-type') as FileTypeApi;

export interface DetectedType {
  mime: string;
  ext: string;
}

export type AttachmentKind = 'executable' | 'script' | 'installer' | 'macro-office' | 'archive-with-blocked';

export interface KindFinding {
  kind: AttachmentKind;
  /** What the file is, for a human: "Windows executable (PE)", "script (.js)". */
  label: string;
}

const MSI: DetectedType = { mime: 'application/x-msi', ext: 'msi' };

/** Detects the type from the first bytes (64 KiB is plenty; file-type needs a few KiB for most formats). */
export async function detectType(head: Buffer): Promise<DetectedType | null> {
  if (installerClsid(readCompoundDirectory(head))) return MSI;
  const found = await fileTypeFromBuffer(head);
  return found ? { mime: found.mime, ext: found.ext } : null;
}

/** Lower-case extension of the last path segment, without the dot; '' when there is none. */
export function extensionOf(filename: string): string {
  const base = (filename.split(/[\\/]/).pop() ?? '').trim().toLowerCase();
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1);
}

/** A zip local file header, or the end record of an empty zip (APPNOTE 4.3.7, 4.3.16). */
export function isZipSignature(head: Buffer): boolean {
  return head.length >= 4 && (head.readUInt32LE(0) === 0x04034b50 || head.readUInt32LE(0) === 0x06054b50);
}

const CONTENT_KINDS: Record<string, KindFinding> = {
  exe: { kind: 'executable', label: 'Windows executable (PE)' },
  elf: { kind: 'executable', label: 'Linux executable (ELF)' },
  macho: { kind: 'executable', label: 'macOS executable (Mach-O)' },
  msi: { kind: 'installer', label: 'Windows Installer package (MSI)' },
  apk: { kind: 'installer', label: 'Android package (APK)' },
  lnk: { kind: 'script', label: 'Windows shortcut (LNK)' },
  jar: { kind: 'script', label: 'Java archive (JAR)' },
  ...Object.fromEntries(
    ['docm', 'dotm', 'xlsm', 'xltm', 'pptm', 'potm', 'ppsm'].map((ext) => [
      ext,
      { kind: 'macro-office', label: `macro-enabled Office document (${ext})` } satisfies KindFinding,
    ]),
  ),
};

const EXTENSIONS: Record<Exclude<AttachmentKind, 'archive-with-blocked'>, string[]> = {
  executable: ['exe', 'dll', 'com', 'pif', 'cpl', 'ocx', 'sys'],
  script: ['js', 'jse', 'vbs', 'vbe', 'wsf', 'wsh', 'ps1', 'psm1', 'bat', 'cmd', 'sh', 'jar', 'hta', 'scr', 'lnk'],
  installer: ['msi', 'msp', 'mst', 'msix', 'msixbundle', 'appx', 'appxbundle', 'apk'],
  'macro-office': ['docm', 'dotm', 'xlsm', 'xltm', 'xlam', 'pptm', 'potm', 'ppam', 'ppsm', 'sldm'],
};
const NOUNS: Record<AttachmentKind, string> = {
  executable: 'executable',
  script: 'script',
  installer: 'installer package',
  'macro-office': 'macro-enabled Office document',
  'archive-with-blocked': 'archive',
};
const KIND_BY_EXTENSION = new Map(
  Object.entries(EXTENSIONS).flatMap(([kind, exts]) => exts.map((ext) => [ext, kind as AttachmentKind] as const)),
);

/**
 * Every dangerous kind the file shows, content first. A name-based finding is dropped when the
 * content already found the same kind, so "setup.exe" gets one reason, not two.
 */
export function findKinds(filename: string, head: Buffer, detected: DetectedType | null): KindFinding[] {
  const found: KindFinding[] = [];
  const byType = detected ? CONTENT_KINDS[detected.ext] : undefined;
  if (byType) found.push(detected?.ext === 'exe' && !hasPeHeader(head) ? { ...byType, label: 'DOS/Windows executable (MZ)' } : byType);
  const text = head.subarray(0, 1024).toString('latin1').replace(/^\u00ef\u00bb\u00bf/, '');
  if (text.startsWith('#!')) found.push({ kind: 'script', label: 'script with a "#!" interpreter line' });
  if (/<hta:application/i.test(head.toString('latin1'))) found.push({ kind: 'script', label: 'HTML application (HTA)' });
  const directory = readCompoundDirectory(head);
  if (directory?.names.some((name) => MACRO_STORAGES.has(name))) {
    found.push({ kind: 'macro-office', label: 'Office document with VBA macros' });
  }
  const ext = extensionOf(filename);
  const byName = KIND_BY_EXTENSION.get(ext);
  if (byName && !found.some((f) => f.kind === byName)) found.push({ kind: byName, label: `${NOUNS[byName]} (.${ext})` });
  if (/(^|\/)vbaproject\.bin$/i.test(filename)) found.push({ kind: 'macro-office', label: 'Office VBA macro project' });
  return found;
}

/** MZ alone is any DOS program; a PE image has "PE\0\0" where e_lfanew (offset 0x3C) points. */
function hasPeHeader(head: Buffer): boolean {
  if (head.length < 0x40) return false;
  const offset = head.readUInt32LE(0x3c);
  return offset + 4 <= head.length && head.readUInt32BE(offset) === 0x50450000;
}

/*
 * OLE2 compound files (MS-CFB) hold Word 97-2003, Excel and PowerPoint documents and MSI packages
 * alike; file-type calls them all "cfb". The directory tells them apart: an installer's root
 * storage carries the Windows Installer CLSID, and VBA macros live in a storage named "Macros"
 * (Word) or "_VBA_PROJECT_CUR" (Excel) holding "VBA". Only the part of the file inside the head
 * can be read, so a directory placed late in a large file goes unseen ("when detectable").
 */
const CFB_SIGNATURE = Buffer.from('d0cf11e0a1b11ae1', 'hex');
const MACRO_STORAGES = new Set(['Macros', '_VBA_PROJECT_CUR', 'VBA']);
/** Root CLSIDs as stored (little-endian GUIDs): MSI {000C1084-…}, patch MSP {000C1086-…}, transform MST {000C1082-…}. */
const INSTALLER_CLSIDS = new Set(['84100c0000000000c000000000000046', '86100c0000000000c000000000000046', '82100c0000000000c000000000000046']);
/** Sector ids at or above this are markers (free, end of chain, FAT, DIFAT), not sectors. */
const MAX_REGULAR_SECTOR = 0xfffffffa;
/** A bound on the directory chain walked, which a crafted FAT could make circular or long. */
const MAX_DIRECTORY_SECTORS = 64;

interface CompoundDirectory {
  rootClsid: string | null;
  names: string[];
}

function installerClsid(directory: CompoundDirectory | null): boolean {
  return directory?.rootClsid ? INSTALLER_CLSIDS.has(directory.rootClsid) : false;
}

export function readCompoundDirectory(head: Buffer): CompoundDirectory | null {
  if (head.length < 512 || !head.subarray(0, 8).equals(CFB_SIGNATURE)) return null;
  const shift = head.readUInt16LE(0x1e);
  if (shift !== 9 && shift !== 12) return null;
  const sectorSize = 1 << shift;
  const sector = (id: number): Buffer | null => {
    const start = (id + 1) * sectorSize;
    return start + sectorSize <= head.length ? head.subarray(start, start + sectorSize) : null;
  };
  // The header lists the first 109 FAT sectors (MS-CFB 2.2), enough for any head we are given.
  const fatSectors = Array.from({ length: 109 }, (_, i) => head.readUInt32LE(0x4c + i * 4));
  const nextSector = (id: number): number => {
    const perSector = sectorSize / 4;
    const fatId = fatSectors[Math.floor(id / perSector)];
    const fat = fatId === undefined || fatId >= MAX_REGULAR_SECTOR ? null : sector(fatId);
    return fat ? fat.readUInt32LE((id % perSector) * 4) : MAX_REGULAR_SECTOR;
  };
  const result: CompoundDirectory = { rootClsid: null, names: [] };
  const seen = new Set<number>();
  for (let id = head.readUInt32LE(0x30); id < MAX_REGULAR_SECTOR && !seen.has(id) && seen.size < MAX_DIRECTORY_SECTORS; id = nextSector(id)) {
    seen.add(id);
    const entries = sector(id);
    if (!entries) break;
    for (let offset = 0; offset + 128 <= entries.length; offset += 128) {
      const entry = entries.subarray(offset, offset + 128);
      const type = entry.readUInt8(0x42);
      if (type === 0) continue;
      const nameBytes = Math.min(entry.readUInt16LE(0x40), 64);
      result.names.push(entry.toString('utf16le', 0, Math.max(0, nameBytes - 2)));
      if (type === 5) result.rootClsid = entry.subarray(0x50, 0x60).toString('hex');
    }
  }
  return result;
}
