/**
 * Postmark inbound: POST /v1/inbound/postmark, JSON. The message is `RawEmail` when "Include raw
 * email content in JSON payload" is ticked, else it is rebuilt from the JSON fields. Postmark has no
 * signature scheme: Basic credentials in the webhook URL (POSTMARK_BASIC_AUTH), checked on the headers
 * before the body is read. INGRESS-FORMATS.md §A.3.
 *
 * Postmark retries anything but 200 ten times over about 10.5 hours and stops at once on 403: 403 is
 * kept for a permanent refusal. Wrong credentials are 401, which Postmark retries, so a password
 * changed on one side only does not drop mail.
 */
import { createHash } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { ingressBody, readWireBody } from '../../api/inbound-body';
import { addressesOf } from '../mime-headers';
import { rebuildMime, type RebuildAttachment } from './rebuild-mime';
import { basicAuthMatches, notConfigured, sendProviderAnswer, withTraceFields, type WebhookDeps } from './webhook';

const REFUSED = 403;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null) : []);

/** The payload without RawEmail as MIME (field names from postmark's InboundWebhook.d.ts). */
function rebuildFromJson(payload: Record<string, unknown>, seed: string): Promise<Buffer> {
  const headers = list(payload.Headers)
    .map((h): [string, string] | undefined => (typeof h.Name === 'string' && typeof h.Value === 'string' ? [h.Name, h.Value] : undefined))
    .filter((h): h is [string, string] => h !== undefined);
  const attachments: RebuildAttachment[] = list(payload.Attachments).map((a) => ({
    filename: str(a.Name) ?? 'attachment',
    contentType: str(a.ContentType) ?? 'application/octet-stream',
    content: Buffer.from(str(a.Content) ?? '', 'base64'),
    ...(str(a.ContentID) ? { contentId: str(a.ContentID)! } : {}),
  }));
  const fromFull = (payload.FromFull ?? {}) as Record<string, unknown>;
  const from = str(fromFull.Email) ? (str(fromFull.Name) ? `"${str(fromFull.Name)!.replace(/["\\]/g, '')}" <${str(fromFull.Email)}>` : str(fromFull.Email)) : str(payload.From);
  const date = new Date(str(payload.Date) ?? '');
  const dated: [string, string][] = str(payload.Date) && !Number.isNaN(date.getTime()) ? [['Date', str(payload.Date)!]] : [];
  return rebuildMime({
    headers: [...dated, ...headers],
    from,
    to: str(payload.To),
    cc: str(payload.Cc),
    subject: str(payload.Subject),
    text: str(payload.TextBody),
    html: str(payload.HtmlBody),
    attachments,
    seed,
    // Postmark's Date is the sender's; without one the rebuild still needs a fixed date.
    receivedAt: new Date(0),
  });
}

export function postmarkRouter(deps: WebhookDeps): Router {
  const { config, log } = deps;
  const pairs = config.providers.postmark.basicAuth;
  const router = express.Router();

  const handle = async (req: Request, res: Response): Promise<void> => {
    const wire = ingressBody(req)?.wire ?? Buffer.alloc(0);
    let payload: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(wire.toString('utf8'));
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
      payload = value as Record<string, unknown>;
    } catch {
      res.status(REFUSED).json({ error: 'bad_request', reason: 'the body is not a JSON object' });
      return;
    }
    const eventId = str(payload.MessageID);
    const rawEmail = str(payload.RawEmail);
    const raw = rawEmail !== undefined ? Buffer.from(rawEmail, 'utf8') : await rebuildFromJson(payload, createHash('sha256').update(wire).digest('hex'));
    const recipient = str(payload.OriginalRecipient);
    const answer = await deps.acceptEmail(
      withTraceFields(raw, { provider: rawEmail !== undefined ? 'postmark' : 'postmark-parsed', ...(eventId ? { eventId } : {}) }),
      { mailFrom: null, ...(recipient ? { rcptTo: addressesOf([recipient]) } : {}) },
      { kind: 'webhook', name: 'postmark', ...(eventId ? { eventId } : {}), ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) },
    );
    sendProviderAnswer(res, answer, { refused: REFUSED }, eventId);
  };

  router.post(
    '/v1/inbound/postmark',
    (req, res, next) => {
      if (pairs.length === 0) return notConfigured(res);
      if (!basicAuthMatches(req.get('authorization'), pairs)) {
        log.warn('postmark post refused', { reason: 'missing or wrong credentials', source: req.socket.remoteAddress });
        res.set('Connection', 'close').set('WWW-Authenticate', 'Basic realm="mailgate"').status(401).json({ error: 'unauthorized', reason: 'missing or wrong credentials' });
        return;
      }
      if (!req.is('application/json')) {
        res.set('Connection', 'close').status(415).json({ error: 'unsupported_media_type', reason: 'Postmark posts application/json' });
        return;
      }
      next();
    },
    // Base64 inflates by a third, and attachments may come both in RawEmail and in Attachments.
    readWireBody({ maxBytes: 3 * config.limits.maxMessageBytes, log }),
    (req, res, next) => void handle(req, res).catch(next),
  );
  return router;
}
