/**
 * Parking and operator decisions. A step that fails parks the email instead of failing it: at once
 * when the failure is permanent (a non-retryable error type, src/domain/errors.ts), after the retry
 * budget when it is transient (policy maxAttempts, default 25: about 20 minutes). EmailStatus =
 * "parked" with the step and error type as search attributes, until an operator signals `reprocess`
 * (the failed step runs again, with the operator's overrides; finished steps keep their results) or
 * `discard` (the email ends with the reason), or the park timeout passes (default 7 days: the email
 * fails with the step's error, recorded with the reason). A malformed email is never parked: it is
 * rejected at once.
 */
import { ActivityFailure, ApplicationFailure, condition, log, setHandler } from '@temporalio/workflow';
import type { AttributeBoard } from './attribute-board';
import { ErrorType } from '../domain/errors';
import { EmailStatusKey, ErrorTypeKey, ParkedStepKey, RecipientQueueKey } from './search-attributes';
import { discardSignal, reprocessSignal, type EmailState, type EmailStep, type ReprocessOverrides } from './types';
import { parkSummary } from './user-metadata';

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

/**
 * Issue 13: each reprocess option does what its name says at every step, also once the ticket
 * exists (skipAck ends the acknowledging step without sending; a queue moves the ticket). Runs from
 * before the patch replay as they ran.
 */
export const REPROCESS_OPTIONS = 'reprocess-options-do-what-they-say';

/** Thrown out of a step when an operator discards the parked email. */
export class Discarded extends Error {
  constructor(
    readonly step: EmailStep,
    readonly by: string,
    readonly reason: string,
  ) {
    super(`discarded by ${by} while parked at ${step}: ${reason}`);
  }
}

/** Who set each override in force (the input's are the reprocess run's requester). */
export type OverrideAuthors = { [K in keyof ReprocessOverrides]?: string };

type Decision = { kind: 'reprocess'; overrides: ReprocessOverrides; by: string } | { kind: 'discard'; reason: string; by: string };

export interface Parking {
  /**
   * Runs one step; when its retries run out, parks until an operator says what to do. `expired`:
   * the reason recorded when the park timeout passes (default: the step failed for want of a decision).
   */
  step<T>(name: EmailStep, work: () => Promise<T>, options?: { expired?: string }): Promise<T>;
  /** The email's search attributes and details (written before the workflow waits, and at the end). */
  attributes: AttributeBoard;
  /** The overrides in force: the input's, then every reprocess decision's on top. */
  overrides(): ReprocessOverrides;
  /** Who set each override in force. */
  authors(): OverrideAuthors;
}

/** Registers the operator signals on the email's state and returns the step runner. */
export function createParking(options: {
  state: EmailState;
  attributes: AttributeBoard;
  overrides?: ReprocessOverrides;
  /** Who asked for this run's input overrides (a reprocess of a completed email). */
  overridesBy?: string;
  parkTimeoutSeconds?: number;
  /** Called once each time a step parks (issue 19: the operator's notice); must not throw. */
  onPark?: (parked: NonNullable<EmailState['parked']>) => Promise<void>;
}): Parking {
  const { state, attributes } = options;
  let overrides: ReprocessOverrides = { ...options.overrides };
  let authors: OverrideAuthors = authorsOf(overrides, options.overridesBy ?? 'an operator');
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
    attributes.set([
      { key: EmailStatusKey, value: 'parked' },
      { key: ParkedStepKey, value: name },
      { key: ErrorTypeKey, value: errorType },
    ]);
    log.warn('email parked', { step: name, errorType, error: state.parked.message });
    attributes.details();
    // Parked: an operator must see it now.
    attributes.flush();
  };
  const unpark = (): void => {
    state.parked = null;
    state.outcome = 'pending';
    attributes.set([
      { key: ParkedStepKey, value: null },
      { key: ErrorTypeKey, value: null },
    ]);
    attributes.details();
  };
  const apply = (name: EmailStep, reprocess: Extract<Decision, { kind: 'reprocess' }>): void => {
    overrides = { ...overrides, ...reprocess.overrides };
    authors = { ...authors, ...authorsOf(reprocess.overrides, reprocess.by) };
    const changed = Object.keys(reprocess.overrides).length ? ` with ${JSON.stringify(reprocess.overrides)}` : '';
    state.evidence.push(`reprocess: ${reprocess.by} retried ${name}${changed}`);
    if (overrides.queue) {
      state.queue = overrides.queue;
      attributes.set([{ key: RecipientQueueKey, value: overrides.queue }]);
    }
  };

  return {
    overrides: () => overrides,
    authors: () => authors,
    attributes,
    async step<T>(name: EmailStep, work: () => Promise<T>, stepOptions?: { expired?: string }): Promise<T> {
      for (;;) {
        state.step = name;
        attributes.set([{ key: EmailStatusKey, value: name }]);
        attributes.details();
        try {
          return await work();
        } catch (error) {
          // A failed activity arrives as an ActivityFailure; a failed local activity as its bare
          // ApplicationFailure. Either parks, except a malformed email, which is rejected at once.
          const fromActivity = error instanceof ActivityFailure || error instanceof ApplicationFailure;
          if (!fromActivity || failureType(error) === ErrorType.MalformedEmail) throw error;
          park(name, error);
          await options.onPark?.(state.parked!);
          const woken = await condition(() => decision !== null, timeoutMs, { summary: parkSummary(state.parked!) });
          const taken = decision;
          decision = null;
          unpark();
          if (!woken || !taken) {
            state.reasons.push(stepOptions?.expired ?? `parked at ${name} for ${duration(timeoutMs)} without an operator decision (park timeout): failed`);
            throw error;
          }
          log.info('operator decision', { step: name, decision: taken.kind, by: taken.by });
          if (taken.kind === 'discard') throw new Discarded(name, taken.by, taken.reason);
          apply(name, taken);
        }
      }
    },
  };
}

/** The park timeout in words, for a step's own `expired` reason. */
export function parkTimeoutWords(parkTimeoutSeconds: number | undefined): string {
  return duration((parkTimeoutSeconds ?? DEFAULT_PARK_TIMEOUT_SECONDS) * 1000);
}

function authorsOf(overrides: ReprocessOverrides, by: string): OverrideAuthors {
  const out: OverrideAuthors = {};
  for (const key of Object.keys(overrides) as (keyof ReprocessOverrides)[]) if (overrides[key] !== undefined) out[key] = by;
  return out;
}

/** "7 days", "10 minutes", "90 seconds": the park timeout as the email's reason states it. */
function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  for (const [unit, size] of [['day', 86_400], ['hour', 3_600], ['minute', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${unit}${seconds === size ? '' : 's'}`;
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
