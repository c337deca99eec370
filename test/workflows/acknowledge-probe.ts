/**
 * One acknowledgement step as the inbound workflow runs it (a regular activity with retries), for
 * testing what a retry does after a failure that came after the send.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { SendAcknowledgementInput, SendAcknowledgementResult } from '../../src/activities/send-acknowledgement';

const { sendAcknowledgement } = proxyActivities<{ sendAcknowledgement(input: SendAcknowledgementInput): Promise<SendAcknowledgementResult> }>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumAttempts: 5 },
});

export async function acknowledgeProbe(input: SendAcknowledgementInput): Promise<SendAcknowledgementResult> {
  return sendAcknowledgement(input);
}
