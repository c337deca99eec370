/**
 * The worker's two Prometheus endpoints: a small node:http server for Mailgate's own registry
 * (WORKER_METRICS_PORT), and the address for the Temporal SDK's runtime exporter
 * (TEMPORAL_METRICS_PORT), which core binds itself when the Runtime is installed. The first also
 * answers GET /healthz for container healthchecks: 200 while the worker polls and Temporal answers,
 * 503 with the reason otherwise (starting, stopping, Temporal unreachable).
 *
 * Neither has authentication: bind them to loopback (the default) or the monitoring network only.
 * A port already in use fails the start with the port and variable named, rather than leaving a
 * worker running that no one can see. Port 0 picks a free port, which is logged.
 */
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigError } from './config';

export interface MetricsEndpoint {
  url: string;
  close(): Promise<void>;
}

/** What /healthz answers: `ok` decides 200 or 503; the rest is the JSON body. */
export interface HealthReport {
  ok: boolean;
  status: string;
  [detail: string]: unknown;
}

export type HealthCheck = () => Promise<HealthReport>;

function addressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

function inUse(variable: string, host: string, port: number): ConfigError {
  return new ConfigError(variable, `port ${port} on ${host} is already in use (another worker on this host? set ${variable} to a free port, or 0 for any)`);
}

function hostForUrl(host: string): string {
  return net.isIPv6(host) ? `[${host}]` : host;
}

function listen(server: Server | net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: unknown): void => reject(error instanceof Error ? error : new Error(String(error)));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error(`no port bound on ${host}`));
    });
  });
}

/** Serves `registry` at GET /metrics and `health` at GET /healthz on host:port (port 0 = ephemeral). */
export async function startMetricsServer(options: {
  host: string;
  port: number;
  registry: Registry;
  variable: string;
  health?: HealthCheck;
}): Promise<MetricsEndpoint> {
  const { registry, health } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz' && health !== undefined) {
      const json = { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' };
      health().then(
        ({ ok, ...body }) => res.writeHead(ok ? 200 : 503, json).end(JSON.stringify(body)),
        (error: unknown) => res.writeHead(503, json).end(JSON.stringify({ status: 'unknown', error: error instanceof Error ? error.message : String(error) })),
      );
      return;
    }
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics unavailable\n'),
    );
  });
  // Scrapes are small and frequent; a stalled client must not keep the worker from shutting down.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  let port: number;
  try {
    port = await listen(server, options.host, options.port);
  } catch (error) {
    throw addressInUse(error) ? inUse(options.variable, options.host, options.port) : error;
  }
  server.unref();
  return {
    url: `http://${hostForUrl(options.host)}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The host:port for Temporal's Prometheus exporter. Core binds it later, in Runtime.install; this
 * probe turns a port in use into a clear error first, and resolves port 0 to a free port (core would
 * bind an ephemeral one too, but never say which). Between the probe and core's bind another process
 * could take the port; then Runtime.install fails and `temporalMetricsBindError` names it.
 */
export async function temporalMetricsAddress(options: { host: string; port: number; variable: string }): Promise<string> {
  const probe = net.createServer();
  let port: number;
  try {
    port = await listen(probe, options.host, options.port);
  } catch (error) {
    throw addressInUse(error) ? inUse(options.variable, options.host, options.port) : error;
  }
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return `${hostForUrl(options.host)}:${port}`;
}

/** Wraps a Runtime.install failure with the variable to change, when the exporter could not bind. */
export function temporalMetricsBindError(error: unknown, variable: string, bindAddress: string): unknown {
  const message = error instanceof Error ? error.message : String(error);
  return /address.*in use|AddrInUse|EADDRINUSE|os error 98/i.test(message)
    ? new ConfigError(variable, `${bindAddress} is already in use (set ${variable} to a free port, or 0 for any)`)
    : error;
}
