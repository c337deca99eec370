/**
 * Heartbeats while a long activity works, so a worker that dies mid-activity is noticed within the
 * heartbeat timeout instead of the whole start-to-close timeout, and the retry runs elsewhere soon.
 */
import { Context } from '@temporalio/activity';

const INTERVAL_MS = 3_000;

export async function whileAlive<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  // A local activity (a small message's parse) cannot heartbeat: it runs within a workflow task.
  if (context.info.isLocal) return work();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Durable progress for a step with an outside side effect: recorded with Temporal (not our
 * database), so the retry after a failure knows the effect happened even when the database was what
 * failed. Outside an activity (unit tests) nothing is recorded.
 */
export function recordProgress(details: Record<string, unknown>): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // not in an activity
  }
}

/** What an earlier attempt of this activity recorded with recordProgress, if anything. */
export function earlierProgress<T extends Record<string, unknown>>(): Partial<T> | undefined {
  try {
    return Context.current().info.heartbeatDetails as Partial<T> | undefined;
  } catch {
    return undefined;
  }
}
