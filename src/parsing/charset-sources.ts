/**
 * Where the header charset rules (header-charset.ts) get their evidence: the charset the message
 * declares for its body, and a sample of the body's own 8-bit bytes for the detector.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Raw bytes of the message kept for the detector's body sample. */
export const HEAD_SAMPLE_BYTES = 16 * 1024;
export const EIGHT_BIT = /[\x80-\xff]/;
/** Nodes of mailparser's tree visited for the first text part: a real message has a handful. */
const MAX_TREE_NODES = 1000;

/** Keeps the first bytes of the raw message for the detector; passes everything through. */
export class HeadSample extends Transform {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.kept < HEAD_SAMPLE_BYTES) {
      const piece = chunk.subarray(0, HEAD_SAMPLE_BYTES - this.kept);
      this.chunks.push(piece);
      this.kept += piece.length;
    }
    done(null, chunk);
  }
  /** The 8-bit lines after the top-level header block, within the kept bytes. */
  bodySample(): Buffer {
    const text = Buffer.concat(this.chunks).toString('latin1');
    const start = /\r?\n\r?\n/.exec(text);
    return start ? eightBitLines(text.slice(start.index)) : Buffer.alloc(0);
  }
}

/** The 8-bit lines of a body's first bytes (latin1 text): where an undeclared body shows its charset. */
export function eightBitLines(text: string): Buffer {
  return Buffer.from(text.split(/\r?\n/).filter((l) => EIGHT_BIT.test(l)).join('\n'), 'latin1');
}

function isNode(value: unknown): value is { contentType?: unknown; charset?: unknown; isAttachment?: unknown; children?: unknown } {
  return typeof value === 'object' && value !== null;
}

/**
 * The charset of the first inline text part of mailparser's node tree (mailparser 3.14 keeps it on
 * `tree`; the multipart test fails if a version stops doing so). Parts inside a forwarded message
 * belong to that message and are skipped. Bounded in nodes visited.
 */
export function firstTextPartCharset(tree: unknown): string | null {
  const stack: unknown[] = [tree];
  let visited = 0;
  while (stack.length > 0 && visited++ < MAX_TREE_NODES) {
    const node = stack.pop();
    if (!isNode(node)) continue;
    const type = typeof node.contentType === 'string' ? node.contentType.toLowerCase() : '';
    if (type === 'message/rfc822' || type === 'message/global') continue;
    if ((type === 'text/plain' || type === 'text/html') && node.isAttachment !== true && typeof node.charset === 'string' && node.charset) {
      return node.charset;
    }
    if (Array.isArray(node.children)) for (let c = node.children.length - 1; c >= 0; c--) stack.push(node.children[c]);
  }
  return null;
}

/** The body's declared charset: the top-level Content-Type's, or for a multipart its first text part's. */
export function declaredBodyCharset(contentType: unknown, tree: unknown): string | null {
  if (isNode(contentType) && 'params' in contentType && isNode(contentType.params) && 'charset' in contentType.params) {
    const charset = contentType.params.charset;
    if (typeof charset === 'string' && charset.trim()) return charset.trim();
  }
  return firstTextPartCharset(tree);
}
