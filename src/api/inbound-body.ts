/**
 * The ingress body in two steps around authentication (issue 12, class 3):
 *   readWireBody  the bytes exactly as sent, under a cap on the wire size: 413 at once for a
 *                 Content-Length over the cap, before a byte is read, and for a chunked body as
 *                 soon as it passes the cap (the rest is read and dropped, never kept);
 *   decodeBody    after the signature over those bytes holds: Content-Encoding undone by a
 *                 streaming decoder whose output is capped (src/ingress/decode-body.ts); 415 for a
 *                 coding we do not take, 413 past the cap, 400 for a corrupt stream.
 * express.raw is not used: it inflates gzip and deflate before the route can authenticate.
 *
 * Memory held for bodies not yet authenticated is bounded twice: per request by the wire cap, and
 * per process by UNVERIFIED_BODY_BUDGET_MESSAGES wire caps together. A request reserves its
 * Content-Length (a chunked one the whole cap) before reading; when the budget is spent it gets
 * 503 with Retry-After instead of a buffer, so many connections with plausible but wrong
 * signatures cannot add up to more than the budget.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { decodeBody, type ContentCoding } from '../ingress/decode-body';
import { readRaw } from '../ingress/read-raw';
import type { Logger } from '../logger';

/** The wire bytes, set by readWireBody; the decoded message, set by decodeBody. */
export interface IngressBody {
  wire: Buffer;
  decoded?: Buffer;
}

const BODY = Symbol('ingress body');
type WithBody = Request & { [BODY]?: IngressBody };

export function ingressBody(req: Request): IngressBody | undefined {
  return (req as WithBody)[BODY];
}

/** Wire caps' worth of unauthenticated bodies one API process buffers at once (4 × 40 MB by default). */
export const UNVERIFIED_BODY_BUDGET_MESSAGES = 4;
const RETRY_AFTER_SECONDS = '5';

/** Bytes reserved by bodies being read; a reservation that does not fit is refused, never queued. */
export class ByteBudget {
  private used = 0;
  constructor(readonly capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
  }
  reserve(bytes: number): (() => void) | undefined {
    if (this.used + bytes > this.capacity) return undefined;
    this.used += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
    };
  }
  get inUse(): number {
    return this.used;
  }
}

function tooLarge(res: Response, reason: string): void {
  // The sender may still be sending: close rather than read on for a keep-alive connection.
  res.set('Connection', 'close').status(413).json({ error: 'too_large', reason });
}

export function readWireBody(deps: { maxBytes: number; log: Logger; budget?: ByteBudget }): RequestHandler {
  const budget = deps.budget ?? new ByteBudget(UNVERIFIED_BODY_BUDGET_MESSAGES * deps.maxBytes);
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = req.get('content-length');
    if (declared !== undefined && Number(declared) > deps.maxBytes) {
      tooLarge(res, `the body of ${declared} bytes exceeds ${deps.maxBytes} bytes`);
      return;
    }
    const release = budget.reserve(declared === undefined ? deps.maxBytes : Number(declared));
    if (release === undefined) {
      deps.log.warn('ingress body refused: unauthenticated body budget spent', { source: req.socket.remoteAddress, inUse: budget.inUse });
      res.set('Connection', 'close').set('Retry-After', RETRY_AFTER_SECONDS).status(503).json({ error: 'unavailable', reason: 'too many bodies are being received; retry shortly' });
      return;
    }
    // Released once the bytes are read (they are authenticated next) or the request is gone.
    res.once('close', release);
    readRaw(req, deps.maxBytes, declared === undefined ? undefined : Number(declared)).then(
      (read) => {
        release();
        if (read.ok) {
          (req as WithBody)[BODY] = { wire: read.bytes };
          next();
        } else if (read.tooLarge) {
          tooLarge(res, `the body exceeds ${deps.maxBytes} bytes`);
        } else {
          deps.log.warn('ingress body not read', { error: read.error, source: req.socket.remoteAddress });
          if (!res.headersSent) res.set('Connection', 'close').status(400).json({ error: 'bad_request', reason: 'the body ended early' });
        }
      },
      (error: unknown) => {
        release();
        next(error);
      },
    );
  };
}

/** Undoes Content-Encoding on an authenticated body; refuses a coding we do not take before any work. */
export function decodeWireBody(deps: { maxBytes: number; onDecoded?: (bytes: number, coding: ContentCoding) => void }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const body = ingressBody(req);
    if (body === undefined) {
      next(new Error('decodeWireBody runs after readWireBody'));
      return;
    }
    decodeBody({ bytes: body.wire, contentEncoding: req.get('content-encoding'), maxBytes: deps.maxBytes, ...(deps.onDecoded ? { onDecoded: deps.onDecoded } : {}) }).then(
      (decoded) => {
        if (decoded.ok) {
          body.decoded = decoded.bytes;
          next();
          return;
        }
        switch (decoded.refusal) {
          case 'unsupported-encoding':
            res.status(415).json({ error: 'unsupported_encoding', reason: decoded.reason });
            return;
          case 'too-large':
            res.status(413).json({ error: 'too_large', reason: decoded.reason });
            return;
          case 'corrupt':
            res.status(400).json({ error: 'bad_request', reason: decoded.reason });
            return;
        }
      },
      (error: unknown) => next(error),
    );
  };
}
