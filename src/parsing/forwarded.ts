/**
 * A message forwarded as an attachment (`message/rfc822`, `message/global`) is one part to the
 * parser, and its own attachments would be reachable only by downloading the `.eml`. The parse keeps
 * the `.eml` and also lists the forwarded message's attachments as parts of their own, marked with
 * the container they came from. These helpers read the forwarded message's subject for its file
 * name and collect the inner parts of a nested parse, within a byte budget.
 */
import type { Readable } from 'node:stream';
import libmime from 'libmime';
import { decodeEmbeddedHead } from './header-charset';


/** Bytes of a forwarded message searched for its Subject header. */
const MAX_SUBJECT_SCAN = 256 * 1024;

export function isForwardedType(contentType: string): boolean {
  return contentType === 'message/rfc822' || contentType === 'message/global';
}

/** The decoded Subject of a message from its first bytes; empty when there is none. */
export function forwardedSubject(head: Buffer): string {
  // The header block is at the start; the rest of a 16 MB message need not become a string.
  // Read by the header charset rules: a raw 8-bit legacy subject names the file without U+FFFD.
  const text = decodeEmbeddedHead(head.subarray(0, MAX_SUBJECT_SCAN));
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? text.slice(0, end) : text;
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(block);
  if (!m?.[1]) return '';
  try {
    return libmime.decodeWords(m[1].replace(/\r?\n[ \t]+/g, ' ')).trim();
  } catch {
    return m[1].trim();
  }
}

export interface CollectedPart {
  index: number;
  data: Buffer;
}

/**
 * A sink for a nested parse that keeps part bytes in memory, up to `maxBytes` in all: past the budget
 * a part is drained and left out (it stays inside the `.eml`).
 */
export function collectingSink(maxBytes: number): { sink: (part: { index: number }, content: Readable) => Promise<{ partKey: string }>; parts: CollectedPart[] } {
  const parts: CollectedPart[] = [];
  let total = 0;
  const sink = async (part: { index: number }, content: Readable): Promise<{ partKey: string }> => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (total + size > maxBytes) over = true;
      if (!over) chunks.push(chunk);
    }
    if (over) return { partKey: '' };
    total += size;
    parts.push({ index: part.index, data: Buffer.concat(chunks) });
    return { partKey: `nested:${part.index}` };
  };
  return { sink, parts };
}
