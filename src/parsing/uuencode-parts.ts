/**
 * uuencoded files as attachments of the parsed email, so they take the path every other attachment
 * takes (the sink stores them, the scan step scans them, the size and count limits apply to their
 * decoded bytes): a decoder for parts sent with an x-uuencode transfer encoding, and the files of
 * `begin … end` blocks taken out of the plain text body (./uuencode.ts).
 */
import { Readable } from 'node:stream';
import libmime from 'libmime';
import type { AttachmentPart } from '../domain/email';
import type { Limits } from '../domain/limits';
import { extractUuBlocks, UudecodeStream, UUENCODE_TRANSFER_ENCODINGS } from './uuencode';

export type { UudecodeStream } from './uuencode';

/** Media types old clients (Eudora, Pegasus) gave a uuencoded file instead of a transfer encoding. */
const UUENCODE_MEDIA_TYPES: ReadonlySet<string> = new Set(['application/x-uuencode', 'application/x-uue', 'text/x-uuencode', 'text/x-uue']);

/**
 * A decoder when the part is uuencoded (its Content-Transfer-Encoding, or its media type, names
 * uuencode), otherwise null. The begin line names the file when the part has no name of its own, and
 * gives its type when the part's says only "octet-stream" or "uuencode".
 */
export function uudecoderFor(part: { headers: Map<string, unknown>; filename?: string | undefined }, record: AttachmentPart): UudecodeStream | null {
  const transferEncoding = part.headers.get('content-transfer-encoding');
  const token = typeof transferEncoding === 'string' ? transferEncoding.replace(/\([^)]*\)/g, '').trim().toLowerCase() : '';
  if (!UUENCODE_TRANSFER_ENCODINGS.has(token) && !UUENCODE_MEDIA_TYPES.has(record.contentType)) return null;
  const decoder = new UudecodeStream();
  decoder.once('named', (name: string) => {
    if (part.filename === undefined) record.filename = name;
    if (record.contentType === 'application/octet-stream' || UUENCODE_MEDIA_TYPES.has(record.contentType)) {
      record.contentType = (libmime.detectMimeType(name) || 'application/octet-stream').toLowerCase();
    }
  });
  return decoder;
}

/**
 * The plain text with its uuencoded blocks replaced by `[attachment: name]` lines, and each block's
 * file: its name, type and bytes. The parse step adds them like any part (names, count and size
 * limits); at most limits.maxMimeParts blocks are taken out of one text.
 */
export function uuBlockParts(text: string, limits: Limits): { text: string; parts: { filename: string; contentType: string; content: Readable }[] } {
  const taken = extractUuBlocks(text, { maxBlocks: limits.maxMimeParts, maxBytes: limits.maxAttachmentBytes });
  const parts = taken.blocks.map((block) => ({
    filename: block.name,
    contentType: (libmime.detectMimeType(block.name) || 'application/octet-stream').toLowerCase(),
    content: Readable.from([block.content], { objectMode: false }),
  }));
  return { text: taken.text, parts };
}
