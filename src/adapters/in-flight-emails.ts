/**
 * Which raw messages unfinished emails still need: the raw sha256 in the input of every running
 * processInboundEmail workflow (parked ones included: they wait, running, for an operator), read
 * from Temporal. Fails rather than guessing: a sweep that cannot ask must not delete.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { InFlightEmails } from '../activities/retention';

const RUNNING_EMAILS = `WorkflowType = 'processInboundEmail' AND ExecutionStatus = 'Running'`;

export function temporalInFlightEmails(client: Client): InFlightEmails {
  return {
    async rawSha256() {
      const found = new Set<string>();
      for await (const execution of client.workflow.list({ query: RUNNING_EMAILS })) {
        // The first event alone carries the input: one small read per unfinished email.
        const page = await client.workflowService.getWorkflowExecutionHistory({
          namespace: client.options.namespace,
          execution: { workflowId: execution.workflowId, runId: execution.runId },
          maximumPageSize: 1,
        });
        const payload = page.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
        if (!payload) throw new Error(`the input of running email ${execution.workflowId} is not readable`);
        const input = defaultPayloadConverter.fromPayload<{ rawSha256?: unknown }>(payload);
        if (typeof input.rawSha256 !== 'string') throw new Error(`running email ${execution.workflowId} names no raw message`);
        found.add(input.rawSha256);
      }
      return found;
    },
  };
}

/** For callers that never run the retention sweep (benchmarks, focused tests): it refuses to guess. */
export const inFlightUnknown: InFlightEmails = {
  rawSha256: () => Promise.reject(new Error('no Temporal client given: which emails are in flight is unknown')),
};
