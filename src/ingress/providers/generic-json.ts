/**
 * Generic parsed JSON: POST /v1/inbound/json, for providers without a raw mode. The shape is
 * documented as a JSON Schema (docs/inbound-json.schema.json) and checked here field by field; the
 * email is rebuilt into MIME. The request is signed exactly like /v1/inbound/mime (HMAC-SHA256 over
 * "<timestamp>.<body>", X-Mailgate-Timestamp and X-Mailgate-Signature, src/api/signing.ts) with
 * INBOUND_JSON_SECRETS, through the same checks: headers before the body, signature over the wire
 * bytes, claimed once, Content-Encoding undone only afterwards. Answers as /v1/inbound/mime does.
 */
import { createHash } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { ingressAuth, ingressHeaderCheck } from '../../api/auth';
import { decodeWireBody, ingressBody, readWireBody } from '../../api/inbound-body';
import { sendAnswer } from '../../api/inbound';
import { addressesOf } from '../mime-headers';
import type { Envelope } from '../types';
import { rebuildMime, type ParsedEmail } from './rebuild-mime';
import { notConfigured, withTraceFields, type WebhookDeps } from './webhook';

export type JsonEmail = { ok: true; email: Omit<ParsedEmail, 'seed' | 'receivedAt'>; envelope: Envelope | undefined; id?: string; provider: string; verdicts: Record<string, string | undefined> } | { ok: false; reason: string };

const isString = (v: unknown): v is string => typeof v === 'string';

/** The payload checked against docs/inbound-json.schema.json (by hand: one schema, no validator dependency). */
export function readJsonEmail(value: unknown): JsonEmail {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'the body must be a JSON object' };
  const p = value as Record<string, unknown>;
  for (const key of ['id', 'provider', 'from', 'to', 'cc', 'subject', 'date', 'text', 'html', 'spf', 'dkim', 'dmarc']) {
    if (p[key] !== undefined && !isString(p[key])) return { ok: false, reason: `${key} must be a string` };
  }
  if (isString(p.provider) && !/^[A-Za-z0-9._-]{1,50}$/.test(p.provider)) return { ok: false, reason: 'provider must be a short name' };
  if (![p.text, p.html, p.headers, p.subject].some((v) => v !== undefined)) return { ok: false, reason: 'one of text, html, headers or subject is required' };
  const headers: [string, string][] = [];
  if (Array.isArray(p.headers)) {
    for (const pair of p.headers) {
      if (!Array.isArray(pair) || pair.length !== 2 || !isString(pair[0]) || !isString(pair[1])) return { ok: false, reason: 'headers must be [name, value] pairs' };
      headers.push([pair[0], pair[1]]);
    }
  } else if (typeof p.headers === 'object' && p.headers !== null) {
    for (const [name, v] of Object.entries(p.headers)) {
      const values = Array.isArray(v) ? v : [v];
      if (!values.every(isString)) return { ok: false, reason: `header ${name.slice(0, 50)} must be a string or a list of strings` };
      for (const one of values) headers.push([name, one]);
    }
  } else if (p.headers !== undefined) {
    return { ok: false, reason: 'headers must be a list of pairs or an object' };
  }
  if (isString(p.date) && !headers.some(([n]) => n.toLowerCase() === 'date')) headers.push(['Date', p.date]);
  if (p.attachments !== undefined && !Array.isArray(p.attachments)) return { ok: false, reason: 'attachments must be a list' };
  const attachments: ParsedEmail['attachments'] = [];
  for (const [index, a] of ((p.attachments as unknown[] | undefined) ?? []).entries()) {
    const att = a as Record<string, unknown>;
    if (typeof a !== 'object' || a === null || !isString(att.filename) || !isString(att.content)) return { ok: false, reason: `attachment ${index + 1} needs a filename and base64 content` };
    if ((att.contentType !== undefined && !isString(att.contentType)) || (att.contentId !== undefined && !isString(att.contentId))) return { ok: false, reason: `attachment ${index + 1}: contentType and contentId must be strings` };
    attachments.push({ filename: att.filename, contentType: isString(att.contentType) ? att.contentType : 'application/octet-stream', content: Buffer.from(att.content, 'base64'), ...(isString(att.contentId) ? { contentId: att.contentId } : {}) });
  }
  let envelope: Envelope | undefined;
  if (p.envelope !== undefined) {
    const e = p.envelope as Record<string, unknown>;
    if (typeof p.envelope !== 'object' || p.envelope === null) return { ok: false, reason: 'envelope must be an object' };
    if (e.from !== undefined && e.from !== null && !isString(e.from)) return { ok: false, reason: 'envelope.from must be a string or null' };
    if (e.to !== undefined && !(Array.isArray(e.to) && e.to.every(isString))) return { ok: false, reason: 'envelope.to must be a list of addresses' };
    envelope = { mailFrom: isString(e.from) ? e.from : null, ...(Array.isArray(e.to) ? { rcptTo: addressesOf(e.to as string[]) } : {}) };
  }
  const opt = (v: unknown): string | undefined => (isString(v) ? v : undefined);
  return {
    ok: true,
    email: { headers, from: opt(p.from), to: opt(p.to), cc: opt(p.cc), subject: opt(p.subject), text: opt(p.text), html: opt(p.html), attachments },
    envelope,
    ...(isString(p.id) ? { id: p.id } : {}),
    provider: isString(p.provider) ? p.provider : 'json',
    verdicts: { spf: opt(p.spf), dkim: opt(p.dkim), dmarc: opt(p.dmarc) },
  };
}

export function genericJsonRouter(deps: WebhookDeps): Router {
  const { config, log } = deps;
  const secrets = config.providers.json.secrets;
  const router = express.Router();
  const handle = async (req: Request, res: Response): Promise<void> => {
    const body = ingressBody(req)?.decoded ?? Buffer.alloc(0);
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      value = undefined;
    }
    const read = readJsonEmail(value);
    if (!read.ok) {
      res.status(400).json({ error: 'bad_request', reason: read.reason });
      return;
    }
    // Not a provider's retry but our own format: a fixed date when the payload has none keeps the rebuild deterministic.
    const raw = await rebuildMime({ ...read.email, seed: createHash('sha256').update(body).digest('hex'), receivedAt: new Date(0) });
    const answer = await deps.acceptEmail(
      withTraceFields(raw, { provider: read.provider, ...(read.id ? { eventId: read.id } : {}), verdicts: read.verdicts }),
      read.envelope ?? { mailFrom: null },
      { kind: 'webhook', name: 'json', ...(read.id ? { eventId: read.id } : {}), ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) },
    );
    sendAnswer(res, answer);
  };
  router.post(
    '/v1/inbound/json',
    (req, res, next) => {
      if (secrets.length === 0) return notConfigured(res);
      if (!req.is('application/json')) {
        res.set('Connection', 'close').status(415).json({ error: 'unsupported_media_type', reason: 'send the email as application/json' });
        return;
      }
      next();
    },
    ingressHeaderCheck({ maxSkewSeconds: config.ingress.maxSkewSeconds, log }),
    // Attachments are base64 in the JSON: a third larger than the message they make.
    readWireBody({ maxBytes: 2 * config.limits.maxMessageBytes, log }),
    ingressAuth({ secrets, maxSkewSeconds: config.ingress.maxSkewSeconds, tickets: deps.claims, log }),
    decodeWireBody({ maxBytes: 2 * config.limits.maxMessageBytes }),
    (req, res, next) => void handle(req, res).catch(next),
  );
  return router;
}
