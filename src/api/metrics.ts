/**
 * GET /metrics (Prometheus text exposition of the metrics the API writes) and the middleware that times
 * the ingress.
 *
 * /metrics has no authentication: Prometheus scrapes it as it scrapes the worker's. Expose it to the
 * monitoring network only; the API binds to loopback by default (API_HOST), and a deployment that
 * binds it wider must block /metrics at its proxy or network edge. It reveals queue addresses and
 * volumes, never email content.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Registry } from 'prom-client';
import { metrics, servedRegistry } from '../metrics';

export const INGRESS_PREFIX = '/v1/inbound/';
/** Route label of an ingress request that matched no route (404, or refused before routing: 429). */
export const UNMATCHED_ROUTE = 'unmatched';

/** Serves the API's own metrics (src/metrics.ts SERVED_BY), not the worker's. */
export function metricsRouter(registry: Registry = servedRegistry('api')): Router {
  const router = express.Router();
  router.get('/metrics', (_req, res, next) => {
    registry.metrics().then((text) => {
      res.set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(text);
    }, next);
  });
  return router;
}

/**
 * Observes helpdesk_webhook_duration_seconds for every request under /v1/inbound/. The route label is
 * the matched pattern (`/v1/inbound/mime`), never the raw URL, so a scanner probing paths cannot
 * create series; it is read when the response finishes, after express has matched the route.
 */
export function measureIngress() {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.path.startsWith(INGRESS_PREFIX)) {
      next();
      return;
    }
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof pattern === 'string' ? `${req.baseUrl}${pattern}` : UNMATCHED_ROUTE;
      metrics.webhookDuration(route, res.statusCode, seconds);
    });
    next();
  };
}
