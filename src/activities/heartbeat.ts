/**
 * Heartbeats while a long activity works, so a worker that dies mid-activity is noticed within the
 * heartbeat timeout instead of the whole start-to-close timeout, and the retry runs elsewhere soon.
 */
import { Context } from '@temporalio/activity';

const INTERVAL_MS = 3_000;

export async function whileAlive<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
