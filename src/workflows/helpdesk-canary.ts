/**
 * helpdeskCanary: one scheduled check of a helpdesk connector (src/activities/helpdesk-canary.ts).
 * Started by a Temporal Schedule per connector whose `canary.enabled` is true (off by default); a
 * failed canary is a failed workflow, visible in the Temporal UI and in its schedule's recent runs.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HelpdeskCanaryResult } from '../activities/helpdesk-canary';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';

const { helpdeskCanary: runCanary } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

export async function helpdeskCanary(input: { connector: string }): Promise<HelpdeskCanaryResult> {
  return runCanary({ connector: input.connector, runId: workflowInfo().workflowId });
}
