/**
 * The API process: wires real adapters into the express app and listens. Temporal is connected
 * lazily, so the API starts (and /readyz says what is missing) even while Temporal is down.
 */
import { createServer, type Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { createClamdScanner } from '../adapters/clamd';
import { createS3ObjectStore } from '../adapters/object-store';
import { openTicketStore } from '../adapters/ticket-store';
import { describeConfig, loadConfig } from '../config';
import { createLogger } from '../logger';
import { metrics } from '../metrics';
import { reloadRulesOnSighup } from '../rules-reload';
import { temporalConnectionOptions } from '../temporal-connection';
import { createApp } from './app';

async function main(): Promise<void> {
  const log = createLogger({ process: 'api' });
  const config = loadConfig();
  log.info('starting api', { config: describeConfig(config) });
  // Routing reads config.rules per request: a reload replaces them in place (src/rules-reload.ts).
  reloadRulesOnSighup({ rules: config.rules, file: config.rulesFile, log });
  const tickets = openTicketStore(config.databaseUrl);
  await tickets.migrate();
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  let draining = false;
  const app = createApp({
    config,
    draining: () => draining,
    log,
    tickets,
    temporal,
    store: createS3ObjectStore(config.s3, { timeoutMs: 30_000, maxAttempts: 1 }),
    scanner: createClamdScanner(config.clamd),
  });
  // Slow senders must not hold sockets forever (a 40 MB upload at a few MB/s fits in 2 minutes).
  // Node checks these timeouts on an interval (30 s by default): check often enough to honour them.
  const requestTimeout = config.api.requestTimeoutSeconds * 1000;
  const server: Server = createServer(
    { requestTimeout, headersTimeout: Math.min(30_000, requestTimeout), connectionsCheckingInterval: Math.min(30_000, Math.ceil(requestTimeout / 3)) },
    app,
  );
  server.listen(config.api.port, config.api.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  log.info('api listening', { url: `http://${config.api.host}:${config.api.port}` });

  // The parked gauge: how many emails wait for an operator (alerts fire when it stays above 0).
  const countParked = (): void => {
    temporal.workflow
      .count('WorkflowType = "processInboundEmail" AND EmailStatus = "parked"')
      .then(({ count }) => metrics.setParked(count))
      .catch((error: unknown) => log.debug('parked count unavailable', { error }));
  };
  countParked();
  const parkedTimer = setInterval(countParked, 30_000);
  parkedTimer.unref();

  // Graceful shutdown: the listener closes (new connections are refused, idle keep-alive ones
  // closed), requests in flight finish and get their answer with "Connection: close" (and /readyz
  // answers 503 "draining" to a client still connected), then the connections to Temporal and the
  // database close. An email is either answered 202 (stored, workflow started) or not answered at
  // all, so the sender retries it: nothing accepted is lost.
  const stop = (signal: string): void => {
    if (draining) return;
    draining = true;
    clearInterval(parkedTimer);
    const since = Date.now();
    log.info('api draining', { signal, graceSeconds: config.api.shutdownGraceSeconds });
    const forced = setTimeout(() => {
      log.warn('api stop grace period over; closing open connections', { graceSeconds: config.api.shutdownGraceSeconds });
      server.closeAllConnections();
      process.exit(1);
    }, config.api.shutdownGraceSeconds * 1000);
    forced.unref();
    server.close(() => {
      void Promise.allSettled([connection.close(), tickets.close()]).then(() => {
        log.info('api stopped', { drainedMs: Date.now() - since });
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger({ process: 'api' }).error('api failed to start', { error });
  process.exit(1);
});
