/**
 * A small reader for TNEF (`winmail.dat`, `application/ms-tnef`, MS-OXTNEF), the container Outlook
 * and Exchange wrap a message's attachments and rich body in. It returns the attached files with
 * their real names and the plain-text body, if the container has one.
 *
 * Threat model: the bytes come from anyone. Every length is checked against the end of the buffer
 * before it is read, counts of attributes, properties and files are capped, and a malformed
 * container is a TnefError (the caller keeps it as an opaque attachment), never a crash or an
 * allocation larger than the input. Written here rather than taken from npm: the one TNEF package
 * there (node-tnef) has not been released in years and reads without bounds checks.
 */

import { decompressRtf, RtfError, rtfToText } from './rtf';

/** The rich body's text, or null when it cannot be read (the body is then left out, not the files). */
function rtfText(compressed: Buffer): string | null {
  try {
    return rtfToText(decompressRtf(compressed));
  } catch (error) {
    if (error instanceof RtfError) return null;
    throw error;
  }
}

/** MS-OXTNEF 2.1.3.1: TNEF_SIGNATURE, little-endian. */
const TNEF_SIGNATURE = 0x223e9f78;
const LVL_MESSAGE = 1;
const LVL_ATTACHMENT = 2;

// Attribute ids (MS-OXTNEF 2.1.3.3), type in the high word.
const ATT_BODY = 0x0002800c;
const ATT_ATTACH_DATA = 0x0006800f;
const ATT_ATTACH_TITLE = 0x00018010;
const ATT_ATTACH_REND_DATA = 0x00069002;
const ATT_MSG_PROPS = 0x00069003;
const ATT_ATTACHMENT = 0x00069005;
const ATT_OEM_CODEPAGE = 0x00069007;

// MAPI property ids (MS-OXPROPS).
const PR_BODY = 0x1000;
const PR_RTF_COMPRESSED = 0x1009;
const PR_ATTACH_DATA = 0x3701;
const PR_ATTACH_FILENAME = 0x3704;
const PR_ATTACH_LONG_FILENAME = 0x3707;
const PR_ATTACH_MIME_TAG = 0x370e;
const PR_DISPLAY_NAME = 0x3001;

// MAPI property types (MS-OXCDATA 2.11.1).
const PT_STRING8 = 0x001e;
const PT_UNICODE = 0x001f;
const PT_BINARY = 0x0102;
const PT_OBJECT = 0x000d;
const MV_FLAG = 0x1000;
const FIXED_SIZES: Readonly<Record<number, number>> = {
  0x0001: 4, // PT_NULL
  0x0002: 4, // PT_SHORT, padded
  0x0003: 4, // PT_LONG
  0x0004: 4, // PT_FLOAT
  0x0005: 8, // PT_DOUBLE
  0x0006: 8, // PT_CURRENCY
  0x0007: 8, // PT_APPTIME
  0x000a: 4, // PT_ERROR
  0x000b: 4, // PT_BOOLEAN, padded
  0x0014: 8, // PT_I8
  0x0040: 8, // PT_SYSTIME
  0x0048: 16, // PT_CLSID
};

/** Attribute records and MAPI properties read per container, and text kept from its body. */
export const MAX_TNEF_ATTRIBUTES = 10_000;
export const MAX_TNEF_PROPERTIES = 10_000;
export const MAX_TNEF_BODY_CHARS = 1_000_000;

export class TnefError extends Error {
  override name = 'TnefError';
}

export interface TnefFile {
  filename: string;
  /** PR_ATTACH_MIME_TAG when the sender's client recorded one. */
  contentType: string | null;
  data: Buffer;
}

export interface TnefContent {
  files: TnefFile[];
  /** The message's plain-text body (attBody or PR_BODY), if the container carries one. */
  body: string | null;
  /** Files beyond maxFiles: counted, not returned. */
  filesOverLimit: number;
}

interface Prop {
  id: number;
  type: number;
  values: Buffer[];
}

/** Reads little-endian fields, refusing any read past the end. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
  ) {}
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new TnefError(`truncated TNEF: ${what} needs ${n} bytes at offset ${this.pos}, ${this.buf.length - this.pos} left`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  get left(): number {
    return this.buf.length - this.pos;
  }
}

function decodeString8(bytes: Buffer, codepage: number): string {
  const end = bytes.indexOf(0);
  const raw = end >= 0 ? bytes.subarray(0, end) : bytes;
  try {
    return new TextDecoder(codepage === 65001 ? 'utf-8' : `windows-${codepage}`).decode(raw);
  } catch {
    return raw.toString('latin1');
  }
}

function decodeUnicode(bytes: Buffer): string {
  const text = bytes.subarray(0, bytes.length - (bytes.length % 2)).toString('utf16le');
  const end = text.indexOf('\u0000');
  return end >= 0 ? text.slice(0, end) : text;
}

function textOf(prop: Prop | undefined, codepage: number): string | null {
  const value = prop?.values[0];
  if (!prop || !value) return null;
  if (prop.type === PT_UNICODE) return decodeUnicode(value);
  if (prop.type === PT_STRING8) return decodeString8(value, codepage);
  return null;
}

/** A MAPI property list (MS-OXTNEF 2.1.3.4), each value bounds-checked. */
function readProps(data: Buffer): Map<number, Prop> {
  const c = new Cursor(data);
  const count = c.u32('property count');
  // Each property takes at least 8 bytes, so a count the data cannot hold is refused up front.
  if (count > MAX_TNEF_PROPERTIES || count * 8 > c.left) throw new TnefError(`TNEF property count ${count} is not plausible for ${c.left} bytes`);
  const props = new Map<number, Prop>();
  for (let i = 0; i < count; i++) {
    const type = c.u16('property type');
    const id = c.u16('property id');
    if (id >= 0x8000) {
      c.bytes(16, 'named property GUID');
      const kind = c.u32('named property kind');
      if (kind === 0) c.u32('named property id');
      else {
        const length = c.u32('named property name length');
        c.bytes(length + ((4 - (length % 4)) % 4), 'named property name');
      }
    }
    const base = type & ~MV_FLAG;
    const multi = (type & MV_FLAG) !== 0;
    const values: Buffer[] = [];
    const fixed = FIXED_SIZES[base];
    if (fixed !== undefined) {
      const n = multi ? c.u32('value count') : 1;
      if (n * fixed > c.left) throw new TnefError(`TNEF value count ${n} runs past the end`);
      for (let v = 0; v < n; v++) values.push(c.bytes(fixed, 'fixed value'));
    } else if (base === PT_STRING8 || base === PT_UNICODE || base === PT_BINARY || base === PT_OBJECT) {
      // Variable-length values always carry a count, multi-valued or not (MS-OXTNEF 2.1.3.4).
      const n = c.u32('value count');
      if (n * 4 > c.left) throw new TnefError(`TNEF value count ${n} runs past the end`);
      for (let v = 0; v < n; v++) {
        const length = c.u32('value length');
        values.push(c.bytes(length, 'value'));
        c.bytes((4 - (length % 4)) % 4, 'value padding');
      }
    } else {
      throw new TnefError(`unknown MAPI property type 0x${type.toString(16)}`);
    }
    props.set(id, { id, type: base, values });
  }
  return props;
}

interface Draft {
  title: string | null;
  data: Buffer | null;
  props: Map<number, Prop> | null;
}

/**
 * Reads a TNEF container. `maxFiles` caps the files returned (the rest are counted);
 * files are views into `data`, so the reader allocates little beyond the input.
 */
export function readTnef(data: Buffer, options: { maxFiles: number }): TnefContent {
  const c = new Cursor(data);
  if (c.u32('signature') !== TNEF_SIGNATURE) throw new TnefError('not TNEF: the signature 0x223E9F78 is missing');
  c.u16('legacy key');
  let codepage = 1252;
  let body: string | null = null;
  let compressedRtf: Buffer | null = null;
  const drafts: Draft[] = [];
  let current: Draft | null = null;
  for (let n = 0; c.left > 0; n++) {
    if (n >= MAX_TNEF_ATTRIBUTES) throw new TnefError(`more than ${MAX_TNEF_ATTRIBUTES} TNEF attributes`);
    const level = c.u8('attribute level');
    const id = c.u32('attribute id');
    const length = c.u32('attribute length');
    const value = c.bytes(length, `attribute 0x${id.toString(16)}`);
    c.u16('attribute checksum');
    if (level !== LVL_MESSAGE && level !== LVL_ATTACHMENT) throw new TnefError(`unknown TNEF attribute level ${level}`);
    if (id === ATT_OEM_CODEPAGE && value.length >= 4) codepage = value.readUInt32LE(0);
    else if (id === ATT_BODY) body ??= decodeString8(value, codepage);
    else if (id === ATT_MSG_PROPS) {
      const props = readProps(value);
      body ??= textOf(props.get(PR_BODY), codepage);
      const rtf = props.get(PR_RTF_COMPRESSED);
      if (rtf?.type === PT_BINARY && rtf.values[0]) compressedRtf = rtf.values[0];
    }
    else if (id === ATT_ATTACH_REND_DATA) {
      current = { title: null, data: null, props: null };
      drafts.push(current);
    } else if (level === LVL_ATTACHMENT && current) {
      if (id === ATT_ATTACH_TITLE) current.title = decodeString8(value, codepage);
      else if (id === ATT_ATTACH_DATA) current.data = value;
      else if (id === ATT_ATTACHMENT) current.props = readProps(value);
    }
  }
  const files: TnefFile[] = [];
  let filesOverLimit = 0;
  for (const draft of drafts) {
    const props = draft.props ?? new Map<number, Prop>();
    const attachData = props.get(PR_ATTACH_DATA);
    // PR_ATTACH_DATA_OBJ (an OLE object, an embedded message) starts with the 16-byte interface id
    // of its storage (MS-OXTNEF 2.1.3.4); the bytes after it are the object, given out as a file.
    const fromProps = attachData?.values[0] ? (attachData.type === PT_OBJECT ? attachData.values[0].subarray(16) : attachData.values[0]) : null;
    const bytes = draft.data ?? fromProps;
    if (!bytes || bytes.length === 0) continue;
    if (files.length >= options.maxFiles) {
      filesOverLimit++;
      continue;
    }
    const filename =
      textOf(props.get(PR_ATTACH_LONG_FILENAME), codepage) ||
      textOf(props.get(PR_ATTACH_FILENAME), codepage) ||
      draft.title ||
      textOf(props.get(PR_DISPLAY_NAME), codepage) ||
      '';
    const mime = textOf(props.get(PR_ATTACH_MIME_TAG), codepage);
    files.push({ filename, contentType: mime && /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/i.test(mime) ? mime.toLowerCase() : null, data: bytes });
  }
  // Outlook often sends only the rich body; its text stands in for the plain one.
  if (!body?.trim() && compressedRtf) body = rtfText(compressedRtf);
  return { files, body: body?.trim() ? body.slice(0, MAX_TNEF_BODY_CHARS) : null, filesOverLimit };
}
