/**
 * The ingress body in two steps around authentication (issue 12, class 3):
 *   readWireBody  the bytes exactly as sent, under a cap on the wire size: 413 at once for a
 *                 Content-Length over the cap, before a byte is read, and for a chunked body as
 *                 soon as it passes the cap (the rest is read and dropped, never kept);
 *   decodeBody    after the signature over those bytes holds: Content-Encoding undone by a
 *                 streaming decoder whose output is capped (src/ingress/decode-body.ts); 415 for a
 *                 coding we do not take, 413 past the cap, 400 for a corrupt stream.
 * express.raw is not used: it inflates gzip and deflate before the route can authenticate.
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

function tooLarge(res: Response, reason: string): void {
  // The sender may still be sending: close rather than read on for a keep-alive connection.
  res.set('Connection', 'close').status(413).json({ error: 'too_large', reason });
}

export function readWireBody(deps: { maxBytes: number; log: Logger }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const declared = req.get('content-length');
    if (declared !== undefined && Number(declared) > deps.maxBytes) {
      tooLarge(res, `the body of ${declared} bytes exceeds ${deps.maxBytes} bytes`);
      return;
    }
    readRaw(req, deps.maxBytes).then(
      (read) => {
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
      (error: unknown) => next(error),
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
