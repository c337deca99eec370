/**
 * agentReply: one agent's answer from the web view, sent once. The API starts it with an id made
 * from the ticket and the reply form's nonce (agentReplyWorkflowId), so a double submit finds the
 * run already there instead of sending twice; the activity retries through an SMTP or database
 * outage and sends at most once (see activities/send-agent-reply.ts).
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SendAgentReplyInput, SendAgentReplyResult } from '../activities/send-agent-reply';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';

export type AgentReplyInput = Omit<SendAgentReplyInput, 'workflowId'>;

const { sendAgentReply } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 50, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
});

export async function agentReply(input: AgentReplyInput): Promise<SendAgentReplyResult> {
  return sendAgentReply({ ...input, workflowId: workflowInfo().workflowId });
}
