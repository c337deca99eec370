/**
 * A zip's bytes as the inspection reads them: from a buffer, or from a stream opened again for each
 * pass, so a part is never held whole. A Cursor walks one pass forwards; the tail of a first pass
 * holds the end record and, usually, the central directory.
 */
import type { Readable } from 'node:stream';
import { ZipFormatError } from './zip-format';

/** Bytes kept from the end of a stream: the end record, its comment, and most central directories. */
const TAIL_BYTES = 1024 * 1024;
/** Largest piece handed on at once, so a stored entry in a buffer is still read incrementally. */
const PIECE_BYTES = 256 * 1024;

/** Positioned reads over chunks that arrive in order; never holds more than one chunk. */
export class Cursor {
  private chunk: Buffer = Buffer.alloc(0);
  constructor(
    private readonly chunks: AsyncGenerator<Buffer>,
    public position: number,
  ) {}

  private async take(max: number): Promise<Buffer> {
    while (this.chunk.length === 0) {
      const next = await this.chunks.next();
      if (next.done) throw new ZipFormatError(`the archive ends early, at byte ${this.position}`);
      this.chunk = next.value;
    }
    const piece = this.chunk.subarray(0, max);
    this.chunk = this.chunk.subarray(piece.length);
    this.position += piece.length;
    return piece;
  }

  async skipTo(offset: number): Promise<void> {
    while (this.position < offset) await this.take(offset - this.position);
  }

  async bytes(length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let got = 0; got < length; ) {
      const piece = await this.take(length - got);
      parts.push(piece);
      got += piece.length;
    }
    return parts.length === 1 && parts[0] ? parts[0] : Buffer.concat(parts);
  }

  async *range(length: number): AsyncGenerator<Buffer> {
    for (let left = length; left > 0; ) {
      const piece = await this.take(Math.min(left, PIECE_BYTES));
      left -= piece.length;
      yield piece;
    }
  }

  async close(): Promise<void> {
    await this.chunks.return(undefined);
  }
}

export async function* chunksOf(value: Readable | Buffer): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(value)) {
    yield value;
    return;
  }
  for await (const chunk of value as AsyncIterable<unknown>) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError('a zip stream must yield bytes, not text: do not set an encoding on it');
    yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  }
}

export interface Source {
  /** The archive's size and its last TAIL_BYTES bytes. */
  tail(): Promise<{ size: number; tail: Buffer }>;
  /** A cursor at byte 0; each call reads the source again. */
  open(): Cursor;
}

export function bufferSource(bytes: Buffer): Source {
  return {
    tail: () => Promise.resolve({ size: bytes.length, tail: bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)) }),
    open: () => new Cursor(chunksOf(bytes), 0),
  };
}

export function streamSource(read: () => Readable | Buffer): Source {
  let first: Readable | Buffer | null = read();
  if (Buffer.isBuffer(first)) return bufferSource(first);
  const next = (): Readable | Buffer => {
    const value = first ?? read();
    first = null;
    return value;
  };
  return {
    async tail() {
      const kept: Buffer[] = [];
      let keptBytes = 0;
      let size = 0;
      for await (const chunk of chunksOf(next())) {
        size += chunk.length;
        kept.push(chunk);
        keptBytes += chunk.length;
        while (kept[0] && keptBytes - kept[0].length >= TAIL_BYTES) keptBytes -= kept.shift()?.length ?? 0;
      }
      const joined = kept.length === 1 && kept[0] ? kept[0] : Buffer.concat(kept);
      return { size, tail: joined.subarray(Math.max(0, joined.length - TAIL_BYTES)) };
    },
    open: () => new Cursor(chunksOf(next()), 0),
  };
}
