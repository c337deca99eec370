/** What every notifier is told, and what it answers (issue 19). */
import type { NotifyOutcome } from '../../domain/notify-routes';
import type { TicketPriority } from '../../domain/vocabulary';

/** What the email workflow knows about the email it notifies of (the activity's input shares it). */
export interface NotificationFacts {
  outcome: NotifyOutcome;
  /** The email's workflow id (the original's for a reprocess run). */
  emailWorkflowId: string;
  subject: string;
  requester: string;
  queue: string;
  priority: TicketPriority | null;
  tags: string[];
  /** Why the email was suppressed, in the operator's words. */
  reason: string | null;
}

/** One notification, already redacted: nothing in it may be sent that the queue's policy would hide. */
export interface NotificationMessage extends NotificationFacts {
  ticket: { id: string; number: number | null; url: string | null } | null;
  /** A parked email: the step, the error and the command that reprocesses it. */
  parked: { step: string; errorType: string; error: string; command: string } | null;
}

export interface SendOptions {
  /** A chat thread to post under (Slack: the first message's ts). */
  threadRef: string | null;
  /** PagerDuty's dedup_key / Opsgenie's alias: the ticket. */
  incidentKey: string;
}

export interface Notifier {
  /** Sends the message; answers what the target calls it (a Slack ts, a dedup key), or null. */
  send(message: NotificationMessage, options: SendOptions): Promise<{ ref: string | null }>;
  /** Paging kinds: resolve the incident (PagerDuty) or close the alert (Opsgenie) raised as `ref`. */
  resolve?(ref: string, note: string): Promise<void>;
}

/** A one-line title for any kind. */
export function headline(message: NotificationMessage): string {
  const number = message.ticket?.number != null ? `#${message.ticket.number} ` : '';
  switch (message.outcome) {
    case 'ticket_created':
      return `New ticket ${number}${message.subject}`;
    case 'comment_added':
    case 'note_added':
      return `Follow-up on ticket ${number}${message.subject}`;
    case 'suppressed':
      return `Email suppressed: ${message.subject}`;
    case 'parked':
      return `Email parked at ${message.parked?.step ?? 'a step'}: ${message.subject}`;
  }
}

/** Label/value pairs every kind shows. */
export function facts(message: NotificationMessage): [string, string][] {
  const out: [string, string][] = [];
  if (message.ticket?.number != null) out.push(['Ticket', `#${message.ticket.number}`]);
  out.push(['Requester', message.requester], ['Queue', message.queue]);
  if (message.priority) out.push(['Priority', message.priority]);
  if (message.tags.length > 0) out.push(['Tags', message.tags.join(', ')]);
  if (message.reason) out.push(['Reason', message.reason]);
  if (message.parked) out.push(['Step', message.parked.step], ['Error', `${message.parked.errorType}: ${message.parked.error}`], ['Reprocess with', message.parked.command]);
  return out;
}

/** Cuts `text` to `max` characters, marking the cut. */
export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
