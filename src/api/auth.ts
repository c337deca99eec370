/**
 * Who may call the API. Ingress requests carry an HMAC signature over timestamp and body (see
 * signing.ts); a signature is good once: its replay within the window is refused, except after a
 * 5xx, when nothing was done and the sender may retry the identical request. Everything else under
 * /v1 needs the admin bearer token, a separate credential. Failures are 401 with a reason.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Ledger } from '../ports/ledger';
import type { Logger } from '../logger';
import { ingressBody } from './inbound-body';
import { checkSignatureHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from './signing';

function refuse(res: Response, reason: string): void {
  res.set('WWW-Authenticate', 'Bearer').status(401).json({ error: 'unauthorized', reason });
}

/**
 * Before the body is read: a request without well-formed, fresh signature headers is refused on
 * its headers alone, and the connection closed, so none of its body is buffered (issue 12,
 * class 3: memory per unauthenticated connection).
 */
export function ingressHeaderCheck(deps: { maxSkewSeconds: number; log: Logger }): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const verdict = checkSignatureHeaders({
      timestamp: req.get(TIMESTAMP_HEADER),
      signature: req.get(SIGNATURE_HEADER),
      nowMs: Date.now(),
      maxSkewSeconds: deps.maxSkewSeconds,
    });
    if (!verdict.ok) {
      deps.log.warn('ingress request refused', { reason: verdict.reason, source: req.socket.remoteAddress, bodyRead: false });
      res.set('Connection', 'close');
      refuse(res, verdict.reason);
      return;
    }
    next();
  };
}

export function ingressAuth(deps: { secrets: string[]; maxSkewSeconds: number; tickets: Pick<Ledger, 'claimOnce' | 'releaseClaim'>; log: Logger }): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    const now = Date.now();
    const verdict = verifySignature({
      secrets: deps.secrets,
      timestamp: req.get(TIMESTAMP_HEADER),
      signature: req.get(SIGNATURE_HEADER),
      body: ingressBody(req)?.wire ?? Buffer.alloc(0),
      nowMs: now,
      maxSkewSeconds: deps.maxSkewSeconds,
    });
    if (!verdict.ok) {
      deps.log.warn('ingress request refused', { reason: verdict.reason, source: req.socket.remoteAddress });
      refuse(res, verdict.reason);
      return;
    }
    const claim = `ingress-signature:${verdict.signature}`;
    // Claims are kept for twice the window: an older signature already fails the timestamp check.
    const first = await deps.tickets.claimOnce(claim, new Date(now).toISOString(), new Date(now - 2 * deps.maxSkewSeconds * 1000).toISOString());
    if (!first) {
      refuse(res, 'this signed request was already accepted (replay)');
      return;
    }
    res.on('finish', () => {
      if (res.statusCode >= 500) {
        deps.tickets.releaseClaim(claim).catch((error: unknown) => deps.log.warn('claim not released', { error }));
      }
    });
    next();
  };
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

export function adminAuth(token: string): RequestHandler {
  const expected = digest(token);
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    // Hashing first gives equal-length buffers, so the comparison time says nothing about the token.
    if (!match?.[1] || !timingSafeEqual(digest(match[1]), expected)) {
      refuse(res, match ? 'the admin token is not valid' : 'an admin bearer token is required');
      return;
    }
    next();
  };
}

/**
 * A token bucket per source address: `perMinute` requests a minute, in bursts of at most `burst`
 * (and never more than `perMinute`). A new source starts with the burst, not a minute's worth:
 * with 1,200 tokens up front a fresh address could fire 1,200 requests at once (issue 12, class
 * 3), and a bucket map cleared under pressure would hand every address that burst again.
 * In-process (each API process limits what reaches it); 429 with the seconds until a token is back.
 */
export function rateLimit(perMinute: number, burst: number, maxSources = 100_000): RequestHandler {
  for (const [name, value] of Object.entries({ perMinute, burst, maxSources })) {
    if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  }
  const capacity = Math.min(burst, perMinute);
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return (req, res, next) => {
    const source = req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const bucket = buckets.get(source) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    if (buckets.size >= maxSources && !buckets.has(source)) buckets.clear();
    buckets.set(source, bucket);
    if (bucket.tokens < 1) {
      const seconds = Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
      res.set('Retry-After', String(seconds)).status(429).json({ error: 'rate_limited', reason: `more than ${perMinute} requests a minute from ${source}` });
      return;
    }
    bucket.tokens -= 1;
    next();
  };
}
