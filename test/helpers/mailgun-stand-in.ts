/**
 * A stateful stand-in for Mailgun's Events API and stored messages on a free loopback port, after the
 * documented shapes: GET /v3/<domain>/events (event=stored, ascending=yes, begin in epoch seconds,
 * limit up to 300) answering { items, paging: { next, ... } } with opaque next-page URLs, and GET
 * /v3/domains/<domain>/messages/<key> answering the stored message as JSON with `body-mime` when
 * asked with Accept: message/rfc2822. Basic auth `api:<key>`; scripted failures (503, 429) for the
 * next requests; every request is recorded.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredMessage {
  raw: string;
  recipient: string;
  sender: string;
  /** Epoch seconds; default: now. */
  timestamp?: number;
}

export interface MailgunStandIn {
  baseUrl: string;
  domain: string;
  apiKey: string;
  store(messages: StoredMessage[]): void;
  /** The next `count` requests fail with this status (429 carries Retry-After: 1). */
  failNext(count: number, status: 503 | 429): void;
  requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

interface Event {
  id: string;
  timestamp: number;
  key: string;
  recipient: string;
  sender: string;
}

export async function startMailgunStandIn(domain = 'mg.mailgate.test'): Promise<MailgunStandIn> {
  const apiKey = `key-${Math.random().toString(36).slice(2)}`;
  const events: Event[] = [];
  const messages = new Map<string, string>();
  const requests: MailgunStandIn['requests'] = [];
  let failures: { count: number; status: number } = { count: 0, status: 503 };
  let sequence = 0;
  let baseUrl = '';

  const page = (begin: number, after: number, limit: number) => {
    const matching = events.filter((e) => e.timestamp >= begin).sort((a, b) => a.timestamp - b.timestamp || a.id.localeCompare(b.id));
    const items = matching.slice(after, after + limit).map((e) => ({
      id: e.id,
      event: 'stored',
      timestamp: e.timestamp,
      recipient: e.recipient,
      envelope: { sender: e.sender },
      storage: { key: e.key, url: `${baseUrl}/v3/domains/${domain}/messages/${e.key}` },
    }));
    const token = (offset: number) => Buffer.from(JSON.stringify({ begin, offset, limit })).toString('base64url');
    const link = (offset: number) => `${baseUrl}/v3/${domain}/events/${token(offset)}`;
    return { items, paging: { next: link(after + items.length), previous: link(Math.max(0, after - limit)), first: link(0), last: link(after + items.length) } };
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', baseUrl);
    const authorized = req.headers.authorization === `Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`;
    requests.push({ method: req.method ?? 'GET', path: url.pathname, authorized });
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (!authorized) return json(401, { message: 'Invalid private key' });
    if (failures.count > 0) {
      failures.count -= 1;
      return json(failures.status, { message: 'try again' }, failures.status === 429 ? { 'retry-after': '1' } : {});
    }
    const eventsPath = url.pathname.match(/^\/v3\/([^/]+)\/events(?:\/([A-Za-z0-9_-]+))?$/);
    if (eventsPath && eventsPath[1] === domain) {
      if (eventsPath[2]) {
        const t = JSON.parse(Buffer.from(eventsPath[2], 'base64url').toString()) as { begin: number; offset: number; limit: number };
        return json(200, page(t.begin, t.offset, t.limit));
      }
      if (url.searchParams.get('ascending') !== 'yes' || url.searchParams.get('event') !== 'stored') return json(400, { message: 'the stand-in serves ascending stored events only' });
      const limit = Number(url.searchParams.get('limit') ?? 100);
      if (!(limit >= 1 && limit <= 300)) return json(400, { message: 'limit must be 1 to 300' });
      return json(200, page(Number(url.searchParams.get('begin') ?? 0), 0, limit));
    }
    const message = url.pathname.match(/^\/v3\/domains\/([^/]+)\/messages\/([A-Za-z0-9_-]+)$/);
    if (message && message[1] === domain) {
      const raw = messages.get(message[2]!);
      if (raw === undefined) return json(404, { message: 'Message not found' });
      if (!/message\/rfc2822/.test(req.headers.accept ?? '')) return json(200, { 'body-plain': raw.split('\r\n\r\n')[1] ?? '' });
      return json(200, { 'body-mime': raw });
    }
    return json(404, { message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    domain,
    apiKey,
    requests,
    store(list) {
      for (const m of list) {
        sequence += 1;
        const key = `key${sequence}`;
        messages.set(key, m.raw);
        events.push({ id: `ev${sequence}`, timestamp: m.timestamp ?? Date.now() / 1000, key, recipient: m.recipient, sender: m.sender });
      }
    },
    failNext(count, status) {
      failures = { count, status };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
