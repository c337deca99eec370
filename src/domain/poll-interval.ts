/** How long a provider event poller waits between rounds (issue 17); pure, so workflows may use it. */

/**
 * The next wait, in seconds: none while a backlog remains; the minimum after a round that found
 * mail; doubling towards the maximum while rounds come back empty; and, when the accept path
 * answered retry-later (the workers or the engine cannot keep up), doubling from at least the
 * minimum so the pressure falls.
 */
export function nextInterval(previous: number, batch: { more: boolean; retryLater: number; accepted: number; duplicates: number }, settings: { minIntervalSeconds: number; maxIntervalSeconds: number }): number {
  const { minIntervalSeconds: min, maxIntervalSeconds: max } = settings;
  if (batch.retryLater > 0) return Math.min(max, Math.max(min, previous * 2));
  if (batch.more) return 0;
  if (batch.accepted + batch.duplicates > 0) return min;
  return Math.min(max, Math.max(min, previous * 2));
}
