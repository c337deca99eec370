/**
 * POST /v1/inbound/mime: raw RFC 5322 message in, one workflow per recipient out.
 * Order of work (nothing is acknowledged before it is durable):
 *   size cap (413) → raw bytes to the object store under raw/<sha256> → per recipient, the
 *   idempotency key → start processInboundEmail with id inbound-email/<key>.
 * A 2xx means the raw message is stored and every workflow exists. A store or Temporal failure is a
 * 503 with Retry-After; retrying it is safe: the raw key is content-addressed and a workflow that
 * already exists is reported as a duplicate, never started twice.
 */
import { createHash } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { ObjectStore } from '../adapters/object-store';
import type { TicketStore } from '../adapters/ticket-store/types';
import type { Config } from '../config';
import { idempotencyKey } from '../domain/idempotency';
import { resolveRecipients } from '../domain/recipients';
import { queueFor } from '../rules';
import type { Logger } from '../logger';
import { inboundEmailWorkflowId } from '../workflows/ids';
import { EmailStatusKey, RecipientQueueKey } from '../workflows/search-attributes';
import type { ProcessInboundEmailInput } from '../workflows/types';
import { ingressAuth } from './auth';
import { metrics } from '../metrics';
import { addressesOf, NotAnEmailError, readHeaderBlock } from '../ingress/mime-headers';

export interface InboundDeps {
  config: Config;
  store: ObjectStore;
  tickets: TicketStore;
  temporal: Client;
  taskQueue: string;
  log: Logger;
}

export interface InboundResult {
  recipient: string;
  workflowId: string;
  status: 'accepted' | 'duplicate';
}

const RETRY_AFTER_SECONDS = '30';
const TEMPORAL_DEADLINE_MS = 10_000;

const REWRITE_BELOW_BYTES = 1024 * 1024;

function unavailable(res: Response, what: string): void {
  res.set('Retry-After', RETRY_AFTER_SECONDS).status(503).json({ error: 'unavailable', reason: `${what}; retry later` });
}

export function inboundRouter(deps: InboundDeps): Router {
  const router = express.Router();
  router.post(
    '/v1/inbound/mime',
    (req, res, next) => {
      if (!req.is('message/rfc822')) {
        res.status(415).json({ error: 'unsupported_media_type', reason: 'send the raw message with Content-Type: message/rfc822' });
        return;
      }
      next();
    },
    express.raw({ type: 'message/rfc822', limit: deps.config.limits.maxMessageBytes }),
    ingressAuth({ secrets: deps.config.ingress.secrets, maxSkewSeconds: deps.config.ingress.maxSkewSeconds, tickets: deps.tickets, log: deps.log }),
    async (req: Request, res: Response) => {
      const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      let headers;
      try {
        headers = readHeaderBlock(raw, deps.config.limits.maxHeaderBytes);
      } catch (error) {
        if (error instanceof NotAnEmailError) {
          res.status(400).json({ error: 'not_an_email', reason: error.message });
          return;
        }
        throw error;
      }
      const envelopeHeader = req.get('x-envelope-to');
      const recipients = resolveRecipients(
        {
          envelopeTo: envelopeHeader === undefined ? undefined : addressesOf([envelopeHeader]),
          headerTo: addressesOf(headers.all('to')),
          headerCc: addressesOf(headers.all('cc')),
        },
        {
          inboundDomains: deps.config.inboundDomains,
          catchAll: deps.config.catchAll,
          route: (address) => queueFor(deps.config.rules, address),
        },
      );
      if (recipients.accepted.length === 0) {
        res.status(422).json({
          error: 'no_recipient',
          reason: 'no recipient belongs to an inbound domain',
          refused: recipients.refused,
        });
        return;
      }

      const sha256 = createHash('sha256').update(raw).digest('hex');
      const rawKey = `raw/${sha256}`;
      try {
        // The key is the content's hash, so writing it again is harmless: a small message is just
        // written (one round trip); a large one only when the store does not have it yet.
        if (raw.length <= REWRITE_BELOW_BYTES || !(await deps.store.exists(rawKey))) {
          await deps.store.put({ key: rawKey, body: raw, contentType: 'message/rfc822', contentLength: raw.length });
        }
      } catch (error) {
        deps.log.warn('raw message not stored', { error, rawKey });
        unavailable(res, 'the message could not be stored');
        return;
      }

      const envelopeFrom = addressesOf([req.get('x-envelope-from') ?? ''])[0]?.toLowerCase() ?? null;
      const messageId = headers.get('message-id');
      const emails: InboundResult[] = [];
      for (const { recipient, queue } of recipients.accepted) {
        const key = idempotencyKey({ messageId, recipient, rawSha256: sha256 });
        const workflowId = inboundEmailWorkflowId(key);
        const input: ProcessInboundEmailInput = {
          rawKey,
          rawSha256: sha256,
          rawSize: raw.length,
          recipient,
          queue,
          idempotencyKey: key,
          envelopeFrom,
          receivedAt: new Date().toISOString(),
          policy: {
            waitForParentSeconds: deps.config.rules.waitForParentSeconds,
            replyTokens: deps.config.rules.replyTokens,
            maxAttempts: deps.config.rules.parking.maxAttempts,
            parkTimeoutSeconds: deps.config.rules.parking.parkTimeoutSeconds,
          },
        };
        try {
          await deps.temporal.connection.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () =>
            deps.temporal.workflow.start('processInboundEmail', {
              workflowId,
              taskQueue: deps.taskQueue,
              args: [input],
              // One email, one run: a running id is refused (FAIL) and a closed one is never re-run.
              workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
              workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
              typedSearchAttributes: [
                { key: RecipientQueueKey, value: queue },
                { key: EmailStatusKey, value: 'received' },
              ],
              staticSummary: `email to ${queue}`,
            }),
          );
          emails.push({ recipient, workflowId, status: 'accepted' });
          metrics.inbound(queue, 'accepted');
        } catch (error) {
          if (error instanceof WorkflowExecutionAlreadyStartedError) {
            emails.push({ recipient, workflowId, status: 'duplicate' });
            metrics.inbound(queue, 'duplicate');
            continue;
          }
          deps.log.warn('workflow not started', { error, workflowId });
          unavailable(res, 'the email could not be handed to the workflow engine');
          return;
        }
      }
      deps.log.info('inbound email accepted', { rawKey, emails });
      res.status(202).json({ emails, ...(recipients.refused.length > 0 ? { refused: recipients.refused } : {}) });
    },
  );
  return router;
}
