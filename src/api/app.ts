/**
 * The HTTP API as an express app, built from its dependencies (the server wires real ones; tests
 * start the real server process). Holds a Temporal client only, never activities.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client } from '@temporalio/client';
import type { Scanner } from '../adapters/clamd';
import type { ObjectStore } from '../adapters/object-store';
import type { TicketStore } from '../adapters/ticket-store/types';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { adminAuth, rateLimit } from './auth';
import { emailAdminRouter } from './email-admin';
import { emailsRouter } from './emails';
import { erasureAdminRouter } from './erasure-admin';
import { vendorConnectors } from '../adapters/helpdesks/registry';
import { healthRouter } from './health';
import { inboundRouter } from './inbound';
import { measureIngress, metricsRouter } from './metrics';
import { metrics } from '../metrics';
import { attachmentLinkRouter, ticketsRouter } from './tickets';
import { undeliverableRouter } from './undeliverable';

export interface ApiDeps {
  config: Config;
  store: ObjectStore;
  scanner: Scanner;
  tickets: TicketStore;
  temporal: Client;
  log: Logger;
  /** True once SIGTERM has arrived: /readyz answers 503 while in-flight requests finish. */
  draining?: () => boolean;
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    // Draining for shutdown: a keep-alive client gets its answer and then a closed connection, so it
    // reconnects elsewhere instead of holding this process open. Decided when the answer is written,
    // since a request may have begun before the signal.
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
    res.writeHead = ((...args: unknown[]) => {
      if (deps.draining?.() && !res.headersSent) res.setHeader('Connection', 'close');
      return writeHead(...args);
    }) as typeof res.writeHead;
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.log.info('request', { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 });
    });
    next();
  });
  app.use(healthRouter({ ...deps, helpdesks: vendorConnectors(deps.config.helpdesks) }));
  // Unauthenticated, like /healthz: reachable only from the monitoring network (see ./metrics).
  app.use(metricsRouter());
  metrics.prime(deps.config.rules.queues.map((q) => q.address));
  // Before the rate limit, so a 429 at the ingress is timed too.
  app.use(measureIngress());
  app.use('/v1', rateLimit(deps.config.ingress.ratePerMinute, deps.config.ingress.rateBurst));
  app.use(inboundRouter({ ...deps, taskQueue: deps.config.temporal.taskQueue }));
  // A signed link is its own credential: an agent without the admin token opens attachments.
  app.use(
    attachmentLinkRouter({
      tickets: deps.tickets,
      store: deps.store,
      attachmentUrlTtlSeconds: deps.config.attachmentUrlTtlSeconds,
      attachmentLinks: deps.config.attachmentLinks,
      log: deps.log,
    }),
  );
  app.use('/v1', adminAuth(deps.config.adminToken));
  app.use(emailAdminRouter({ ...deps, taskQueue: deps.config.temporal.taskQueue }));
  app.use(erasureAdminRouter({ ...deps, taskQueue: deps.config.temporal.taskQueue }));
  app.use(emailsRouter(deps));
  app.use(undeliverableRouter({ ledger: deps.tickets, log: deps.log }));
  app.use(
    ticketsRouter({
      tickets: deps.tickets,
      store: deps.store,
      publicUrl: deps.config.api.publicUrl,
      attachmentUrlTtlSeconds: deps.config.attachmentUrlTtlSeconds,
      attachmentLinks: deps.config.attachmentLinks,
    }),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found', reason: 'no such route' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number; type?: string }).status;
    if ((error as { type?: string }).type === 'entity.too.large') {
      res.status(413).json({ error: 'too_large', reason: `the message exceeds ${deps.config.limits.maxMessageBytes} bytes` });
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      res.status(status).json({ error: 'bad_request', reason: (error as Error).message });
      return;
    }
    const unavailable = typeof (error as { type?: unknown }).type === 'string' && /Unavailable$/.test((error as { type: string }).type);
    deps.log.error('request failed', { error });
    if (unavailable) {
      res.set('Retry-After', '30').status(503).json({ error: 'unavailable', reason: 'a backing service is unavailable' });
      return;
    }
    res.status(500).json({ error: 'internal', reason: 'internal error' });
  });
  return app;
}
