/**
 * The SMTP process: Mailgate's own MX (src/ingress/smtp/listener.ts) wired to real adapters, plus
 * its Prometheus endpoint. Stateless like the API: run as many as the MX records name. Temporal is
 * connected lazily, so the MX starts while Temporal is down and answers 451 until it is back.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { createS3ObjectStore } from './adapters/object-store';
import { openTicketStore } from './adapters/ticket-store';
import { describeConfig, loadConfig } from './config';
import { acceptEmailSettings, createAcceptEmail } from './ingress/accept-email';
import { createSmtpIngress } from './ingress/smtp/listener';
import { servedSmtpRegistry, smtpMetrics } from './ingress/smtp/metrics';
import { createLogger } from './logger';
import { metrics } from './metrics';
import { reloadRulesOnSighup } from './rules-reload';
import { temporalConnectionOptions } from './temporal-connection';

async function main(): Promise<void> {
  const log = createLogger({ process: 'smtp' });
  const config = loadConfig();
  log.info('starting smtp', { config: describeConfig(config) });
  if (!config.trustedAuthservIds.includes(config.smtpIngress.authservId)) {
    log.warn('the MX stamps Authentication-Results that no step trusts: list its authserv-id in TRUSTED_AUTHSERV_IDS', { authservId: config.smtpIngress.authservId });
  }
  reloadRulesOnSighup({ rules: config.rules, file: config.rulesFile, log });
  const tickets = openTicketStore(config.databaseUrl);
  await tickets.migrate();
  const connection = Connection.lazy(temporalConnectionOptions(config.temporal));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const store = createS3ObjectStore(config.s3, { timeoutMs: 30_000, maxAttempts: 1 });
  metrics.prime(config.rules.queues.map((q) => q.address), ['smtp']);
  smtpMetrics.prime();

  const server = createSmtpIngress({
    settings: config.smtpIngress,
    // Per message from the rules in force, as the HTTP ingress does per request.
    acceptEmail: () => createAcceptEmail({ ...acceptEmailSettings(config), store, temporal, clashes: tickets, log }),
    recipients: () => acceptEmailSettings(config).recipients,
    maxMessageBytes: config.limits.maxMessageBytes,
    trustedAuthservIds: config.trustedAuthservIds,
    log,
  });
  server.on('error', (error) => log.warn('smtp connection error', { error }));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(config.smtpIngress.port, config.smtpIngress.host, () => resolve());
  });
  const smtpAddress = server.server.address() as AddressInfo;

  // /metrics only, unauthenticated: bind it to loopback or the monitoring network.
  const registry = servedSmtpRegistry();
  const metricsServer = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    metricsServer.once('error', reject);
    metricsServer.listen(config.smtpIngress.metricsPort, config.smtpIngress.host, resolve);
  });
  log.info('smtp listening', {
    smtp: `${smtpAddress.address}:${smtpAddress.port}`,
    metrics: `http://${config.smtpIngress.host}:${(metricsServer.address() as AddressInfo).port}/metrics`,
  });

  // Graceful stop: no new connections; transactions in flight get their answer (250 only after the
  // durable write) until smtp-server's close timeout, then the rest are dropped without one and
  // their senders retry: nothing answered 250 is lost.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('smtp draining', { signal });
    metricsServer.close();
    server.close(() => {
      void Promise.allSettled([connection.close(), tickets.close()]).then(() => {
        log.info('smtp stopped');
        process.exit(0);
      });
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger({ process: 'smtp' }).error('smtp failed to start', { error });
  process.exit(1);
});
