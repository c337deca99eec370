/**
 * One streaming decompressor per single-stream format, each a Duplex that a pipeline pulls from,
 * so output is produced only as fast as the inspection consumes (and counts) it:
 *  - gzip and zstd: node:zlib (zstd since Node 22.15), native, no dependency;
 *  - bzip2: the decoder of unbzip2-stream (pure JS, MIT; behind decompress-tarbz2), driven below;
 *  - xz: xz-decompress (xz-embedded compiled to WebAssembly, MIT, by HTTP Toolkit): no native
 *    build and no download at install, unlike lzma-native; pull-based, so it honours backpressure.
 */
import { Duplex, PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { XzReadableStream } from 'xz-decompress';
import type { OpenedFormat } from '../domain/archive-format';

export type StreamFormat = Exclude<OpenedFormat, 'zip' | 'tar'>;
/** zlib output chunk, as for deflate in zip-walk.ts. */
const CHUNK_BYTES = 64 * 1024;

/** Throws (a bomb) when this much output from that much input is too much; see Bunzip2. */
export type OutputGuard = (outputBytes: number, inputBytes: number) => void;

export function decompressor(format: StreamFormat, guard: OutputGuard): Duplex {
  switch (format) {
    case 'gzip':
      return createGunzip({ chunkSize: CHUNK_BYTES });
    case 'zstd':
      return createZstdDecompress({ chunkSize: CHUNK_BYTES });
    case 'bzip2':
      return new Bunzip2(guard);
    case 'xz':
      return new Unxz();
  }
}

/**
 * xz-decompress decodes one stream at a time per process (one WebAssembly instance) behind a lock
 * it takes when a stream starts and drops at its end or cancel. Destroying this stream (a bomb, a
 * damaged entry) cancels the reader itself: a Duplex.from pair was seen not to pass a pipeline's
 * destroy on, leaving the lock held and every later xz waiting. And the streams are queued here,
 * before the library's lock: its cancel drops the lock even while the stream still waits for it,
 * which would let two streams decode at once.
 */
let xzQueue: Promise<void> = Promise.resolve();

function takeXzTurn(): Promise<() => void> {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const turn = xzQueue.then(() => release);
  xzQueue = xzQueue.then(() => held);
  return turn;
}

class Unxz extends Duplex {
  private readonly input = new PassThrough();
  private readonly ready: Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; release: () => void }>;
  private finished = false;

  constructor() {
    super({ readableHighWaterMark: CHUNK_BYTES });
    this.ready = takeXzTurn().then((release) => {
      const reader = new XzReadableStream(Readable.toWeb(this.input) as unknown as ReadableStream<Uint8Array>).getReader();
      return { reader, release };
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.input.write(chunk)) done();
    else this.input.once('drain', () => done());
  }

  override _final(done: (error?: Error | null) => void): void {
    this.input.end(done);
  }

  override _read(): void {
    this.ready
      .then(({ reader }) => reader.read())
      .then(
        (next) => {
          if (next.done) {
            this.finish();
            this.push(null);
          } else this.push(Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength));
        },
        (error: unknown) => {
          this.finish();
          this.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.input.destroy();
    if (this.finished) return done(error);
    this.finished = true;
    void this.ready.then(async ({ reader, release }) => {
      await reader.cancel().catch(() => undefined);
      release();
    });
    done(error);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    void this.ready.then(({ release }) => release());
  }
}

/*
 * unbzip2-stream's own stream decodes every whole block it holds in one synchronous loop (all that
 * is left, at its end), collects each block's output in a JS array before handing it on, and
 * ignores backpressure: a block of zeros decodes ~45 MiB from ~40 bytes (RLE1 runs of 255 in a
 * 900 kB block), measured at 12.6 s for one 242-byte bzip2 bomb. So its decoder (lib/bzip2, pinned
 * with the package) is driven here, its output written into 64 KiB buffers and the guard run at
 * each: a bomb stops within 64 KiB of the limit, mid-block.
 */
interface BitReader {
  (bits: number | null): number;
  bytesRead: number;
}
interface Bzip2Decoder {
  header(bits: BitReader): number;
  decompress(bits: BitReader, write: (byte: number) => void, buffer: Int32Array, size: number, crc: number): number | null;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's decoder, see above
const bzip2 = require('unbzip2-stream/lib/bzip2') as Bzip2Decoder;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the package's bit reader
const bitIterator = require('unbzip2-stream/lib/bit_iterator') as (next: () => Buffer) => BitReader;
/** Input held ahead of the decoder before a block is decoded: the most a 900 kB block compresses to, with margin (unbzip2-stream's own rule). */
const bzip2Lookahead = (level: number): number => 25_000 + 100_000 * level;

class Bunzip2 extends Transform {
  private readonly queue: Buffer[] = [];
  private received = 0;
  private bits: BitReader | null = null;
  /** The stream header's level (1-9); 0 between streams (pbzip2 writes several). */
  private level = 0;
  private crc: number | null = null;
  private block: Int32Array | null = null;
  private out = Buffer.allocUnsafe(CHUNK_BYTES);
  private outLength = 0;
  private produced = 0;

  constructor(private readonly guard: OutputGuard) {
    super({ readableHighWaterMark: CHUNK_BYTES });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.queue.push(chunk);
    this.received += chunk.length;
    this.run(false, done);
  }

  override _flush(done: TransformCallback): void {
    this.run(true, done);
  }

  private run(final: boolean, done: TransformCallback): void {
    try {
      this.decode(final);
      if (final && (this.crc !== null || this.bits === null)) throw new Error('the bzip2 data ends early');
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  private decode(final: boolean): void {
    this.bits ??= this.queue.length > 0 ? bitIterator(() => this.next()) : null;
    const bits = this.bits;
    if (bits === null) return;
    while (final ? this.received > bits.bytesRead : this.received - bits.bytesRead >= bzip2Lookahead(this.level)) {
      if (this.level === 0) {
        this.level = bzip2.header(bits);
        this.crc = 0;
        continue;
      }
      const size = 100_000 * this.level;
      if (this.block?.length !== size) this.block = new Int32Array(size);
      this.crc = bzip2.decompress(bits, this.emitByte, this.block, size, this.crc ?? 0);
      if (this.crc === null) this.level = 0;
      this.flush();
    }
  }

  private next(): Buffer {
    const next = this.queue.shift();
    if (next === undefined) throw new Error('the bzip2 data ends early');
    return next;
  }

  private readonly emitByte = (byte: number): void => {
    this.out[this.outLength++] = byte;
    if (this.outLength === CHUNK_BYTES) this.flush();
  };

  private flush(): void {
    if (this.outLength === 0) return;
    this.produced += this.outLength;
    this.guard(this.produced, this.bits?.bytesRead ?? this.received);
    this.push(this.out.subarray(0, this.outLength));
    this.out = Buffer.allocUnsafe(CHUNK_BYTES);
    this.outLength = 0;
  }
}
