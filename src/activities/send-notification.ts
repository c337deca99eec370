/**
 * sendNotification (issue 19): one notification to one target. The ledger makes it happen once per
 * delivery key (a page once per ticket, route and target; a chat message once per email), keeps the
 * ts of a ticket's first Slack message so its follow-ups thread under it, and remembers the pages to
 * resolve when the ticket closes. Everything sent is redacted with the queue's policy first. The
 * target's secret is read from its environment variable here and nowhere logged.
 */
import { createNotifier, type NotificationFacts, type NotificationMessage, type SecretSource } from '../adapters/notifiers';
import { ErrorType, TypedError } from '../domain/errors';
import { deliveryKey, isPagingKind, type Delivery } from '../domain/notify-routes';
import { redactText } from '../domain/redact';
import type { Ledger } from '../ports/ledger';
import { redactionFor, type Rules } from '../rules';
import type { NotifyTarget } from '../rules-notifications';
import { rethrowAsFailure } from './failures';
import { activityLog } from './log';

export interface NotifyDeps {
  ledger: Ledger;
  rules: Rules;
  /** Where the targets' secrets are read (the worker's environment). */
  notifyEnv: SecretSource;
  /** The API's public URL: the ticket link in every message. */
  publicUrl: string;
}

export interface SendNotificationInput extends NotificationFacts {
  delivery: Delivery;
  ticket: { id: string; number: number | null } | null;
  /** A parked email: its step and error, and the run an operator reprocesses. */
  parked: { step: string; errorType: string; error: string; runWorkflowId: string } | null;
}

export interface SendNotificationResult {
  /** False when the ledger says it was already sent. */
  sent: boolean;
  key: string;
}

export function targetNamed(rules: Rules, name: string): NotifyTarget {
  const target = rules.notifications.targets.find((t) => t.name === name);
  // A reload removed it: retrying cannot help; the notification parks and says so.
  if (!target) throw new TypedError(ErrorType.RemoteRejected, `no notification target named ${name} in the rules in force`);
  return target;
}

export function ticketUrl(publicUrl: string, ticket: { id: string; number: number | null }): string {
  return `${publicUrl}/v1/tickets/${ticket.number ?? encodeURIComponent(ticket.id)}`;
}

/** The message as sent: every free text from the email through the queue's redaction policy. */
export function notificationMessage(deps: Pick<NotifyDeps, 'rules' | 'publicUrl'>, input: SendNotificationInput): NotificationMessage {
  const policy = { kinds: redactionFor(deps.rules, input.queue) };
  const clean = (text: string): string => redactText(text, policy).text;
  return {
    outcome: input.outcome,
    emailWorkflowId: input.emailWorkflowId,
    ticket: input.ticket ? { ...input.ticket, url: ticketUrl(deps.publicUrl, input.ticket) } : null,
    subject: clean(input.subject || '(no subject)'),
    requester: clean(input.requester),
    queue: input.queue,
    priority: input.priority,
    tags: input.tags,
    reason: input.reason === null ? null : clean(input.reason),
    parked: input.parked && {
      step: input.parked.step,
      errorType: input.parked.errorType,
      error: clean(input.parked.error),
      command: `scripts/mailgate emails reprocess ${input.parked.runWorkflowId}`,
    },
  };
}

export function createSendNotification(deps: NotifyDeps) {
  return async function sendNotification(input: SendNotificationInput): Promise<SendNotificationResult> {
    try {
      const target = targetNamed(deps.rules, input.delivery.target);
      const ticketId = input.ticket?.id ?? null;
      const key = deliveryKey({ kind: target.kind, delivery: input.delivery, ticketId, emailWorkflowId: input.emailWorkflowId, outcome: input.outcome, step: input.parked?.step });
      if (await deps.ledger.findNotification(key)) {
        activityLog().info('notification already sent', { target: target.name, route: input.delivery.route });
        return { sent: false, key };
      }
      // A ticket's follow-ups thread under its first message in this target's channel.
      const first = target.kind === 'slack' && ticketId ? (await deps.ledger.ticketNotifications(ticketId)).find((n) => n.target === target.name && n.ref !== null) : undefined;
      const incidentKey = isPagingKind(target.kind) && ticketId ? `mailgate-ticket-${ticketId}` : key;
      const { ref } = await createNotifier(target, deps.notifyEnv).send(notificationMessage(deps, input), { threadRef: first?.ref ?? null, incidentKey });
      await deps.ledger.recordNotification({ key, ticketId, target: target.name, kind: target.kind, ref });
      activityLog().info('notification sent', { target: target.name, kind: target.kind, route: input.delivery.route, outcome: input.outcome, threaded: first !== undefined });
      return { sent: true, key };
    } catch (error) {
      rethrowAsFailure(error);
    }
  };
}
