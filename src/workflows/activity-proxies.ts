/**
 * Activity proxies with their timeouts and retry policies. The retry budget comes from the email's
 * policy snapshot, so tests can park an email after two attempts instead of twenty-five.
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';

export const DEFAULT_MAX_ATTEMPTS = 25;

export function activityProxies(maxAttempts = DEFAULT_MAX_ATTEMPTS) {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: maxAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
  // proxyActivities returns a Proxy with no own keys, so each name is picked explicitly.
  return {
    // Long steps heartbeat (see activities/heartbeat.ts): a worker that dies mid-step is noticed
    // within the heartbeat timeout and the step retried, not after the whole start-to-close time.
    ...pick(proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '15 seconds', retry }), [
      'parseEmail',
      'scanAttachments',
      'storeAttachments',
    ]),
    // Short database and document steps run as local activities: in the worker that runs the
    // workflow, retried there, recorded as markers. On this machine that halves the engine round
    // trips per email (TEMPORAL-NOTES: 10 wf/s with six activities, 21-23 with six local ones).
    ...pick(proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry }), [
      'classifyEmail',
      'findThread',
      'recordTicket',
      'moveTicket',
      'recordEmail',
      'recordHardBounce',
      'markAcknowledgementSent',
    ]),
    // A small message parses in milliseconds: as a local activity it saves two engine round trips.
    // Large ones stay a heartbeating activity of their own.
    parseSmallEmail: proxyLocalActivities<Activities>({ startToCloseTimeout: '1 minute', localRetryThreshold: '10 seconds', retry }).parseEmail,
    ...pick(proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: Math.min(maxAttempts, 10) } }), [
      'sendAcknowledgement',
    ]),
  };
}

function pick<T extends object, K extends keyof T>(source: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = source[key];
  return out;
}
