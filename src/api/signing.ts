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
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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
 * What this process answered to each signature it accepted, so a byte-identical retry gets the same
 * answer instead of a 401 (issue 13, point 6): an MTA or a provider that timed out resends exactly
 * what it sent. The ledger keeps each answer with its claim too (auth.ts), for a retry that reaches
 * another API process; this cache answers without a database read and lets a concurrent retry wait
 * for the first request instead of polling. Entries are keyed by the verified signature and hold the SHA-256 of the wire body,
 * so only the very request that was signed can be answered from here. An entry is
 *   in-flight  the first request is still being handled; a retry waits for its answer;
 *   answered   202 (kept with its JSON body) or a refusal (kept as its status only).
 * A 5xx answer is never kept: the claim is given back and a retry is handled as new.
 * Bounded twice: entries expire after `ttlMs` (a signature older than the skew window fails the
 * timestamp check anyway) and at most `maxEntries` are kept, the oldest dropped first; a body over
 * MAX_REMEMBERED_BODY_BYTES is not kept. A retry whose entry was dropped is answered from the ledger.
 */
export const MAX_REMEMBERED_BODY_BYTES = 64 * 1024;

export type RememberedAnswer = { status: number; json: string | null };

interface Entry {
  bodySha256: string;
  expiresAt: number;
  answer: RememberedAnswer | null;
  /** Resolves once the entry is answered or dropped. */
  settled: Promise<void>;
  settle: () => void;
}

export function bodyDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

export class AnsweredSignatures {
  private readonly entries = new Map<string, Entry>();
  constructor(
    readonly ttlMs: number,
    readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    for (const [name, value] of Object.entries({ ttlMs, maxEntries })) {
      if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, not ${value}`);
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** The entry of a signature, if it is still kept. */
  get(signature: string): Pick<Entry, 'bodySha256' | 'answer' | 'settled'> | undefined {
    this.expire();
    return this.entries.get(signature);
  }

  /** Starts an in-flight entry (the caller checked that none exists). */
  begin(signature: string, bodySha256: string): void {
    this.expire();
    let settle = (): void => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    this.entries.set(signature, { bodySha256, expiresAt: this.now() + this.ttlMs, answer: null, settled, settle });
    while (this.entries.size > this.maxEntries) this.drop(this.entries.keys().next().value as string);
  }

  /** Records the answer a request got; a JSON body too large to keep leaves no entry. */
  answer(signature: string, answer: RememberedAnswer): void {
    const entry = this.entries.get(signature);
    if (!entry) return;
    if (answer.json !== null && Buffer.byteLength(answer.json) > MAX_REMEMBERED_BODY_BYTES) {
      this.drop(signature);
      return;
    }
    entry.answer = answer;
    entry.settle();
  }

  /** Forgets a signature (its request failed with a 5xx, or another process holds its claim). */
  drop(signature: string): void {
    const entry = this.entries.get(signature);
    this.entries.delete(signature);
    entry?.settle();
  }

  private expire(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      // Insertion order is expiry order: stop at the first one still in force.
      if (entry.expiresAt > now) break;
      this.drop(key);
    }
  }
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
