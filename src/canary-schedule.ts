/**
 * The helpdesk canaries' Temporal Schedules, ensured by every worker at start-up: one per connector
 * whose `canary.enabled` is true (HELPDESK_CONNECTORS; off by default), every `canary.everyMinutes`.
 * A connector whose canary is off has its schedule deleted, so turning it off takes effect. Overlap
 * SKIP: a canary still running when the next is due is not doubled.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { ConnectorSettings } from './adapters/helpdesks/settings';
import type { Logger } from './logger';
import { helpdeskCanary } from './workflows';

export function canaryScheduleId(taskQueue: string, connector: string): string {
  return `mailgate-helpdesk-canary/${taskQueue}/${connector}`;
}

export async function ensureCanarySchedules(input: { client: Client; taskQueue: string; connectors: readonly ConnectorSettings[]; log: Pick<Logger, 'info'> }): Promise<void> {
  for (const c of input.connectors) {
    const scheduleId = canaryScheduleId(input.taskQueue, c.name);
    const every = c.canary.everyMinutes * 60_000;
    if (!c.canary.enabled) {
      try {
        await input.client.schedule.getHandle(scheduleId).delete();
        input.log.info('helpdesk canary schedule deleted', { scheduleId });
      } catch (error) {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      }
      continue;
    }
    const action = {
      type: 'startWorkflow' as const,
      workflowType: helpdeskCanary,
      workflowId: `helpdesk-canary/${c.name}`,
      taskQueue: input.taskQueue,
      args: [{ connector: c.name }] as [{ connector: string }],
    };
    try {
      await input.client.schedule.create({ scheduleId, spec: { intervals: [{ every }] }, action, policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' } });
      input.log.info('helpdesk canary schedule created', { scheduleId, every });
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await input.client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec: { intervals: [{ every }] }, action }));
    }
  }
}
