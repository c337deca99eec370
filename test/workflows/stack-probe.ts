/**
 * A trivial workflow with one activity, used to prove the Temporal dev server, a worker and the
 * custom search attributes work together. Its saved history guards replay (determinism) too.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { StackProbeActivities } from './stack-probe-activities';

const EmailStatus = defineSearchAttributeKey('EmailStatus', 'KEYWORD');

const { echo } = proxyActivities<StackProbeActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3 },
});

export async function stackProbe(input: { text: string; status: string }): Promise<string> {
  const reply = await echo({ text: input.text });
  upsertSearchAttributes([{ key: EmailStatus, value: input.status }]);
  return reply;
}
