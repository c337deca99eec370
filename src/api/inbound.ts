/**
 * POST /v1/inbound/mime: raw RFC 5322 message in, one workflow per queue it reached out. The HTTP adapter
 * of the accept path (src/ingress/accept-email.ts): it refuses a request without fresh signature
 * headers before reading its body, reads the wire bytes under the size cap, verifies the signature
 * over them, only then undoes any Content-Encoding under the same cap (./inbound-body.ts), takes
 * the envelope from X-Envelope-To and X-Envelope-From, and maps acceptEmail's answer onto HTTP:
 *   accepted, duplicate → 202 (the raw message is stored and every workflow exists)
 *   retry-later         → 503 with Retry-After (nothing was done that a retry could double)
 *   refused             → 413 too large, 400 not an email or a malformed envelope, 422 no recipient
 * A byte-identical retry of a request already answered never reaches acceptEmail: ingressAuth
 * (./auth.ts) answers it as the first was answered, or refuses it as a replay.
 */
import express, { type Request, type Response, type Router } from 'express';
import { metrics } from '../metrics';
import type { Client } from '@temporalio/client';
import type { ObjectStore } from '../adapters/object-store';
import type { TicketStore } from '../adapters/ticket-store/types';
import type { Config } from '../config';
import { acceptEmailSettings, createAcceptEmail } from '../ingress/accept-email';
import { addressesOf } from '../ingress/mime-headers';
import type { AcceptAnswer, AcceptEmail, Envelope } from '../ingress/types';
import type { Logger } from '../logger';
import { ingressAuth, ingressHeaderCheck } from './auth';
import { decodeWireBody, ingressBody, readWireBody } from './inbound-body';

export interface InboundDeps {
  config: Config;
  store: ObjectStore;
  tickets: TicketStore;
  temporal: Client;
  taskQueue: string;
  log: Logger;
}

/** One per queue the email reached (however many spellings of it were addressed). */
export interface InboundResult {
  recipient: string;
  queue: string;
  workflowId: string;
  status: 'accepted' | 'duplicate';
  /** The workflow of a different message that used this email's Message-ID first. */
  messageIdClashWith?: string;
}

const RETRY_AFTER_SECONDS = '30';

/** The envelope a sender may give in headers; without X-Envelope-To the header To and Cc decide. */
function envelopeOf(req: Request): Envelope {
  const to = req.get('x-envelope-to');
  return {
    mailFrom: addressesOf([req.get('x-envelope-from') ?? ''])[0] ?? null,
    ...(to === undefined ? {} : { rcptTo: addressesOf([to]) }),
  };
}

/** acceptEmail's answer as /v1/inbound/mime gives it (also the generic JSON route's). */
export function sendAnswer(res: Response, answer: AcceptAnswer): void {
  switch (answer.answer) {
    case 'accepted':
    case 'duplicate': {
      const emails: InboundResult[] = answer.recipients.map(({ recipient, queue, workflowId, answer: status, messageIdClashWith }) => ({
        recipient,
        queue,
        workflowId,
        status: status === 'duplicate' ? 'duplicate' : 'accepted',
        ...(messageIdClashWith ? { messageIdClashWith } : {}),
      }));
      res.status(202).json({ emails, ...(answer.refused.length > 0 ? { refused: answer.refused } : {}) });
      return;
    }
    case 'retry-later':
      res.set('Retry-After', RETRY_AFTER_SECONDS).status(503).json({ error: 'unavailable', reason: answer.reason });
      return;
    case 'refused':
      switch (answer.refusal) {
        case 'too-large':
          res.status(413).json({ error: 'too_large', reason: answer.reason });
          return;
        case 'not-an-email':
          res.status(400).json({ error: 'not_an_email', reason: answer.reason });
          return;
        case 'malformed-envelope':
          res.status(400).json({ error: 'bad_request', reason: answer.reason });
          return;
        case 'no-recipient':
          res.status(422).json({ error: 'no_recipient', reason: answer.reason, refused: answer.refused });
          return;
      }
  }
}

/**
 * acceptEmail over the API's adapters, built per request from the rules in force: a reload (SIGHUP)
 * changes routing and the policy snapshot each new workflow starts with, from the next request on.
 */
export function apiAcceptEmail(deps: InboundDeps): AcceptEmail {
  return (raw, envelope, source, options) =>
    createAcceptEmail({
      ...acceptEmailSettings(deps.config),
      taskQueue: deps.taskQueue,
      store: deps.store,
      temporal: deps.temporal,
      clashes: deps.tickets,
      log: deps.log,
    })(raw, envelope, source, options);
}

export function inboundRouter(deps: InboundDeps): Router {
  const acceptEmail = apiAcceptEmail(deps);
  const router = express.Router();
  router.post(
    '/v1/inbound/mime',
    (req, res, next) => {
      if (!req.is('message/rfc822')) {
        // Refused before authentication and before its body: close rather than read the body on.
        res.set('Connection', 'close').status(415).json({ error: 'unsupported_media_type', reason: 'send the raw message with Content-Type: message/rfc822' });
        return;
      }
      next();
    },
    ingressHeaderCheck({ maxSkewSeconds: deps.config.ingress.maxSkewSeconds, log: deps.log }),
    readWireBody({ maxBytes: deps.config.limits.maxMessageBytes, log: deps.log }),
    ingressAuth({ secrets: deps.config.ingress.secrets, maxSkewSeconds: deps.config.ingress.maxSkewSeconds, tickets: deps.tickets, log: deps.log }),
    decodeWireBody({ maxBytes: deps.config.limits.maxMessageBytes, onDecoded: metrics.ingressDecoded }),
    async (req: Request, res: Response) => {
      const raw = ingressBody(req)?.decoded ?? Buffer.alloc(0);
      const source = { kind: 'http', name: 'mime', ...(req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}) } as const;
      sendAnswer(res, await acceptEmail(raw, envelopeOf(req), source));
    },
  );
  return router;
}
