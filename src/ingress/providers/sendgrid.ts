/**
 * SendGrid Inbound Parse: POST /v1/inbound/sendgrid, multipart/form-data, in raw mode ("send raw":
 * the message in `email`, the envelope in `envelope`) or the default parsed mode (rebuilt into MIME).
 * INGRESS-FORMATS.md §A.2.
 *
 * Authentication, before any byte of the body is parsed: HTTP Basic credentials from the parse URL
 * (SENDGRID_BASIC_AUTH) are checked on the headers alone; with a security policy
 * (SENDGRID_VERIFICATION_KEYS) the signature and timestamp headers must be present and fresh before
 * the body is read, and the ECDSA P-256 / SHA-256 signature over timestamp‖body must hold over the
 * wire bytes before they are parsed. A signature is claimed once (replays refused).
 *
 * SendGrid retries only 5xx, for up to 3 days, and drops anything else silently: a transient failure
 * is always 503, a 4xx only for what no retry could fix.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { ingressBody, readWireBody } from '../../api/inbound-body';
import { addressesOf } from '../mime-headers';
import { DEFAULT_MAX_FORM_PARTS, formSeed, parseForm, text, type Form } from './form';
import { rebuildMime } from './rebuild-mime';
import { basicAuthMatches, claimOneTime, isFinal, notConfigured, sendProviderAnswer, unavailable, withTraceFields, type WebhookDeps } from './webhook';

/** The Event Webhook's header names, which the Parse security policy's signature uses too. */
export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';
const REFUSED = 400;

/** A public key as SendGrid's API returns it: base64 DER SubjectPublicKeyInfo. */
export function sendgridPublicKey(base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
}

export function verifySendgridSignature(keys: readonly KeyObject[], timestamp: string, body: Buffer, signature: string): boolean {
  const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), body]);
  const der = Buffer.from(signature, 'base64');
  let ok = false;
  for (const key of keys) {
    try {
      ok = verify('sha256', signed, key, der) || ok;
    } catch {
      // A signature that is not DER is simply not a match.
    }
  }
  return ok;
}

/** The `headers` field is the header block as text; folded lines are unfolded. */
function headerLines(block: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && pairs.length > 0) pairs[pairs.length - 1]![1] += ' ' + line.trim();
    else if (line.includes(':')) pairs.push([line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]);
  }
  return pairs;
}

function json(value: string | undefined): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(value ?? '{}');
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

async function rebuildParsed(form: Form, seed: string, receivedAt: Date): Promise<Buffer> {
  const info = json(text(form, 'attachment-info'));
  return rebuildMime({
    headers: headerLines(text(form, 'headers') ?? ''),
    from: text(form, 'from'),
    to: text(form, 'to'),
    cc: text(form, 'cc'),
    subject: text(form, 'subject'),
    text: text(form, 'text'),
    html: text(form, 'html'),
    attachments: form.files.map((f) => {
      const meta = (info[f.field] ?? {}) as Record<string, unknown>;
      const cid = typeof meta['content-id'] === 'string' ? meta['content-id'] : undefined;
      return { filename: typeof meta.filename === 'string' ? meta.filename : f.filename, contentType: f.contentType, content: f.content, ...(cid ? { contentId: cid } : {}) };
    }),
    seed,
    receivedAt,
  });
}

export function sendgridRouter(deps: WebhookDeps): Router {
  const { config, log } = deps;
  const { basicAuth } = config.providers.sendgrid;
  const keys = config.providers.sendgrid.verificationKeys.map(sendgridPublicKey);
  const now = deps.now ?? Date.now;
  const maxValueBytes = config.limits.maxMessageBytes;
  const maxSkew = config.ingress.maxSkewSeconds;
  const router = express.Router();
  const unauthorized = (req: Request, res: Response, reason: string): void => {
    log.warn('sendgrid post refused', { reason, source: req.socket.remoteAddress });
    res.set('Connection', 'close').status(401).json({ error: 'unauthorized', reason });
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    const wire = ingressBody(req)?.wire ?? Buffer.alloc(0);
    const nowMs = now();
    let claim: Awaited<ReturnType<typeof claimOneTime>> | undefined;
    if (keys.length > 0) {
      const signature = req.get(SENDGRID_SIGNATURE_HEADER) ?? '';
      if (!verifySendgridSignature(keys, req.get(SENDGRID_TIMESTAMP_HEADER) ?? '', wire, signature)) return unauthorized(req, res, 'the signature does not match');
      claim = await claimOneTime(deps, `sendgrid-signature:${createHash('sha256').update(signature).digest('hex')}`, nowMs, maxSkew * 1000);
      if (claim.state === 'replayed') return unauthorized(req, res, 'this signature was already used (replay)');
      if (claim.state === 'in-flight') return unavailable(res, 'the same delivery is still being handled; retry later');
    }
    const settle = async (final: boolean): Promise<void> => (claim?.state === 'first' ? claim.settle(final) : undefined);
    const parsed = await parseForm(wire, req.get('content-type') ?? '', { maxValueBytes, maxParts: DEFAULT_MAX_FORM_PARTS });
    if (!parsed.ok) {
      await settle(true);
      res.status(REFUSED).json({ error: 'bad_request', reason: parsed.reason });
      return;
    }
    const form = parsed.form;
    const envelope = json(text(form, 'envelope'));
    const to = Array.isArray(envelope.to) ? envelope.to.filter((a): a is string => typeof a === 'string') : undefined;
    const verdicts = { spf: text(form, 'SPF'), dkim: text(form, 'dkim'), spam_score: text(form, 'spam_score'), sender_ip: text(form, 'sender_ip') };
    let answer;
    try {
      const email = form.fields.get('email');
      const raw = email ?? (await rebuildParsed(form, formSeed(form), new Date(nowMs)));
      answer = await deps.acceptEmail(
        withTraceFields(raw, { provider: email ? 'sendgrid' : 'sendgrid-parsed', verdicts }),
        { mailFrom: typeof envelope.from === 'string' ? envelope.from : null, ...(to ? { rcptTo: addressesOf(to) } : {}) },
        { kind: 'webhook', name: 'sendgrid', ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) },
      );
    } catch (error) {
      await settle(false);
      throw error;
    }
    await settle(isFinal(answer));
    sendProviderAnswer(res, answer, { refused: REFUSED });
  };

  router.post(
    '/v1/inbound/sendgrid',
    (req, res, next) => {
      if (basicAuth.length === 0 && keys.length === 0) return notConfigured(res);
      if (basicAuth.length > 0 && !basicAuthMatches(req.get('authorization'), basicAuth)) {
        res.set('WWW-Authenticate', 'Basic realm="mailgate"');
        return unauthorized(req, res, 'missing or wrong credentials');
      }
      if (keys.length > 0) {
        const timestamp = req.get(SENDGRID_TIMESTAMP_HEADER) ?? '';
        if (!req.get(SENDGRID_SIGNATURE_HEADER) || !/^\d{1,12}$/.test(timestamp)) return unauthorized(req, res, 'missing signature or timestamp header');
        if (Math.abs(now() / 1000 - Number(timestamp)) > maxSkew) return unauthorized(req, res, `timestamp outside the allowed window of ${maxSkew} s`);
      }
      if (!/^multipart\/form-data\s*;/i.test(req.get('content-type') ?? '')) {
        res.set('Connection', 'close').status(415).json({ error: 'unsupported_media_type', reason: 'Inbound Parse posts multipart/form-data' });
        return;
      }
      next();
    },
    readWireBody({ maxBytes: 2 * maxValueBytes, log }),
    (req, res, next) => void handle(req, res).catch(next),
  );
  return router;
}
