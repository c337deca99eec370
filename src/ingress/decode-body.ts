/**
 * Content-Encoding of an ingress body, decoded only after the request is authenticated and with
 * the cap on the bytes it decodes to. The threat (issue 12, class 3): body parsers inflate before
 * the route checks anything, and a 40 KB gzip body held 40 MiB before its signature was looked
 * at; gzip reaches about 1:1000, brotli far more. So the decoder is streaming, every chunk it
 * produces is counted, and past the cap it is destroyed at once: at most one output chunk (16 KiB,
 * zlib's default chunkSize) is decoded beyond the cap, and nothing of it is kept.
 *
 * One coding at most (RFC 9110 §8.4): gzip (and its alias x-gzip), deflate (the zlib format,
 * RFC 9110 §8.4.1.2) or br; "identity" is no coding. Stacked codings ("gzip, br") are refused
 * rather than unwrapped, since each layer multiplies the work a small body can demand.
 */
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Transform } from 'node:stream';

export const CONTENT_CODINGS = ['gzip', 'deflate', 'br'] as const;
export type ContentCoding = (typeof CONTENT_CODINGS)[number];

const DECODERS: Readonly<Record<ContentCoding, () => Transform>> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
const ALIASES: Readonly<Record<string, ContentCoding>> = { gzip: 'gzip', 'x-gzip': 'gzip', deflate: 'deflate', br: 'br' };

export type DecodeRefusal = 'unsupported-encoding' | 'too-large' | 'corrupt';
export type DecodedBody =
  | { ok: true; bytes: Buffer; coding: ContentCoding | 'identity' }
  | { ok: false; refusal: DecodeRefusal; reason: string };

export interface DecodeBodyInput {
  /** The body as it came off the wire, already authenticated. */
  bytes: Buffer;
  /** The Content-Encoding header as sent; undefined or empty = identity. */
  contentEncoding: string | undefined;
  /** Cap on the decoded bytes (MAX_MESSAGE_BYTES): past it the decoder stops and the answer is too-large. */
  maxBytes: number;
  /** Told of every decoded chunk, as it is produced: a metric, and the tests' proof of what was inflated. */
  onDecoded?: (bytes: number, coding: ContentCoding) => void;
}

/** The codings named by a Content-Encoding header, in the order applied, identity left out. */
export function contentCodings(header: string | undefined): string[] {
  return (header ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter((part) => part !== '' && part !== 'identity');
}

export async function decodeBody(input: DecodeBodyInput): Promise<DecodedBody> {
  if (!(Number.isSafeInteger(input.maxBytes) && input.maxBytes > 0)) throw new RangeError(`maxBytes must be a positive integer, not ${input.maxBytes}`);
  const codings = contentCodings(input.contentEncoding);
  if (codings.length === 0) {
    return input.bytes.length > input.maxBytes
      ? { ok: false, refusal: 'too-large', reason: `the message exceeds ${input.maxBytes} bytes` }
      : { ok: true, bytes: input.bytes, coding: 'identity' };
  }
  const coding = codings.length === 1 ? ALIASES[codings[0] ?? ''] : undefined;
  if (coding === undefined) {
    return {
      ok: false,
      refusal: 'unsupported-encoding',
      reason: `Content-Encoding "${codings.join(', ').slice(0, 100)}" is not supported: send one of ${CONTENT_CODINGS.join(', ')}, or none`,
    };
  }
  const decoder = DECODERS[coding]();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: DecodedBody): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    decoder.on('data', (chunk: Buffer) => {
      if (settled) return;
      size += chunk.length;
      input.onDecoded?.(chunk.length, coding);
      if (size > input.maxBytes) {
        chunks.length = 0;
        decoder.destroy();
        settle({ ok: false, refusal: 'too-large', reason: `the message decodes to more than ${input.maxBytes} bytes` });
        return;
      }
      chunks.push(chunk);
    });
    decoder.once('end', () => settle({ ok: true, bytes: Buffer.concat(chunks, size), coding }));
    decoder.on('error', (error: Error) => settle({ ok: false, refusal: 'corrupt', reason: `the ${coding} body cannot be decoded: ${error.message}` }));
    decoder.end(input.bytes);
  });
}
