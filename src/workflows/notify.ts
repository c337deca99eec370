/**
 * Notifications (issue 19). The email workflow decides from what it already holds which targets hear
 * about the email (src/domain/notify-routes.ts); when none does it runs nothing more. When some do, it
 * starts `notifyEmail` as an abandoned child: the email finishes (ticket, acknowledgement) without
 * waiting for Slack or PagerDuty, and a notification that keeps failing parks itself only, visible
 * as EmailStatus = "parked", ParkedStep = "notify", and retried with `mailgate emails reprocess <its id>`.
 * The ledger makes each delivery happen once (a page once per ticket, route and target).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  defineQuery,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { SendNotificationInput } from '../activities/send-notification';
import type { ResolveNotificationsInput } from '../activities/resolve-notifications';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors';
import { deliveriesFor, type Delivery, type NotifyFacts, type NotifyOutcome, type NotifyPolicy } from '../domain/notify-routes';
import { notifyWorkflowId } from './ids';
import { EmailStatusKey, ErrorTypeKey, ParkedStepKey } from './search-attributes';
import { reprocessSignal, type EmailState, type ProcessInboundEmailInput } from './types';

/** Emails started before notifications replay as they ran: the child is started only behind this patch. */
export const NOTIFY_PATCH = 'notify';
const DEFAULT_NOTIFY_MAX_ATTEMPTS = 10;
const DEFAULT_NOTIFY_PARK_TIMEOUT_SECONDS = 7 * 24 * 3600;

export interface NotifyEmailInput {
  deliveries: Delivery[];
  message: Omit<SendNotificationInput, 'delivery'>;
  maxAttempts?: number;
  parkTimeoutSeconds?: number;
}

/** The `status` query's answer, shaped like an email's where the operator API reads it (step, parked). */
export interface NotifyState {
  step: 'notifying' | 'done';
  ticketId: string | null;
  ticketNumber: number | null;
  deliveries: { route: string; target: string; status: 'pending' | 'sent' | 'already_sent' | 'failed'; error: string | null }[];
  parked: { step: 'notify'; errorType: string; message: string; since: string; target: string } | null;
}

export const notifyStatusQuery = defineQuery<NotifyState>('status');

function failureOf(error: unknown): { type: string; message: string } {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  return {
    type: cause instanceof ApplicationFailure ? (cause.type ?? 'ActivityFailure') : 'ActivityFailure',
    message: (cause instanceof Error ? cause.message : String(cause)).slice(0, 500),
  };
}

export async function notifyEmail(input: NotifyEmailInput): Promise<NotifyState> {
  const { sendNotification } = proxyActivities<Activities>({
    startToCloseTimeout: '30 seconds',
    // Slack's and PagerDuty's 429 Retry-After becomes the next delay (src/activities/failures.ts).
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: input.maxAttempts ?? DEFAULT_NOTIFY_MAX_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  const state: NotifyState = {
    step: 'notifying',
    ticketId: input.message.ticket?.id ?? null,
    ticketNumber: input.message.ticket?.number ?? null,
    deliveries: input.deliveries.map((d) => ({ ...d, status: 'pending', error: null })),
    parked: null,
  };
  setHandler(notifyStatusQuery, () => state);
  let retry = false;
  setHandler(reprocessSignal, () => {
    if (state.parked) retry = true;
  });
  const timeoutMs = (input.parkTimeoutSeconds ?? DEFAULT_NOTIFY_PARK_TIMEOUT_SECONDS) * 1000;
  let everParked = false;
  // One after another: each delivery parks on its own, and the operator retries the one that failed.
  for (const delivery of state.deliveries) {
    for (;;) {
      try {
        const result = await sendNotification({ ...input.message, delivery: { route: delivery.route, target: delivery.target } });
        delivery.status = result.sent ? 'sent' : 'already_sent';
        delivery.error = null;
        break;
      } catch (error) {
        const failure = failureOf(error);
        delivery.error = `${failure.type}: ${failure.message}`;
        state.parked = { step: 'notify', errorType: failure.type, message: failure.message, since: new Date().toISOString(), target: delivery.target };
        everParked = true;
        upsertSearchAttributes([
          { key: EmailStatusKey, value: 'parked' },
          { key: ParkedStepKey, value: 'notify' },
          { key: ErrorTypeKey, value: failure.type },
        ]);
        log.warn('notification parked', { target: delivery.target, route: delivery.route, errorType: failure.type });
        const woken = await condition(() => retry, timeoutMs);
        retry = false;
        state.parked = null;
        upsertSearchAttributes([
          { key: EmailStatusKey, value: 'notifying' },
          { key: ParkedStepKey, value: null },
          { key: ErrorTypeKey, value: null },
        ]);
        if (!woken) {
          delivery.status = 'failed';
          log.warn('notification given up: parked past its timeout', { target: delivery.target });
          break;
        }
      }
    }
  }
  state.step = 'done';
  if (everParked) upsertSearchAttributes([{ key: EmailStatusKey, value: state.deliveries.some((d) => d.status === 'failed') ? 'failed' : 'notified' }]);
  return state;
}

/** The ticket closed in the helpdesk: resolve its pages and close its alerts (started by the API). */
export async function resolveTicketPages(input: ResolveNotificationsInput): Promise<{ resolved: number }> {
  const { resolveTicketNotifications } = proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: DEFAULT_NOTIFY_MAX_ATTEMPTS, nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES },
  });
  return resolveTicketNotifications(input);
}

/** What the email workflow hands `startNotifications`: the facts to route on and the message to send. */
export interface NotifyRequest {
  policy: NotifyPolicy | undefined;
  facts: NotifyFacts;
  message: Omit<SendNotificationInput, 'delivery' | 'outcome'>;
  /** This run's own workflow id: the child is named after it. */
  runWorkflowId: string;
  /** Runs before the child is started (the workflow task ends there). */
  beforeWaiting?: () => void;
}

/**
 * Starts the notifications of one outcome, if any route wants it; never throws and never waits for a
 * target. An email that no route matches adds no command at all (not even the patch marker).
 */
export async function startNotifications(request: NotifyRequest): Promise<void> {
  const deliveries = deliveriesFor(request.policy, request.facts);
  if (deliveries.length === 0 || !patched(NOTIFY_PATCH)) return;
  const outcome: NotifyOutcome = request.facts.outcome;
  // Starting the child ends the workflow task: what the email's run shows is written first.
  request.beforeWaiting?.();
  try {
    await startChild(notifyEmail, {
      workflowId: notifyWorkflowId(request.runWorkflowId, outcome, request.message.parked?.step),
      args: [{ deliveries, message: { ...request.message, outcome }, maxAttempts: request.policy?.maxAttempts, parkTimeoutSeconds: request.policy?.parkTimeoutSeconds }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      // One email run, one notification per outcome and step: a closed one is not run again.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
  } catch (error) {
    // Already started (the same email parked twice at one step): the ledger would send nothing new.
    log.warn('notifications not started', { outcome, error: error instanceof Error ? error.message : String(error) });
  }
}

type ParkedFacts = { step: string; errorType: string; message: string };

/**
 * The email workflow's one notify function, over its input and state: `notify(outcome)` after the
 * ticket, `notify('parked', { parked })` when a step parks, `notify('suppressed', { reason })`.
 */
export function emailNotifier(options: { input: ProcessInboundEmailInput; state: EmailState; workflowId: string; runWorkflowId: string; queue: () => string; beforeWaiting?: () => void }) {
  const { input, state } = options;
  return (outcome: NotifyOutcome, extra: { reason?: string | null; parked?: ParkedFacts } = {}): Promise<void> =>
    startNotifications({
      ...(options.beforeWaiting ? { beforeWaiting: options.beforeWaiting } : {}),
      policy: input.policy?.notify,
      runWorkflowId: options.runWorkflowId,
      facts: { outcome, queue: options.queue(), recipient: input.recipient, priority: state.priority, emailClass: state.emailClass, tags: state.tags, sender: state.requester },
      message: {
        emailWorkflowId: options.workflowId,
        ticket: state.ticketId ? { id: state.ticketId, number: state.ticketNumber } : null,
        subject: state.subject ?? '',
        requester: state.requester ?? 'unknown sender',
        queue: options.queue(),
        priority: state.priority,
        tags: state.tags,
        reason: extra.reason ?? null,
        parked: extra.parked ? { step: extra.parked.step, errorType: extra.parked.errorType, error: extra.parked.message, runWorkflowId: options.runWorkflowId } : null,
      },
    });
}
