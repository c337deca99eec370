/**
 * The Temporal Schedule that runs the retention sweep, ensured by every worker at start-up:
 * created when missing, its interval brought in line with the configuration when it differs, left
 * alone otherwise (several workers start at once; each one's create either wins or finds it).
 * Overlap SKIP: a sweep still running when the next is due is not doubled.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from './logger';
import { retentionSweep } from './workflows';
import { RETENTION_SCHEDULE_ID, RETENTION_WORKFLOW_PREFIX } from './workflows/ids';
import { retentionSummary } from './workflows/user-metadata';

export interface EnsureScheduleInput {
  client: Client;
  taskQueue: string;
  intervalMinutes: number;
  log: Pick<Logger, 'info'>;
}

/** One schedule per task queue: the sweep runs where that queue's workers (and configuration) are. */
export function retentionScheduleId(taskQueue: string): string {
  return `${RETENTION_SCHEDULE_ID}/${taskQueue}`;
}

export async function ensureRetentionSchedule(input: EnsureScheduleInput): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = retentionScheduleId(input.taskQueue);
  const every = input.intervalMinutes * 60_000;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: retentionSweep,
    workflowId: `${RETENTION_WORKFLOW_PREFIX}/${scheduleId}`,
    taskQueue: input.taskQueue,
    args: [{}] as [Record<string, never>],
    staticSummary: retentionSummary(input.intervalMinutes),
  };
  try {
    await input.client.schedule.create({
      scheduleId,
      spec: { intervals: [{ every }] },
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    });
    input.log.info('retention schedule created', { scheduleId, every });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = input.client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const intervals = current.spec.intervals ?? [];
  const sameInterval = intervals.length === 1 && intervals[0]?.every === every;
  const sameAction = current.action.type === 'startWorkflow' && current.action.taskQueue === input.taskQueue && current.action.staticSummary === action.staticSummary;
  if (sameInterval && sameAction) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec: { intervals: [{ every }] }, action }));
  input.log.info('retention schedule updated', { scheduleId, every });
  return 'updated';
}
