/**
 * The rich body Outlook puts in winmail.dat (PR_RTF_COMPRESSED) as plain text: decompressed per
 * MS-OXRTFCP, then read as RTF keeping only the visible text. Enough for a ticket to show what the
 * sender wrote when the message has no other body; formatting is not kept (the container is).
 *
 * Both steps are capped (output size, group depth) and never throw past their own RtfError.
 */

/** Decompressed RTF kept, and characters of text taken from it. */
export const MAX_RTF_BYTES = 8 * 1024 * 1024;
export const MAX_RTF_TEXT_CHARS = 1_000_000;
const MAX_GROUP_DEPTH = 500;

export class RtfError extends Error {
  override name = 'RtfError';
}

/** MS-OXRTFCP 2.1.3.1.1: the dictionary's initial 207 bytes. */
const PREBUFFER = Buffer.from(
  '{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx',
  'latin1',
);
const COMPRESSED = 0x75465a4c; // "LZFu"
const UNCOMPRESSED = 0x414c454d; // "MELA"

export function decompressRtf(data: Buffer): Buffer {
  if (data.length < 16) throw new RtfError('compressed RTF shorter than its header');
  const rawSize = data.readUInt32LE(4);
  const type = data.readUInt32LE(8);
  const limit = Math.min(rawSize, MAX_RTF_BYTES);
  if (type === UNCOMPRESSED) return data.subarray(16, 16 + limit);
  if (type !== COMPRESSED) throw new RtfError(`unknown RTF compression 0x${type.toString(16)}`);
  const dict = Buffer.alloc(4096);
  PREBUFFER.copy(dict);
  let write = PREBUFFER.length;
  const out = Buffer.alloc(limit);
  let size = 0;
  let pos = 16;
  while (pos < data.length && size < limit) {
    const control = data[pos++]!;
    for (let bit = 0; bit < 8 && size < limit; bit++) {
      if ((control & (1 << bit)) === 0) {
        if (pos >= data.length) return out.subarray(0, size);
        const byte = data[pos++]!;
        out[size++] = byte;
        dict[write] = byte;
        write = (write + 1) % 4096;
        continue;
      }
      if (pos + 1 >= data.length) return out.subarray(0, size);
      const token = data.readUInt16BE(pos);
      pos += 2;
      const offset = token >> 4;
      // A reference to the write position itself ends the stream (MS-OXRTFCP 2.1.3.1.4).
      if (offset === write) return out.subarray(0, size);
      const length = (token & 0xf) + 2;
      for (let i = 0; i < length && size < limit; i++) {
        const byte = dict[(offset + i) % 4096]!;
        out[size++] = byte;
        dict[write] = byte;
        write = (write + 1) % 4096;
      }
    }
  }
  return out.subarray(0, size);
}

/** Destinations whose content is never visible text. */
const HIDDEN = new Set(['fonttbl', 'colortbl', 'stylesheet', 'info', 'pict', 'object', 'header', 'footer', 'headerl', 'headerr', 'footerl', 'footerr', 'themedata', 'datastore', 'latentstyles', 'listtable', 'listoverridetable', 'rsidtbl', 'generator', 'xmlnstbl', 'mmathPr', 'fldinst']);

interface Group {
  hidden: boolean;
  /** Inside \htmlrtf … \htmlrtf0: text only the RTF rendering of encapsulated HTML shows. */
  htmlrtf: boolean;
  skipAfterUnicode: number;
}

function decoderFor(codepage: number) {
  try {
    return new TextDecoder(codepage === 65001 ? 'utf-8' : `windows-${codepage}`);
  } catch {
    return new TextDecoder('windows-1252');
  }
}

/** The visible text of an RTF document, capped; encapsulated HTML (\fromhtml) gives its text too. */
export function rtfToText(rtf: Buffer): string {
  const source = rtf.toString('latin1');
  let decoder = decoderFor(1252);
  const parts: string[] = [];
  let pending: number[] = [];
  let chars = 0;
  const flush = (): void => {
    if (pending.length > 0) parts.push(decoder.decode(Uint8Array.from(pending)));
    pending = [];
  };
  const emit = (text: string): void => {
    flush();
    parts.push(text);
    chars += text.length;
  };
  const stack: Group[] = [];
  let group: Group = { hidden: false, htmlrtf: false, skipAfterUnicode: 1 };
  let skip = 0;
  const visible = (): boolean => !group.hidden && !group.htmlrtf;
  for (let i = 0; i < source.length && chars < MAX_RTF_TEXT_CHARS; ) {
    const ch = source[i]!;
    if (ch === '{') {
      if (stack.length >= MAX_GROUP_DEPTH) throw new RtfError('RTF groups nested too deeply');
      stack.push(group);
      group = { ...group };
      i++;
      continue;
    }
    if (ch === '}') {
      group = stack.pop() ?? group;
      i++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      i++;
      continue;
    }
    if (ch !== '\\') {
      if (skip > 0) skip--;
      else if (visible()) {
        pending.push(source.charCodeAt(i) & 0xff);
        chars++;
      }
      i++;
      continue;
    }
    const next = source[i + 1] ?? '';
    if (next === "'") {
      const byte = parseInt(source.slice(i + 2, i + 4), 16);
      i += 4;
      if (skip > 0) skip--;
      else if (visible() && !Number.isNaN(byte)) {
        pending.push(byte);
        chars++;
      }
      continue;
    }
    if (next === '*') {
      group.hidden = true;
      i += 2;
      continue;
    }
    if (!/[a-zA-Z]/.test(next)) {
      // Control symbols: escaped characters, and a few with a meaning of their own.
      i += 2;
      if (skip > 0) skip--;
      else if (visible()) {
        if (next === '\\' || next === '{' || next === '}') {
          pending.push(next.charCodeAt(0));
          chars++;
        } else if (next === '~') emit('\u00a0');
        else if (next === '_') emit('-');
      }
      continue;
    }
    const m = /^\\([a-zA-Z]{1,32})(-?\d{1,10})? ?/.exec(source.slice(i, i + 48));
    if (!m) {
      i++;
      continue;
    }
    i += m[0].length;
    const word = m[1]!;
    const param = m[2] === undefined ? null : Number(m[2]);
    if (HIDDEN.has(word)) group.hidden = true;
    else if (word === 'htmlrtf') group.htmlrtf = param !== 0;
    else if (word === 'ansicpg' && param !== null) {
      flush();
      decoder = decoderFor(param);
    } else if (word === 'uc' && param !== null) group.skipAfterUnicode = Math.max(0, Math.min(param, 10));
    else if (word === 'u' && param !== null) {
      if (visible()) emit(String.fromCharCode(param < 0 ? param + 65536 : param));
      skip = group.skipAfterUnicode;
    } else if (visible()) {
      if (word === 'par' || word === 'line' || word === 'row') emit('\n');
      else if (word === 'tab' || word === 'cell') emit('\t');
      else if (word === 'emdash') emit('\u2014');
      else if (word === 'endash') emit('\u2013');
      else if (word === 'lquote' || word === 'rquote') emit(word === 'lquote' ? '\u2018' : '\u2019');
      else if (word === 'ldblquote' || word === 'rdblquote') emit(word === 'ldblquote' ? '\u201c' : '\u201d');
      else if (word === 'bullet') emit('\u2022');
    }
  }
  flush();
  return parts
    .join('')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .slice(0, MAX_RTF_TEXT_CHARS);
}
