/**
 * Activity proxies with their timeouts and retry policies. The retry budget comes from the email's
 * policy snapshot, so tests can park an email after two attempts instead of twenty-five. Every call
 * carries a summary for the Temporal UI, made from its input (./user-metadata.ts words them).
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import { activitySummaries, clip, markdownText, SUMMARY_MAX_BYTES } from './user-metadata';

export const DEFAULT_MAX_ATTEMPTS = 25;

/**
 * `beforeWaiting` runs before each call of an activity that is not local: the workflow task ends
 * there, so what the email's run has to show (search attributes, details) is written first.
 */
export function activityProxies(maxAttempts = DEFAULT_MAX_ATTEMPTS, beforeWaiting: () => void = () => undefined) {
  const retry: ActivityOptions['retry'] = {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    maximumAttempts: maxAttempts,
    nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
  };
  // proxyActivities returns a Proxy with no own keys, so each name is picked explicitly.
  const remote = summarizeAll({
    // Long steps heartbeat (see activities/heartbeat.ts): a worker that dies mid-step is noticed
    // within the heartbeat timeout and the step retried, not after the whole start-to-close time.
    ...pick(proxyActivities<Activities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '15 seconds', retry }), [
      'parseEmail',
      'scanAttachments',
      'storeAttachments',
    ]),
    ...pick(proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: Math.min(maxAttempts, 10) } }), [
      'sendAcknowledgement',
    ]),
  });
  const local = summarizeAll({
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
  });
  return { ...local, ...announced(remote, beforeWaiting) };
}

/** Each function of `fns` runs `before` first. */
function announced<T extends Record<string, (...args: never[]) => unknown>>(fns: T, before: () => void): T {
  const out = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = (...args: never[]) => {
      before();
      return fn(...args);
    };
  }
  return out as T;
}

/** A proxied activity: callable, or with call-site options such as a summary. */
interface Summarizable<A extends unknown[], R> {
  (...args: A): Promise<R>;
  executeWithOptions(options: { summary?: string }, args: A): Promise<R>;
}

type SummaryOf<A extends unknown[]> = (...args: A) => string;

/**
 * The activity called with a summary made from its arguments. The summary is metadata on the
 * command (no new command, so histories replay); a summary that cannot be made never fails the call.
 */
export function summarized<A extends unknown[], R>(name: string, fn: Summarizable<A, R>, summary: SummaryOf<A> | undefined): (...args: A) => Promise<R> {
  return (...args: A) => {
    let text = name;
    try {
      if (summary) text = summary(...args);
    } catch {
      // The activity's name is summary enough.
    }
    return fn.executeWithOptions({ summary: clip(markdownText(text), SUMMARY_MAX_BYTES) }, args);
  };
}

type Plain<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => R : never };

/** The named activities of a proxy, each called with its summary (a proxy has no own keys to list). */
export function withSummaries<T extends object, K extends keyof T>(proxy: T, names: K[]): Plain<Pick<T, K>> {
  return summarizeAll(pick(proxy, names));
}

/** Every activity of `proxies` called with its summary from ./user-metadata.ts. */
export function summarizeAll<T extends object>(proxies: T): Plain<T> {
  const out = {} as Record<string, unknown>;
  const summaries = activitySummaries as Record<string, SummaryOf<unknown[]> | undefined>;
  for (const [name, fn] of Object.entries(proxies)) {
    // parseSmallEmail is parseEmail run locally: the same summary.
    const summary = summaries[name] ?? summaries[name === 'parseSmallEmail' ? 'parseEmail' : ''];
    out[name] = summarized(name, fn as Summarizable<unknown[], unknown>, summary);
  }
  return out as Plain<T>;
}

function pick<T extends object, K extends keyof T>(source: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const key of keys) out[key] = source[key];
  return out;
}
