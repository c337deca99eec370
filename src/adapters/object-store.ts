/**
 * The object store: raw messages, parsed email documents and attachments, behind a narrow interface.
 * One production adapter (S3 API: AWS S3, SeaweedFS, MinIO, R2) is used everywhere, tests included.
 */
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Config } from '../config';
import { classifyS3Error } from './s3-errors';
import { uploadStream } from './stream-upload';
import { TypedError } from '../domain/errors';
import { metrics } from '../metrics';

export interface PutObjectInput {
  key: string;
  body: Buffer | string | Readable;
  contentType?: string;
  /** Only for streams: lets the store pick a single PUT over a multipart upload. */
  contentLength?: number;
  metadata?: Record<string, string>;
}

export interface ListObjectsInput {
  prefix: string;
  /** From the previous page's `next`; undefined starts at the beginning. */
  after?: string;
  /** 1..1000 (the S3 API's cap). */
  limit: number;
}

export interface ObjectPage {
  objects: { key: string; lastModified: Date; size: number }[];
  /** Continuation token of the next page; null when this was the last. */
  next: string | null;
}

export interface ObjectStore {
  put(input: PutObjectInput): Promise<void>;
  /** Returns false when an object of that key already exists (content-addressed writes skip it). */
  exists(key: string): Promise<boolean>;
  /**
   * Makes an existing object as young as this use (a server-side copy onto itself), so retention,
   * which goes by age, does not delete content-addressed bytes a new email reuses. False when no
   * object has the key.
   */
  refresh(key: string): Promise<boolean>;
  /** When the object was last written; null when no object has the key. */
  modifiedAt(key: string): Promise<Date | null>;
  /** Server-side copy; the bytes never pass through Mailgate. */
  copy(fromKey: string, toKey: string): Promise<void>;
  getStream(key: string): Promise<Readable>;
  /** Removes an object; removing one that does not exist succeeds (S3 semantics), so a retry is safe. */
  delete(key: string): Promise<void>;
  getBuffer(key: string): Promise<Buffer>;
  presignGet(key: string, ttlSeconds: number, downloadName?: string): Promise<string>;
  ping(): Promise<void>;
  /** One page of the keys under a prefix, in key order. */
  list(input: ListObjectsInput): Promise<ObjectPage>;
  /** Deletes up to 1000 keys in one request; a key already gone counts as deleted (idempotent). */
  deleteMany(keys: string[]): Promise<void>;
}

export class ObjectStoreError extends TypedError {}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ObjectStoreError) throw error;
    const type = classifyS3Error(error);
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ObjectStoreError(type, `object store ${what} failed (${type}): ${detail}`, { cause: error });
  }
}

/**
 * A Content-Type the store can sign and serve: `type/subtype` in RFC 7231 token characters, or the
 * generic type. Email declares its own types, and a mangled one once made SigV4 signing fail.
 */
export function safeContentType(value: string | undefined): string {
  const type = (value ?? '').split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,127}$/.test(type) ? type : 'application/octet-stream';
}

/** A stream of a known length below this goes as one streamed PUT; any other stream through uploadStream. */
const MULTIPART_THRESHOLD = 8 * 1024 * 1024;

/** Counts every request the client sends: the deserialize step runs inside the SDK's retry, once per attempt. */
function countRequests(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      metrics.objectStoreRequest((context.commandName ?? 'other').replace(/Command$/, ''));
      return next(args);
    },
    { step: 'deserialize', name: 'mailgateCountRequests' },
  );
}

export function createS3ObjectStore(config: Config['s3'], options: { timeoutMs?: number; maxAttempts?: number } = {}): ObjectStore {
  const clientConfig: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    // Fail fast: the ingress must answer 503 promptly when the store is down, and activities have
    // their own retry policy in Temporal.
    maxAttempts: options.maxAttempts ?? 2,
    requestHandler: { connectionTimeout: 2_000, requestTimeout: options.timeoutMs ?? 60_000 },
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
  };
  const client = new S3Client(clientConfig);
  countRequests(client);
  // Presigning is local computation; a second client only changes the host the URL names.
  const presigner = config.publicEndpoint ? new S3Client({ ...clientConfig, endpoint: config.publicEndpoint }) : client;
  const Bucket = config.bucket;

  return {
    put: (input) =>
      wrap(`put ${input.key}`, async () => {
        const common = {
          Bucket,
          Key: input.key,
          ContentType: safeContentType(input.contentType),
          Metadata: input.metadata,
        };
        if (!(input.body instanceof Readable) || (input.contentLength !== undefined && input.contentLength < MULTIPART_THRESHOLD)) {
          await client.send(new PutObjectCommand({ ...common, Body: input.body, ContentLength: input.contentLength }));
          return;
        }
        await uploadStream({ client, bucket: Bucket, key: input.key, contentType: common.ContentType, metadata: input.metadata, body: input.body });
      }),
    exists: (key) =>
      wrap(`head ${key}`, async () => {
        try {
          await client.send(new HeadObjectCommand({ Bucket, Key: key }));
          return true;
        } catch (error) {
          if (classifyS3Error(error) === 'ObjectNotFound') return false;
          throw error;
        }
      }),
    refresh: (key) =>
      wrap(`refresh ${key}`, async () => {
        let head;
        try {
          head = await client.send(new HeadObjectCommand({ Bucket, Key: key }));
        } catch (error) {
          if (classifyS3Error(error) === 'ObjectNotFound') return false;
          throw error;
        }
        await client.send(
          new CopyObjectCommand({
            Bucket,
            Key: key,
            CopySource: `${Bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
            // S3 refuses a copy onto itself unless something changes: replacing the metadata with
            // itself is that change, and it resets LastModified.
            MetadataDirective: 'REPLACE',
            ContentType: safeContentType(head.ContentType),
            Metadata: head.Metadata,
          }),
        );
        return true;
      }),
    modifiedAt: (key) =>
      wrap(`head ${key}`, async () => {
        try {
          return (await client.send(new HeadObjectCommand({ Bucket, Key: key }))).LastModified ?? null;
        } catch (error) {
          if (classifyS3Error(error) === 'ObjectNotFound') return null;
          throw error;
        }
      }),
    copy: (fromKey, toKey) =>
      wrap(`copy ${fromKey} to ${toKey}`, async () => {
        await client.send(new CopyObjectCommand({ Bucket, Key: toKey, CopySource: `${Bucket}/${encodeURIComponent(fromKey).replace(/%2F/g, '/')}` }));
      }),
    delete: (key) =>
      wrap(`delete ${key}`, async () => {
        await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
      }),
    getStream: (key) =>
      wrap(`get ${key}`, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!(out.Body instanceof Readable)) throw new Error('object body is not a stream');
        return out.Body;
      }),
    getBuffer: (key) =>
      wrap(`get ${key}`, async () => {
        const out = await client.send(new GetObjectCommand({ Bucket, Key: key }));
        if (!out.Body) throw new Error('object has no body');
        return Buffer.from(await out.Body.transformToByteArray());
      }),
    presignGet: (key, ttlSeconds, downloadName) =>
      wrap(`presign ${key}`, () =>
        getSignedUrl(
          presigner,
          new GetObjectCommand({
            Bucket,
            Key: key,
            ...(downloadName
              ? { ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(downloadName)}` }
              : {}),
          }),
          { expiresIn: ttlSeconds },
        ),
      ),
    ping: () =>
      wrap('ping', async () => {
        await client.send(new HeadBucketCommand({ Bucket }));
      }),
    list: (input) =>
      wrap(`list ${input.prefix}`, async () => {
        const out = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: input.prefix, MaxKeys: input.limit, ...(input.after ? { ContinuationToken: input.after } : {}) }),
        );
        const objects = (out.Contents ?? []).flatMap((o) =>
          o.Key && o.LastModified ? [{ key: o.Key, lastModified: o.LastModified, size: o.Size ?? 0 }] : [],
        );
        return { objects, next: out.IsTruncated && out.NextContinuationToken ? out.NextContinuationToken : null };
      }),
    deleteMany: (keys) =>
      wrap(`delete ${keys.length} objects`, async () => {
        if (keys.length === 0) return;
        if (keys.length > 1000) throw new RangeError(`at most 1000 keys per delete, got ${keys.length}`);
        const out = await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
        // S3 answers 200 with per-key errors; a missing key is not one of them (delete is idempotent).
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) throw new Error(`${failed.length} of ${keys.length} deletes failed (first: ${failed[0]?.Code ?? 'unknown'})`);
      }),
  };
}
