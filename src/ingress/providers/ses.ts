/**
 * Amazon SES receiving through SNS: POST /v1/inbound/ses, an SNS HTTPS subscription.
 * INGRESS-FORMATS.md §A.4.
 *
 * Order: the body read under a small cap (SNS messages are at most 256 KB); the TopicArn on the
 * allow-list (SES_TOPIC_ARNS) before anything is fetched for it; the signature (./sns-verify.ts);
 * the Timestamp no older than SNS's longest retry span (3600 s); then
 *   SubscriptionConfirmation  the SubscribeURL (an SNS host too) is fetched, which confirms;
 *   Notification              the MessageId claimed once, and the SES "Received" notification's
 *                             email taken from `content` (the SNS action, ≤150 KB) or read from the
 *                             S3 action's object with the configured credentials.
 * SNS counts any 4xx as delivered and retries only 5xx and timeouts (three times, 20 s apart, by
 * default): everything transient is 503, and what is refused stays in S3 for an operator when the
 * S3 action is used (the durable way to run this, see README).
 */
import express, { type Request, type Response, type Router } from 'express';
import { createS3ObjectStore, type ObjectStore } from '../../adapters/object-store';
import { ingressBody, readWireBody } from '../../api/inbound-body';
import { addressesOf } from '../mime-headers';
import { readRaw } from '../read-raw';
import { asSnsMessage, httpsGet, isSnsUrl, SnsVerifier, type SnsMessage } from './sns-verify';
import { claimOneTime, isFinal, notConfigured, sendProviderAnswer, unavailable, withTraceFields, type WebhookDeps } from './webhook';

/** SNS's own limit is 256 KB; the JSON escaping of it stays well below this. */
const MAX_SNS_BYTES = 1024 * 1024;
/** The longest custom SNS delivery policy retries for this long; an older message is not a retry. */
export const SNS_MAX_AGE_SECONDS = 3600;
const REFUSED = 400;
const MAX_S3_CLIENTS = 16;

type Json = Record<string, unknown>;
const obj = (value: unknown): Json => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {});
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const verdict = (value: unknown): string | undefined => str(obj(value).status);

export function sesRouter(deps: WebhookDeps): Router {
  const { config, log } = deps;
  const { topicArns, certHosts } = config.providers.ses;
  const verifier = new SnsVerifier({ certHosts, ...(deps.httpsAgent ? { agent: deps.httpsAgent } : {}) });
  const now = deps.now ?? Date.now;
  const buckets = new Map<string, ObjectStore>();
  const bucket = (name: string): ObjectStore => {
    let store = buckets.get(name);
    if (!store) {
      if (buckets.size >= MAX_S3_CLIENTS) buckets.clear();
      store = createS3ObjectStore({ ...config.providers.ses.s3, bucket: name });
      buckets.set(name, store);
    }
    return store;
  };
  const router = express.Router();

  const refuse = (req: Request, res: Response, status: number, reason: string, extra: Json = {}): void => {
    log.warn('sns message refused', { reason, source: req.socket.remoteAddress, ...extra });
    res.status(status).json({ error: status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'bad_request', reason });
  };

  const notification = async (req: Request, res: Response, m: SnsMessage): Promise<void> => {
    const claim = await claimOneTime(deps, `sns-message:${m.MessageId}`, now(), SNS_MAX_AGE_SECONDS * 1000);
    if (claim.state === 'replayed') return refuse(req, res, 409, 'this MessageId was already delivered (replay)', { snsMessageId: m.MessageId });
    if (claim.state === 'in-flight') return unavailable(res, 'the same message is still being handled; retry later');
    let answered = false;
    try {
      let ses: Json;
      try {
        ses = obj(JSON.parse(m.Message));
      } catch {
        ses = {};
      }
      if (ses.notificationType !== 'Received') {
        // SES posts a setup notification when the rule is created; nothing to accept.
        log.info('sns notification without an email', { snsMessageId: m.MessageId, notificationType: str(ses.notificationType) ?? null });
        answered = true;
        res.status(200).json({ status: 'ignored', eventId: m.MessageId });
        return;
      }
      const mail = obj(ses.mail);
      const receipt = obj(ses.receipt);
      const action = obj(receipt.action);
      const sesId = str(mail.messageId);
      const eventId = sesId ?? m.MessageId;
      let raw: Buffer;
      const content = str(ses.content);
      if (content !== undefined) {
        raw = str(action.encoding)?.toUpperCase() === 'BASE64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
      } else if (action.type === 'S3' && str(action.bucketName) && str(action.objectKey)) {
        let read;
        try {
          read = await readRaw(await bucket(str(action.bucketName)!).getStream(str(action.objectKey)!), config.limits.maxMessageBytes);
        } catch (error) {
          log.warn('ses object not read', { error, eventId, snsMessageId: m.MessageId });
          return unavailable(res, 'the email could not be read from S3; retry later');
        }
        if (!read.ok) {
          if (read.tooLarge) {
            answered = true;
            return refuse(req, res, REFUSED, `the message exceeds ${config.limits.maxMessageBytes} bytes`, { eventId });
          }
          return unavailable(res, 'the email could not be read from S3; retry later');
        }
        raw = read.bytes;
      } else {
        answered = true;
        return refuse(req, res, REFUSED, 'the notification has neither content nor an S3 object', { eventId });
      }
      const recipients = Array.isArray(receipt.recipients) ? receipt.recipients.filter((r): r is string => typeof r === 'string') : undefined;
      const answer = await deps.acceptEmail(
        withTraceFields(raw, {
          provider: 'ses',
          eventId: `${eventId}${sesId ? `; sns=${m.MessageId}` : ''}`,
          verdicts: { spf: verdict(receipt.spfVerdict), dkim: verdict(receipt.dkimVerdict), dmarc: verdict(receipt.dmarcVerdict), spam: verdict(receipt.spamVerdict), virus: verdict(receipt.virusVerdict) },
        }),
        { mailFrom: str(mail.source) ?? null, ...(recipients ? { rcptTo: addressesOf(recipients) } : {}) },
        { kind: 'webhook', name: 'ses', eventId, ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) },
      );
      answered = isFinal(answer);
      sendProviderAnswer(res, answer, { refused: REFUSED }, eventId);
    } finally {
      await claim.settle(answered);
    }
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    const wire = ingressBody(req)?.wire ?? Buffer.alloc(0);
    let m: SnsMessage | undefined;
    try {
      m = asSnsMessage(JSON.parse(wire.toString('utf8')));
    } catch {
      m = undefined;
    }
    if (!m) return refuse(req, res, REFUSED, 'the body is not an SNS message');
    // Before any fetch: a certificate URL of a topic we do not take is not worth a request.
    if (!topicArns.includes(m.TopicArn)) return refuse(req, res, 403, 'unexpected TopicArn', { topicArn: m.TopicArn.slice(0, 256) });
    const checked = await verifier.verify(m);
    if (!checked.ok) {
      if (checked.transient) {
        log.warn('sns signature not checked', { reason: checked.reason, snsMessageId: m.MessageId });
        return unavailable(res, 'the signature could not be checked; retry later');
      }
      return refuse(req, res, 401, checked.reason, { snsMessageId: m.MessageId });
    }
    const age = (now() - Date.parse(m.Timestamp)) / 1000;
    if (!(age <= SNS_MAX_AGE_SECONDS && age >= -config.ingress.maxSkewSeconds)) return refuse(req, res, 401, 'the Timestamp is outside the window of SNS retries', { snsMessageId: m.MessageId });
    switch (m.Type) {
      case 'Notification':
        return notification(req, res, m);
      case 'SubscriptionConfirmation': {
        if (!m.SubscribeURL || !isSnsUrl(m.SubscribeURL, certHosts, false)) return refuse(req, res, REFUSED, 'the SubscribeURL is not an SNS URL');
        try {
          await httpsGet(m.SubscribeURL, deps.httpsAgent, 64 * 1024);
        } catch (error) {
          log.warn('sns subscription not confirmed', { error, topicArn: m.TopicArn });
          return unavailable(res, 'the subscription could not be confirmed; retry later');
        }
        log.info('sns subscription confirmed', { topicArn: m.TopicArn });
        res.status(200).json({ status: 'subscribed', topicArn: m.TopicArn });
        return;
      }
      case 'UnsubscribeConfirmation':
        log.warn('sns subscription ended', { topicArn: m.TopicArn });
        res.status(200).json({ status: 'unsubscribed', topicArn: m.TopicArn });
        return;
      default:
        return refuse(req, res, REFUSED, 'unknown SNS message Type');
    }
  };

  router.post(
    '/v1/inbound/ses',
    (_req, res, next) => (topicArns.length === 0 ? notConfigured(res) : next()),
    readWireBody({ maxBytes: MAX_SNS_BYTES, log }),
    (req, res, next) => void handle(req, res).catch(next),
  );
  return router;
}
