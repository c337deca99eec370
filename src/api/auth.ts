/**
 * Who may call the API. Ingress requests carry an HMAC signature over timestamp and body (see
 * signing.ts); a signature is claimed once: a byte-identical retry of an accepted request gets the
 * original answer again (marked duplicate), a retry after a 5xx is handled as new, and any other
 * replay within the window is refused. Everything else under /v1 needs the admin bearer token, a
 * separate credential. Failures are 401 with a reason.
 */
import { tokenBuckets } from '../domain/token-buckets';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Ledger } from '../ports/ledger';
import type { Logger } from '../logger';
import { ingressBody } from './inbound-body';
import { AnsweredSignatures, bodyDigest, checkSignatureHeaders, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature, type RememberedAnswer } from './signing';

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

/** How long a retry waits for the answer to the same request still being handled. */
export const RETRY_WAIT_MS = 30_000;
/** How often a retry looks for the answer of a request another API process is handling. */
const ANSWER_POLL_MS = 250;

/** A remembered 202, answered again with every email marked a duplicate delivery. */
function answerAgain(res: Response, json: string): void {
  const body = JSON.parse(json) as { emails?: { status?: string }[] };
  const emails = (body.emails ?? []).map((email) => ({ ...email, status: 'duplicate' }));
  res.set('X-Mailgate-Retry', 'answered-before').status(202).json({ ...body, emails, retry: true });
}

function answerAsBefore(res: Response, answer: RememberedAnswer): void {
  if (answer.status === 202 && answer.json !== null) {
    answerAgain(res, answer.json);
    return;
  }
  refuse(res, `this signed request was already refused with ${answer.status} (replay)`);
}

function busy(res: Response): void {
  res.set('Retry-After', '5').status(503).json({ error: 'unavailable', reason: 'the same request is still being handled; retry shortly' });
}

/** A claim's stored answer, or null when the text is not one (then the replay is refused). */
function storedAnswer(text: string): RememberedAnswer | null {
  try {
    const value = JSON.parse(text) as Partial<RememberedAnswer>;
    if (typeof value.status === 'number' && (typeof value.json === 'string' || value.json === null)) return { status: value.status, json: value.json };
  } catch {
    // Not ours: refused below.
  }
  return null;
}

/**
 * After the body is read: the signature over it must hold. A signature is then claimed once in the
 * ledger (shared by every API process), and the answer it gets is kept with the claim and, for
 * quick answers and waiting, in this process (signing.ts, AnsweredSignatures). So a
 * byte-identical retry of an accepted request is answered 202 again with the same workflow ids,
 * marked duplicate, whichever API process it reaches; a retry while the first is still being handled
 * waits for that answer (RETRY_WAIT_MS, then 503); after a 5xx the claim is given back, so the retry
 * is handled as new. A replay of a refused request is refused (401 "replay").
 */
export function ingressAuth(deps: {
  secrets: string[];
  maxSkewSeconds: number;
  tickets: Pick<Ledger, 'claimOnce' | 'releaseClaim' | 'answerClaim' | 'claimAnswer'>;
  log: Logger;
  answered?: AnsweredSignatures;
  retryWaitMs?: number;
}): RequestHandler {
  // Twice the window, like the claims: an older signature already fails the timestamp check.
  const answered = deps.answered ?? new AnsweredSignatures(2 * deps.maxSkewSeconds * 1000);
  const retryWaitMs = deps.retryWaitMs ?? RETRY_WAIT_MS;
  return async (req: Request, res: Response, next: NextFunction) => {
    const now = Date.now();
    const wire = ingressBody(req)?.wire ?? Buffer.alloc(0);
    const verdict = verifySignature({
      secrets: deps.secrets,
      timestamp: req.get(TIMESTAMP_HEADER),
      signature: req.get(SIGNATURE_HEADER),
      body: wire,
      nowMs: now,
      maxSkewSeconds: deps.maxSkewSeconds,
    });
    if (!verdict.ok) {
      deps.log.warn('ingress request refused', { reason: verdict.reason, source: req.socket.remoteAddress });
      refuse(res, verdict.reason);
      return;
    }
    const signature = verdict.signature;
    const claim = `ingress-signature:${signature}`;
    const digestOfBody = bodyDigest(wire);
    const deadline = now + retryWaitMs;
    /** Waits for `settled` (or a poll interval); false once the retry has waited long enough. */
    const waitFor = async (settled?: Promise<void>): Promise<boolean> => {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const pause = settled ? left : Math.min(ANSWER_POLL_MS, left);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([settled ?? new Promise<void>(() => undefined), new Promise<void>((r) => (timer = setTimeout(r, pause)))]);
      clearTimeout(timer);
      return settled ? true : Date.now() < deadline;
    };
    for (;;) {
      if (Date.now() > deadline) {
        busy(res);
        return;
      }
      const seen = answered.get(signature);
      if (seen !== undefined) {
        if (seen.bodySha256 !== digestOfBody) {
          refuse(res, 'this signature was already used for another body (replay)');
          return;
        }
        if (seen.answer === null) {
          if (!(await waitFor(seen.settled))) {
            busy(res);
            return;
          }
          continue;
        }
        deps.log.info('ingress retry answered as before', { status: seen.answer.status, source: req.socket.remoteAddress });
        answerAsBefore(res, seen.answer);
        return;
      }
      // Remembered before the claim is awaited, so a concurrent retry in this process waits for this answer.
      answered.begin(signature, digestOfBody);
      let first: boolean;
      let stored: { answer: string | null } | null = null;
      try {
        first = await deps.tickets.claimOnce(claim, new Date(now).toISOString(), new Date(now - 2 * deps.maxSkewSeconds * 1000).toISOString());
        if (!first) stored = await deps.tickets.claimAnswer(claim);
      } catch (error) {
        answered.drop(signature);
        next(error);
        return;
      }
      if (first) break;
      answered.drop(signature);
      // Claimed by another process (or by this one before a restart): its answer is in the ledger.
      if (stored === null) continue; // given back after a 5xx meanwhile: claim it again
      if (stored.answer === null) {
        if (!(await waitFor())) {
          busy(res);
          return;
        }
        continue;
      }
      const before = storedAnswer(stored.answer);
      if (before === null) {
        refuse(res, 'this signed request was already received (replay)');
        return;
      }
      deps.log.info('ingress retry answered as before', { status: before.status, source: req.socket.remoteAddress, from: 'ledger' });
      answerAsBefore(res, before);
      return;
    }
    // The answer is taken when it is written, not when it is delivered: a sender that gave up
    // waiting has closed its connection, and its retry must still get this answer.
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const status = res.statusCode;
      if (status >= 500) {
        // Nothing was done that a retry could double: the claim goes back before the entry does.
        deps.tickets
          .releaseClaim(claim)
          .catch((error: unknown) => deps.log.warn('claim not released', { error }))
          .finally(() => answered.drop(signature));
      } else {
        const answer: RememberedAnswer = { status, json: status === 202 ? JSON.stringify(body) : null };
        answered.answer(signature, answer);
        deps.tickets.answerClaim(claim, JSON.stringify(answer)).catch((error: unknown) => deps.log.warn('ingress answer not recorded with its claim', { error }));
      }
      return json(body);
    };
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
 * A token bucket per source address (src/domain/token-buckets.ts): `perMinute` requests a minute,
 * in bursts of at most `burst`. In-process (each API process limits what reaches it); 429 with the
 * seconds until a token is back.
 */
export function rateLimit(perMinute: number, burst: number, maxSources = 100_000): RequestHandler {
  const buckets = tokenBuckets(perMinute, burst, maxSources);
  return (req, res, next) => {
    const source = req.socket.remoteAddress ?? 'unknown';
    const taken = buckets.take(source);
    if (!taken.ok) {
      res.set('Retry-After', String(taken.retryAfterSeconds)).status(429).json({ error: 'rate_limited', reason: `more than ${perMinute} requests a minute from ${source}` });
      return;
    }
    next();
  };
}
