/**
 * Ingress request signatures: HMAC-SHA256 over "<unix timestamp>.<raw body>" with a shared secret,
 * the body as sent on the wire (compressed, if the request has a Content-Encoding),
 * sent as
 *   X-Mailgate-Timestamp: 1796000000
 *   X-Mailgate-Signature: v1=<hex>[,v1=<hex>…]
 * Several secrets may be active at once (rotation): the sender signs with any, the receiver accepts
 * any. The timestamp must be within the allowed skew in both directions; comparison is
 * constant-time. Used by the API to verify, and by clients (tests, benchmarks) to sign.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-mailgate-timestamp';
export const SIGNATURE_HEADER = 'x-mailgate-signature';

export function signBody(secret: string, timestamp: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signatureHeaders(secret: string, body: Buffer | string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return { [TIMESTAMP_HEADER]: String(timestamp), [SIGNATURE_HEADER]: `v1=${signBody(secret, timestamp, body)}` };
}

export type Verification = { ok: true; signature: string } | { ok: false; reason: string };
export type HeaderCheck = { ok: true; timestamp: number; offered: string[] } | { ok: false; reason: string };

/**
 * What can be judged before a byte of the body is read: both headers present and well formed, the
 * timestamp inside the window. A request failing here is refused without reading its body, so an
 * unauthenticated sender costs its headers only (issue 12, class 3).
 */
export function checkSignatureHeaders(input: { timestamp: string | undefined; signature: string | undefined; nowMs: number; maxSkewSeconds: number }): HeaderCheck {
  if (!input.timestamp || !input.signature) {
    return { ok: false, reason: `missing ${!input.timestamp ? TIMESTAMP_HEADER : SIGNATURE_HEADER} header` };
  }
  if (!/^\d{1,12}$/.test(input.timestamp)) return { ok: false, reason: `${TIMESTAMP_HEADER} must be unix seconds` };
  const skew = Math.abs(input.nowMs / 1000 - Number(input.timestamp));
  if (skew > input.maxSkewSeconds) {
    return { ok: false, reason: `timestamp outside the allowed window of ${input.maxSkewSeconds} s (off by ${Math.round(skew)} s)` };
  }
  const offered = input.signature
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3).toLowerCase())
    .filter((hex) => /^[0-9a-f]{64}$/.test(hex));
  if (offered.length === 0) return { ok: false, reason: `${SIGNATURE_HEADER} carries no v1= signature` };
  return { ok: true, timestamp: Number(input.timestamp), offered };
}

/** The signature over the body exactly as it came off the wire, before any Content-Encoding is undone. */
export function verifySignature(input: {
  secrets: string[];
  timestamp: string | undefined;
  signature: string | undefined;
  body: Buffer;
  nowMs: number;
  maxSkewSeconds: number;
}): Verification {
  const headers = checkSignatureHeaders(input);
  if (!headers.ok) return headers;
  for (const secret of input.secrets) {
    const expected = Buffer.from(signBody(secret, headers.timestamp, input.body), 'hex');
    for (const hex of headers.offered) {
      if (timingSafeEqual(expected, Buffer.from(hex, 'hex'))) return { ok: true, signature: hex };
    }
  }
  return { ok: false, reason: 'signature does not match the body with any active secret' };
}

/**
 * A fetch for Mailgate's API that signs ingress requests and sends the admin token elsewhere: what
 * an MTA hook or an operator tool does. A signature is good once, so a client that delivers the same
 * bytes again (a deliberate redelivery, a retry) signs with the newest second it has not used for
 * these bytes, never further back than the receiver's window allows.
 */
const SIGNING_WINDOW_SECONDS = 240;

export function authorizedFetch(credentials: { ingressSecret: string; adminToken: string }): typeof fetch {
  const used = new Map<string, Set<number>>();
  return async (input, init = {}) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const headers = new Headers(init.headers);
    if (url.pathname.startsWith('/v1/inbound/')) {
      const body = init.body === undefined || init.body === null ? Buffer.alloc(0) : Buffer.from(init.body as Uint8Array | string);
      const key = createHmac('sha256', 'body').update(body).digest('hex');
      const now = Math.floor(Date.now() / 1000);
      const seconds = used.get(key) ?? new Set<number>();
      for (const s of seconds) if (s < now - 2 * SIGNING_WINDOW_SECONDS) seconds.delete(s);
      let second = now;
      while (seconds.has(second) && second > now - SIGNING_WINDOW_SECONDS) second -= 1;
      seconds.add(second);
      used.set(key, seconds);
      if (used.size > 10_000) used.clear();
      for (const [name, value] of Object.entries(signatureHeaders(credentials.ingressSecret, body, second * 1000))) headers.set(name, value);
    } else if (url.pathname.startsWith('/v1/')) {
      headers.set('authorization', `Bearer ${credentials.adminToken}`);
    }
    return fetch(input, { ...init, headers });
  };
}
