/**
 * Token buckets keyed by a source (a client address): `perMinute` events a minute, in bursts of at
 * most `burst` (never more than `perMinute`). A new source starts with the burst, not a minute's
 * worth: with a minute's tokens up front a fresh address could fire them all at once (issue 12,
 * class 3). Past `maxSources` the map is cleared rather than grown: memory stays bounded under a
 * flood of addresses, and the burst is all a cleared source gets back.
 */
export interface TokenBuckets {
  /** Takes one token for `source`: true if there was one; otherwise the seconds until one is back. */
  take(source: string): { ok: true } | { ok: false; retryAfterSeconds: number };
}

export function tokenBuckets(perMinute: number, burst: number, maxSources = 100_000, now: () => number = Date.now): TokenBuckets {
  for (const [name, value] of Object.entries({ perMinute, burst, maxSources })) {
    if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  }
  const capacity = Math.min(burst, perMinute);
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = perMinute / 60_000;
  return {
    take(source) {
      const at = now();
      const bucket = buckets.get(source) ?? { tokens: capacity, at };
      bucket.tokens = Math.min(capacity, bucket.tokens + (at - bucket.at) * refillPerMs);
      bucket.at = at;
      if (buckets.size >= maxSources && !buckets.has(source)) buckets.clear();
      buckets.set(source, bucket);
      if (bucket.tokens < 1) return { ok: false, retryAfterSeconds: Math.ceil((1 - bucket.tokens) / refillPerMs / 1000) };
      bucket.tokens -= 1;
      return { ok: true };
    },
  };
}
