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

/** A decoder when the part's Content-Transfer-Encoding is a uuencode name, otherwise null. */
export function uudecoderFor(transferEncoding: unknown): UudecodeStream | null {
  if (typeof transferEncoding !== 'string') return null;
  const token = transferEncoding.replace(/\([^)]*\)/g, '').trim().toLowerCase();
  return UUENCODE_TRANSFER_ENCODINGS.has(token) ? new UudecodeStream() : null;
}

/**
 * The plain text with its uuencoded blocks replaced by `[attachment: name]` lines, and one attachment
 * record per block, numbered from `first`. Records past limits.maxAttachments come back skipped, like
 * MIME parts past it; at most limits.maxMimeParts blocks are taken out of one text.
 */
export function uuBlockParts(text: string, options: { limits: Limits; first: number }): { text: string; parts: { record: AttachmentPart; content: Readable }[] } {
  const { limits, first } = options;
  const taken = extractUuBlocks(text, { maxBlocks: limits.maxMimeParts, maxBytes: limits.maxAttachmentBytes });
  const parts = taken.blocks.map((block, n) => {
    const index = first + n;
    const record: AttachmentPart = {
      index,
      filename: block.name,
      contentType: (libmime.detectMimeType(block.name) || 'application/octet-stream').toLowerCase(),
      size: block.content.length,
      sha256: '',
      contentId: null,
      inline: false,
      partKey: '',
      skippedReason: index >= limits.maxAttachments ? `over the limit of ${limits.maxAttachments} attachments per email: not stored, not scanned` : null,
    };
    return { record, content: Readable.from([block.content], { objectMode: false }) };
  });
  return { text: taken.text, parts };
}
