/**
 * Activity proxies with their timeouts and retry policies. The retry budget comes from the email's
 * policy snapshot, so tests can park an email after two attempts instead of twenty-five.
 */
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
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
    ...pick(proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry }), [
      'classifyEmail',
      'findThread',
      'recordTicket',
      'recordEmail',
      'recordHardBounce',
    ]),
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
