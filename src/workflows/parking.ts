/**
 * Parking and operator decisions. A step whose retries run out parks the email instead of failing
 * it: EmailStatus = "parked" with the step and error type as search attributes, until an operator
 * signals `reprocess` (the failed step runs again, with the operator's overrides; finished steps keep
 * their results) or `discard` (the email ends with the reason), or the park timeout passes (the email
 * fails with the step's error). A malformed email is never parked: it is rejected at once.
 */
import { ActivityFailure, ApplicationFailure, condition, log, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { ErrorType } from '../domain/errors';
import { EmailStatusKey, ErrorTypeKey, ParkedStepKey, RecipientQueueKey } from './search-attributes';
import { discardSignal, reprocessSignal, type EmailState, type EmailStep, type ReprocessOverrides } from './types';
import { parkSummary, showEmailDetails } from './user-metadata';

export const DEFAULT_PARK_TIMEOUT_SECONDS = 7 * 24 * 3600;

/** The error type an activity failed with (src/domain/errors.ts), if it said. */
export function failureType(error: unknown): string | undefined {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export function failureMessage(error: unknown): string {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Thrown out of a step when an operator discards the parked email. */
export class Discarded extends Error {}

type Decision = { kind: 'reprocess'; overrides: ReprocessOverrides; by: string } | { kind: 'discard'; reason: string; by: string };

export interface Parking {
  /** Runs one step; when its retries run out, parks until an operator says what to do. */
  step<T>(name: EmailStep, work: () => Promise<T>): Promise<T>;
  /** The overrides in force: the input's, then every reprocess decision's on top. */
  overrides(): ReprocessOverrides;
}

/** Registers the operator signals on the email's state and returns the step runner. */
export function createParking(options: { state: EmailState; overrides?: ReprocessOverrides; parkTimeoutSeconds?: number }): Parking {
  const { state } = options;
  let overrides: ReprocessOverrides = { ...options.overrides };
  let decision: Decision | null = null;
  setHandler(reprocessSignal, ({ by, ...changes }) => {
    if (state.parked) decision = { kind: 'reprocess', overrides: changes, by: by ?? 'an operator' };
  });
  setHandler(discardSignal, ({ reason, by }) => {
    if (state.parked) decision = { kind: 'discard', reason, by: by ?? 'an operator' };
  });
  const timeoutMs = (options.parkTimeoutSeconds ?? DEFAULT_PARK_TIMEOUT_SECONDS) * 1000;

  const park = (name: EmailStep, error: unknown): void => {
    const errorType = failureType(error) ?? 'ActivityFailure';
    state.parked = { step: name, errorType, message: failureMessage(error).slice(0, 500), since: new Date().toISOString() };
    state.outcome = 'parked';
    upsertSearchAttributes([
      { key: EmailStatusKey, value: 'parked' },
      { key: ParkedStepKey, value: name },
      { key: ErrorTypeKey, value: errorType },
    ]);
    log.warn('email parked', { step: name, errorType, error: state.parked.message });
    showEmailDetails(state);
  };
  const unpark = (): void => {
    state.parked = null;
    state.outcome = 'pending';
    upsertSearchAttributes([
      { key: ParkedStepKey, value: null },
      { key: ErrorTypeKey, value: null },
    ]);
    showEmailDetails(state);
  };
  const apply = (name: EmailStep, reprocess: Extract<Decision, { kind: 'reprocess' }>): void => {
    overrides = { ...overrides, ...reprocess.overrides };
    const changed = Object.keys(reprocess.overrides).length ? ` with ${JSON.stringify(reprocess.overrides)}` : '';
    state.evidence.push(`reprocess: ${reprocess.by} retried ${name}${changed}`);
    if (overrides.queue) {
      state.queue = overrides.queue;
      upsertSearchAttributes([{ key: RecipientQueueKey, value: overrides.queue }]);
    }
  };

  return {
    overrides: () => overrides,
    async step<T>(name: EmailStep, work: () => Promise<T>): Promise<T> {
      for (;;) {
        state.step = name;
        upsertSearchAttributes([{ key: EmailStatusKey, value: name }]);
        showEmailDetails(state);
        try {
          return await work();
        } catch (error) {
          // A failed activity arrives as an ActivityFailure; a failed local activity as its bare
          // ApplicationFailure. Either parks, except a malformed email, which is rejected at once.
          const fromActivity = error instanceof ActivityFailure || error instanceof ApplicationFailure;
          if (!fromActivity || failureType(error) === ErrorType.MalformedEmail) throw error;
          park(name, error);
          const woken = await condition(() => decision !== null, timeoutMs, { summary: parkSummary(state.parked!) });
          const taken = decision;
          decision = null;
          unpark();
          if (!woken || !taken) throw error;
          log.info('operator decision', { step: name, decision: taken.kind, by: taken.by });
          if (taken.kind === 'discard') throw new Discarded(`discarded by ${taken.by} while parked at ${name}: ${taken.reason}`);
          apply(name, taken);
        }
      }
    },
  };
}
