/**
 * A stream of unknown length into the object store in bounded memory: at most two part buffers per
 * upload, whatever the object's size. @aws-sdk/lib-storage's Upload was used before and held far
 * more (measured on a 25 MB attachment, issue 15): it collects a part's chunks in a list, copies them
 * with Buffer.concat, keeps the copy alive through the remainder's subarray, and sends `queueSize`
 * such parts at once, so one attachment held over 30 MB. Here one fixed buffer fills while the
 * previous one is sent, and the source is paused (backpressure) until that send is done, so a
 * buffer is only reused once the request that read it has finished.
 *
 * An object that ends within the first part is sent as one PUT; a multipart upload that fails is
 * aborted so no orphaned parts are billed or kept.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { streamed } from '../gc-pacing';

/** S3's smallest part but the last (SeaweedFS, MinIO and R2 agree); also the single-PUT ceiling. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface StreamUploadInput {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  metadata?: Record<string, string> | undefined;
  body: Readable;
  /** At least MIN_PART_BYTES: S3 refuses smaller parts except the last. */
  partBytes?: number;
}

export async function uploadStream(input: StreamUploadInput): Promise<void> {
  const partBytes = input.partBytes ?? MIN_PART_BYTES;
  if (!(Number.isSafeInteger(partBytes) && partBytes >= MIN_PART_BYTES)) throw new RangeError(`partBytes must be an integer of at least ${MIN_PART_BYTES}, not ${partBytes}`);
  const { client, bucket: Bucket, key: Key } = input;
  // The second buffer only exists once a first part is on its way: a small object costs one.
  const buffers: Buffer[] = [Buffer.allocUnsafeSlow(partBytes)];
  let current = 0;
  let filled = 0;
  let uploadId: string | undefined;
  const parts: CompletedPart[] = [];
  let sending: Promise<void> | null = null;
  /** The part being sent, if any (a function: the assignments happen in flush, out of the compiler's sight). */
  const inFlight = (): Promise<void> => sending ?? Promise.resolve();

  const sendPart = async (data: Buffer, PartNumber: number, UploadId: string): Promise<void> => {
    const out = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: data, ContentLength: data.length }));
    parts[PartNumber - 1] = { PartNumber, ETag: out.ETag };
  };

  /** Sends the full buffer as the next part and switches to the other one once it is free again. */
  const flush = async (): Promise<void> => {
    uploadId ??= await createUpload(input);
    await inFlight();
    const partNumber = parts.length + 1;
    parts.push({ PartNumber: partNumber });
    sending = sendPart(buffers[current]!.subarray(0, filled), partNumber, uploadId);
    // Awaited at the next flush or at the end; this keeps an early rejection from counting as unhandled.
    sending.catch(() => undefined);
    current ^= 1;
    buffers[current] ??= Buffer.allocUnsafeSlow(partBytes);
    filled = 0;
  };

  try {
    for await (const piece of input.body) {
      const chunk: Buffer = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
      streamed(chunk.length);
      for (let offset = 0; offset < chunk.length; ) {
        // A full buffer is sent only once more bytes follow it, so an object of exactly one part is a PUT.
        if (filled === partBytes) await flush();
        const copied = chunk.copy(buffers[current]!, filled, offset);
        filled += copied;
        offset += copied;
      }
    }
    if (uploadId === undefined) {
      const Body = buffers[current]!.subarray(0, filled);
      await client.send(new PutObjectCommand({ Bucket, Key, Body, ContentLength: filled, ContentType: input.contentType, Metadata: input.metadata }));
      return;
    }
    await flush();
    await inFlight();
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    // The writer feeding the body would otherwise wait forever on a stream nobody reads.
    input.body.destroy(error instanceof Error ? error : new Error(String(error)));
    if (uploadId !== undefined) {
      await inFlight().catch(() => undefined);
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId })).catch(() => undefined);
    }
    throw error;
  }
}

async function createUpload(input: StreamUploadInput): Promise<string> {
  const out = await input.client.send(new CreateMultipartUploadCommand({ Bucket: input.bucket, Key: input.key, ContentType: input.contentType, Metadata: input.metadata }));
  if (!out.UploadId) throw new Error('the object store started a multipart upload without an upload id');
  return out.UploadId;
}
