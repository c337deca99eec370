/**
 * What every vendor stand-in shares: a node:http server on 127.0.0.1 and a free port, request bodies
 * read with a cap, JSON answers, a request log, and fault switches that behave like the vendors' own
 * (a 429 or 503 with Retry-After, a request that never gets an answer), armed for the next N
 * requests so a test can say "the next create is rate limited" without timing games.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The largest request body a stand-in reads (an upload of a few test files); more is a 413. */
export const MAX_STAND_IN_BODY_BYTES = 8 * 1024 * 1024;

export interface StandInRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface StandInAnswer {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON unless it is a string (sent as text/plain) or undefined (no body). */
  body?: unknown;
}

/** A fault for the next requests that match `path` (a substring; any request when absent). */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown; headers?: Record<string, string> }
  /** The request is read and never answered (the client's timeout must fire). */
  | { kind: 'hang' };

interface ArmedFault {
  fault: Fault;
  remaining: number;
  path?: string;
  method?: string;
}

export class FaultSwitch {
  private armed: ArmedFault[] = [];

  /** The next `times` requests (matching `path` and `method`, if given) get `fault` instead of an answer. */
  arm(fault: Fault, times = 1, path?: string, method?: string): void {
    this.armed.push({ fault, remaining: times, path, method });
  }

  clear(): void {
    this.armed = [];
  }

  take(path: string, method: string): Fault | undefined {
    const hit = this.armed.find((a) => a.remaining > 0 && (a.path === undefined || path.includes(a.path)) && (a.method === undefined || a.method === method));
    if (!hit) return undefined;
    hit.remaining -= 1;
    this.armed = this.armed.filter((a) => a.remaining > 0);
    return hit.fault;
  }
}

export type Handler = (req: StandInRequest) => StandInAnswer | Promise<StandInAnswer>;

export interface LoopbackServer {
  url: string;
  port: number;
  faults: FaultSwitch;
  /** Every request seen, oldest first (method and path only: bodies may be large). */
  log: { method: string; path: string }[];
  close(): Promise<void>;
}

export async function startLoopback(handler: Handler): Promise<LoopbackServer> {
  const faults = new FaultSwitch();
  const log: { method: string; path: string }[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((incoming, res) => {
    void serve(incoming, res);
  });
  async function serve(incoming: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of incoming) {
      size += (chunk as Buffer).length;
      if (size > MAX_STAND_IN_BODY_BYTES) {
        send(res, { status: 413, body: { errorMessages: ['Request entity too large'] } });
        return;
      }
      chunks.push(chunk as Buffer);
    }
    log.push({ method: incoming.method ?? 'GET', path: url.pathname });
    const fault = faults.take(url.pathname, incoming.method ?? 'GET');
    if (fault?.kind === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (fault?.kind === 'status') {
      const headers = { ...fault.headers, ...(fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }) };
      send(res, { status: fault.status, headers, body: fault.body ?? { errorMessages: [http.STATUS_CODES[fault.status] ?? 'error'] } });
      return;
    }
    try {
      send(res, await handler({ method: incoming.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: incoming.headers, body: Buffer.concat(chunks) }));
    } catch (error) {
      send(res, { status: 500, body: { errorMessages: [`stand-in failure: ${error instanceof Error ? error.message : String(error)}`] } });
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    faults,
    log,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: http.ServerResponse, answer: StandInAnswer): void {
  const headers: Record<string, string> = { ...answer.headers };
  let payload: string | undefined;
  if (typeof answer.body === 'string') {
    payload = answer.body;
    headers['content-type'] ??= 'text/plain;charset=UTF-8';
  } else if (answer.body !== undefined) {
    payload = JSON.stringify(answer.body);
    headers['content-type'] ??= 'application/json;charset=UTF-8';
  }
  res.writeHead(answer.status, headers);
  res.end(payload);
}

/** The body as JSON, or undefined when it is not JSON (the caller answers with the vendor's 400). */
export function jsonBody(req: StandInRequest): unknown {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('application/json')) return undefined;
  try {
    return JSON.parse(req.body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** A multipart/form-data body parsed the way a server would (fetch's own parser), or null if it is not one. */
export async function formBody(req: StandInRequest): Promise<FormData | null> {
  const type = String(req.headers['content-type'] ?? '');
  if (!type.toLowerCase().startsWith('multipart/form-data')) return null;
  try {
    return await new Request('http://127.0.0.1/', { method: 'POST', headers: { 'content-type': type }, body: req.body }).formData();
  } catch {
    return null;
  }
}

/** The user and password of a Basic Authorization header, or null. */
export function basicCredentials(req: StandInRequest): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(String(req.headers.authorization ?? ''));
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
