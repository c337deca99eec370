/**
 * The part buffers of every stream upload in a process, from one fixed budget: memory for uploads
 * is bounded per process, not per upload, so ten 25 MB attachments at once cost what four do. The
 * buffers are kept and reused rather than freed: a buffer that lives through an upload is promoted
 * to V8's old generation, and a dead one there is only freed at the next full collection, so fresh
 * buffers per upload piled up (issue 15).
 *
 * An upload needs one buffer (it waits for it, first come first served) and takes a second, to fill
 * while the first is sent, only when one is free at that moment, so uploads never wait on each other
 * for the second and cannot deadlock holding one each.
 */
export class PartBuffers {
  private readonly free: Buffer[] = [];
  private made = 0;
  private readonly waiting: ((buffer: Buffer) => void)[] = [];

  constructor(
    readonly bufferBytes: number,
    readonly maxBuffers: number,
  ) {
    if (!(Number.isSafeInteger(bufferBytes) && bufferBytes > 0)) throw new RangeError(`bufferBytes must be a positive integer, not ${bufferBytes}`);
    if (!(Number.isSafeInteger(maxBuffers) && maxBuffers >= 1)) throw new RangeError(`maxBuffers must be an integer of at least 1, not ${maxBuffers}`);
  }

  /** A buffer now if one is free or may be made, else null. */
  tryAcquire(): Buffer | null {
    const reused = this.free.pop();
    if (reused) return reused;
    if (this.made >= this.maxBuffers) return null;
    this.made += 1;
    return Buffer.allocUnsafeSlow(this.bufferBytes);
  }

  /** A buffer, waiting for one to be released when all are in use. */
  acquire(): Promise<Buffer> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(buffer: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }

  /** Buffers handed out and not yet released. */
  get inUse(): number {
    return this.made - this.free.length;
  }
}
