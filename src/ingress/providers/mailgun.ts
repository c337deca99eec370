/**
 * Mailgun routes: forward() to /v1/inbound/mailgun/mime (raw MIME in `body-mime`) or to
 * /v1/inbound/mailgun (the parsed form, rebuilt into MIME). INGRESS-FORMATS.md §A.1.
 *
 * The signature travels inside the form (HMAC-SHA256 over timestamp‖token with the webhook signing
 * key), so the body is read under the wire cap and parsed under busboy's caps before it can be
 * checked; nothing else is done with a form until it holds. Then: the timestamp inside
 * INGRESS_MAX_SKEW_SECONDS, and the token claimed once in the ledger (Mailgun's own advice against
 * replays); a retry-later answer gives the token back for Mailgun's retry.
 *
 * Answers: 200 accepted or duplicate; 503 when ours is down (Mailgun retries for 8 h); 406, Mailgun's
 * "do not retry", for a permanent refusal and a replayed token. A bad or stale signature is 401,
 * which Mailgun retries: a signing key rotated on one side only must not drop mail for good.
 */
import { createHmac } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { readWireBody, ingressBody } from '../../api/inbound-body';
import { addressesOf } from '../mime-headers';
import { DEFAULT_MAX_FORM_PARTS, formSeed, isForm, parseForm, text, type Form } from './form';
import { rebuildMime } from './rebuild-mime';
import { claimOneTime, isFinal, notConfigured, sameSecret, sendProviderAnswer, unavailable, withTraceFields, type WebhookDeps } from './webhook';

const REFUSED = 406;
/** Fields that sign the post, not the email: left out of the rebuilt message's seed. */
const SIGNING_FIELDS = new Set(['timestamp', 'token', 'signature', 'parent-signature']);

export type MailgunVerdict = { ok: true; token: string } | { ok: false; reason: string };

/** Mailgun's webhook signature (documentation.mailgun.com, "Securing webhooks"), in constant time. */
export function verifyMailgunSignature(input: { keys: readonly string[]; timestamp?: string; token?: string; signature?: string; nowMs: number; maxSkewSeconds: number }): MailgunVerdict {
  const { timestamp, token, signature } = input;
  if (!timestamp || !token || !signature) return { ok: false, reason: 'timestamp, token and signature are required' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'timestamp must be unix seconds' };
  if (Math.abs(input.nowMs / 1000 - Number(timestamp)) > input.maxSkewSeconds) return { ok: false, reason: `timestamp outside the allowed window of ${input.maxSkewSeconds} s` };
  let ok = false;
  for (const key of input.keys) ok = sameSecret(createHmac('sha256', key).update(timestamp + token).digest('hex'), signature.toLowerCase()) || ok;
  return ok ? { ok: true, token } : { ok: false, reason: 'the signature does not match' };
}

/** `message-headers` is a JSON list of [name, value] pairs; anything else counts as none. */
function headerPairs(json: string | undefined): [string, string][] {
  try {
    const value: unknown = JSON.parse(json ?? '[]');
    if (!Array.isArray(value)) return [];
    return value.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
  } catch {
    return [];
  }
}

/** The parsed form as MIME: attachments are the files `attachment-N`, inline ones named in content-id-map. */
async function rebuildParsed(form: Form, receivedAt: Date): Promise<Buffer> {
  let cids: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text(form, 'content-id-map') ?? '{}');
    if (parsed && typeof parsed === 'object') cids = parsed as Record<string, unknown>;
  } catch {
    cids = {};
  }
  const cidOf = new Map(Object.entries(cids).filter((e): e is [string, string] => typeof e[1] === 'string').map(([cid, field]) => [field, cid]));
  return rebuildMime({
    headers: headerPairs(text(form, 'message-headers')),
    from: text(form, 'from'),
    to: text(form, 'To') ?? text(form, 'recipient'),
    subject: text(form, 'subject'),
    text: text(form, 'body-plain'),
    html: text(form, 'body-html'),
    attachments: form.files
      .filter((f) => /^attachment-\d+$/.test(f.field))
      .map((f) => ({ filename: f.filename, contentType: f.contentType, content: f.content, ...(cidOf.has(f.field) ? { contentId: cidOf.get(f.field)! } : {}) })),
    seed: formSeed(form, SIGNING_FIELDS),
    receivedAt,
  });
}

export function mailgunRouter(deps: WebhookDeps): Router {
  const { config, log } = deps;
  const keys = config.providers.mailgun.signingKeys;
  const now = deps.now ?? Date.now;
  const maxValueBytes = config.limits.maxMessageBytes;
  const router = express.Router();
  const handle = async (req: Request, res: Response): Promise<void> => {
    const wire = ingressBody(req)?.wire ?? Buffer.alloc(0);
    const parsed = await parseForm(wire, req.get('content-type') ?? '', { maxValueBytes, maxParts: DEFAULT_MAX_FORM_PARTS });
    if (!parsed.ok) {
      // Before the signature is known: 401, which Mailgun retries, rather than a final 406.
      log.warn('mailgun post refused', { reason: parsed.reason, source: req.socket.remoteAddress });
      res.status(401).json({ error: 'unauthorized', reason: parsed.reason });
      return;
    }
    const form = parsed.form;
    const nowMs = now();
    const verdict = verifyMailgunSignature({
      keys,
      timestamp: text(form, 'timestamp'),
      token: text(form, 'token'),
      signature: text(form, 'signature'),
      nowMs,
      maxSkewSeconds: config.ingress.maxSkewSeconds,
    });
    if (!verdict.ok) {
      log.warn('mailgun post refused', { reason: verdict.reason, source: req.socket.remoteAddress });
      res.status(401).json({ error: 'unauthorized', reason: verdict.reason });
      return;
    }
    const eventId = verdict.token;
    const claim = await claimOneTime(deps, `mailgun-token:${eventId}`, nowMs, config.ingress.maxSkewSeconds * 1000);
    if (claim.state === 'replayed') {
      log.warn('mailgun post refused', { reason: 'replayed token', eventId });
      res.status(REFUSED).json({ error: 'replayed', eventId, reason: 'this token was already used' });
      return;
    }
    if (claim.state === 'in-flight') {
      unavailable(res, 'the same delivery is still being handled; retry later');
      return;
    }
    let answer;
    try {
      const mime = form.fields.get('body-mime');
      const raw = mime ?? (await rebuildParsed(form, new Date(Number(text(form, 'timestamp')) * 1000)));
      answer = await deps.acceptEmail(
        withTraceFields(raw, { provider: mime ? 'mailgun' : 'mailgun-parsed', eventId }),
        { mailFrom: text(form, 'sender') ?? null, ...(form.fields.has('recipient') ? { rcptTo: addressesOf([text(form, 'recipient') ?? '']) } : {}) },
        { kind: 'webhook', name: 'mailgun', eventId, ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) },
      );
    } catch (error) {
      await claim.settle(false);
      throw error;
    }
    await claim.settle(isFinal(answer));
    sendProviderAnswer(res, answer, { refused: REFUSED }, eventId);
  };
  const routes = ['/v1/inbound/mailgun', '/v1/inbound/mailgun/mime'];
  router.post(
    routes,
    (req, res, next) => {
      if (keys.length === 0) return notConfigured(res);
      if (!isForm(req.get('content-type'))) {
        res.set('Connection', 'close').status(415).json({ error: 'unsupported_media_type', reason: 'Mailgun posts a form' });
        return;
      }
      next();
    },
    // A form carries the message once more in its encoding (percent- or multipart-framed): twice the cap.
    readWireBody({ maxBytes: 2 * maxValueBytes, log }),
    (req, res, next) => void handle(req, res).catch(next),
  );
  return router;
}
