/**
 * A stream of unknown length into the object store in bounded memory: at most two part buffers per
 * upload, whatever the object's size, taken from the process's budget (part-buffers.ts).
 * @aws-sdk/lib-storage's Upload, used before, held far more (issue 15): it collects a part's chunks
 * in a list, copies them with Buffer.concat, keeps the copy alive through the remainder's subarray,
 * and sends `queueSize` such parts at once; one 25 MB attachment measured 25.5 MiB of live buffers.
 * Here one fixed buffer fills while the previous one is sent, and the source is paused
 * (backpressure) until that send is done, so a buffer is only reused once the request that read it
 * has finished.
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
import { PartBuffers } from './part-buffers';

/** S3's smallest part but the last (SeaweedFS, MinIO and R2 agree); also the single-PUT ceiling. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/**
 * Part buffers one process holds at most: 30 MiB. Ten concurrent 25 MB attachments measured +122 to
 * +141 MB of worker RSS with two buffers each; an upload that finds none free waits for one, its
 * source paused, which costs time under a burst of big mail and never memory.
 */
export const MAX_PART_BUFFERS = 6;

/** Shared by every upload in the process (exported so tests can see how many are in use). */
export const sharedPartBuffers = new PartBuffers(MIN_PART_BYTES, MAX_PART_BUFFERS);

export interface StreamUploadInput {
  client: S3Client;
  bucket: string;
  key: string;
  contentType: string;
  metadata?: Record<string, string> | undefined;
  body: Readable;
  /** Where part buffers come from; their size is the part size, at least MIN_PART_BYTES (S3 refuses smaller parts but the last). */
  buffers?: PartBuffers;
}

export async function uploadStream(input: StreamUploadInput): Promise<void> {
  const pool = input.buffers ?? sharedPartBuffers;
  const partBytes = pool.bufferBytes;
  if (partBytes < MIN_PART_BYTES) throw new RangeError(`part buffers must hold at least ${MIN_PART_BYTES} bytes, not ${partBytes}`);
  const { client, bucket: Bucket, key: Key } = input;
  // Taken once the first bytes arrive, so an upload whose writer never starts holds none.
  const buffers: Buffer[] = [];
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
    filled = 0;
    if (buffers.length === 1) {
      const second = pool.tryAcquire();
      if (second) buffers.push(second);
    }
    if (buffers.length === 2) {
      current ^= 1;
      return;
    }
    // No second buffer free: the one buffer is refilled once its part is sent.
    await inFlight();
  };

  try {
    for await (const piece of input.body) {
      const chunk: Buffer = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
      streamed(chunk.length);
      if (buffers.length === 0 && chunk.length > 0) buffers.push(await pool.acquire());
      for (let offset = 0; offset < chunk.length; ) {
        // A full buffer is sent only once more bytes follow it, so an object of exactly one part is a PUT.
        if (filled === partBytes) await flush();
        const copied = chunk.copy(buffers[current]!, filled, offset);
        filled += copied;
        offset += copied;
      }
    }
    if (uploadId === undefined) {
      const Body = buffers[current]?.subarray(0, filled) ?? Buffer.alloc(0);
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
  } finally {
    // Only once no request reads them: a part still being sent would be overwritten by the next user.
    await inFlight().catch(() => undefined);
    for (const buffer of buffers) pool.release(buffer);
  }
}

async function createUpload(input: StreamUploadInput): Promise<string> {
  const out = await input.client.send(new CreateMultipartUploadCommand({ Bucket: input.bucket, Key: input.key, ContentType: input.contentType, Metadata: input.metadata }));
  if (!out.UploadId) throw new Error('the object store started a multipart upload without an upload id');
  return out.UploadId;
}
