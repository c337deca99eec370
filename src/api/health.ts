/**
 * GET /healthz: the process is up. GET /readyz: every dependency answers (Temporal, object store,
 * clamd, ticket database), each within a short deadline; 503 names the ones that do not. While the
 * process drains for shutdown, /readyz answers 503 "draining" to a client still connected.
 * Helpdesk connectors are reported per connector under `helpdesks` but never make the API unready:
 * a vendor's outage must not stop the ingress accepting mail, which waits in Temporal meanwhile.
 */
import express, { type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Scanner } from '../adapters/clamd';
import type { ObjectStore } from '../adapters/object-store';
import type { TicketStore } from '../adapters/ticket-store/types';

const CHECK_DEADLINE_MS = 3_000;

function withTimeout(check: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    check().then(() => 'ok'),
    new Promise<string>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_DEADLINE_MS} ms`)), CHECK_DEADLINE_MS);
    }),
  ])
    .catch((error: unknown) => `down: ${error instanceof Error ? error.message : String(error)}`)
    .finally(() => clearTimeout(timer));
}

export function healthRouter(deps: {
  temporal: Client;
  store: ObjectStore;
  scanner: Scanner;
  tickets: TicketStore;
  draining?: () => boolean;
  /** Each configured helpdesk connector's reachability check, by name. */
  helpdesks?: ReadonlyMap<string, { ping(): Promise<void> }>;
}): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.draining?.()) {
      res.status(503).json({ status: 'draining', checks: {} });
      return;
    }
    const [temporal, objectStore, clamd, database] = await Promise.all([
      withTimeout(() =>
        deps.temporal.connection.withDeadline(Date.now() + CHECK_DEADLINE_MS, () =>
          deps.temporal.connection.workflowService.getSystemInfo({}),
        ),
      ),
      withTimeout(() => deps.store.ping()),
      withTimeout(() => deps.scanner.ping()),
      withTimeout(() => deps.tickets.ping()),
    ]);
    const checks = { temporal, objectStore, clamd, database };
    const ready = Object.values(checks).every((v) => v === 'ok');
    const connectors = [...(deps.helpdesks ?? new Map<string, { ping(): Promise<void> }>())];
    const helpdesks = Object.fromEntries(await Promise.all(connectors.map(async ([name, c]) => [name, await withTimeout(() => c.ping())] as const)));
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks, ...(connectors.length > 0 ? { helpdesks } : {}) });
  });
  return router;
}
