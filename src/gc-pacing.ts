/**
 * Frees the chunks of large streams soon after they die. Every socket read and every decoded piece
 * is a fresh Buffer whose bytes live outside the V8 heap; the few hundred bytes each costs on the
 * heap do not fill the young generation, so V8 collects them only when their outside bytes reach its
 * external-memory limit (64 MB). Streaming one 35 MB message from the object store left 52 MB of dead
 * chunks behind it at the peak (measured, issue 15), and the parse, scan and upload of one 25 MB
 * attachment each add their own: that, not live data, was most of the worker's RSS growth.
 *
 * So code that moves a large stream reports the bytes it moved, and every PACE_BYTES a minor GC
 * (a scavenge: only the young generation, ~1 ms here) frees the dead ones. Reading the same 35 MB
 * then peaked at 8 MB of buffers, in the same time. The count is per process: small mail costs one
 * scavenge per 4 MiB moved in all.
 */
import { Transform, type TransformCallback } from 'node:stream';
import v8 from 'node:v8';
import vm from 'node:vm';

export const PACE_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' | 'major' }) => void;

let collect: Collect | undefined;
let since = 0;

function collector(): Collect {
  if (collect) return collect;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') {
    collect = exposed as Collect;
  } else {
    // The flag only adds the gc function to contexts made after it is set; nothing else changes.
    v8.setFlagsFromString('--expose-gc');
    collect = vm.runInNewContext('gc') as Collect;
  }
  return collect;
}

/** Counts bytes a stream moved; past PACE_BYTES since the last one, runs a scavenge. */
export function streamed(bytes: number): void {
  since += bytes;
  if (since < PACE_BYTES) return;
  since = 0;
  collector()({ type: 'minor' });
}

/** A pass-through that reports what flows through it (for pipelines with no step of our own). */
export class PacedStream extends Transform {
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    streamed(chunk.length);
    done(null, chunk);
  }
}
