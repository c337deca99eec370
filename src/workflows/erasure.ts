/**
 * eraseRequester: erases one requester's data (objects, then rows, then the audit record), or with
 * `dryRun` only counts what it would erase and records that it was asked. Each step is an idempotent
 * activity, so the workflow resumes wherever a crash left it; the workflow id is the request's, so
 * a repeated request is one erasure.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ErasureCounts } from '../ports/retention';
import { withSummaries } from './activity-proxies';

export interface EraseRequesterInput {
  address: string;
  requestedBy: string;
  requestedAt: string;
  dryRun: boolean;
}

export interface EraseRequesterResult {
  id: string;
  dryRun: boolean;
  counts: ErasureCounts;
}

const activities = withSummaries(
  proxyActivities<Activities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 20 },
  }),
  ['planErasure', 'eraseObjects', 'eraseRows', 'recordErasure'],
);

export async function eraseRequester(input: EraseRequesterInput): Promise<EraseRequesterResult> {
  const id = workflowInfo().workflowId;
  let counts: ErasureCounts;
  if (input.dryRun) {
    counts = await activities.planErasure({ address: input.address });
  } else {
    const objects = await activities.eraseObjects({ address: input.address });
    const rows = await activities.eraseRows({ address: input.address });
    // Object counts come from the plan made before the objects went; row counts from the delete.
    counts = { ...rows, rawObjects: objects.rawObjects, parsedObjects: objects.parsedObjects, attachmentObjects: objects.attachmentObjects };
  }
  await activities.recordErasure({ id, address: input.address, requestedBy: input.requestedBy, requestedAt: input.requestedAt, dryRun: input.dryRun, counts });
  return { id, dryRun: input.dryRun, counts };
}
