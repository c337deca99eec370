/**
 * PagerDuty Events API v2: POST /v2/enqueue. A trigger carries dedup_key = the ticket, so the same
 * ticket raises one incident however often it is sent; a resolve with that key ends it. Answers: 202
 * {status, message, dedup_key}; 400 {status: "invalid event", errors}; 429 when the routing key is
 * over its rate (no Retry-After documented: Temporal's backoff applies).
 */
import { failOnStatus, postJson } from './http';
import { cut, facts, headline, type NotificationMessage, type Notifier } from './types';
import type { TicketPriority } from '../../domain/vocabulary';

/** payload.summary is at most 1024 characters; dedup_key at most 255. */
const SUMMARY_MAX = 1024;

export const PAGERDUTY_SEVERITY: Record<TicketPriority, 'critical' | 'error' | 'warning' | 'info'> = { urgent: 'critical', high: 'error', normal: 'warning', low: 'info' };

export function pagerDutyTrigger(routingKey: string, message: NotificationMessage, dedupKey: string): unknown {
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: cut(dedupKey, 255),
    payload: {
      summary: cut(headline(message), SUMMARY_MAX),
      source: 'mailgate',
      severity: PAGERDUTY_SEVERITY[message.priority ?? 'normal'],
      component: message.queue,
      group: 'email',
      class: message.outcome,
      custom_details: Object.fromEntries(facts(message)),
    },
    client: 'Mailgate',
    ...(message.ticket?.url ? { client_url: message.ticket.url, links: [{ href: message.ticket.url, text: `Ticket #${message.ticket.number ?? message.ticket.id}` }] } : {}),
  };
}

function detailOf(json: unknown): string {
  const o = json as { message?: unknown; errors?: unknown } | undefined;
  const errors = Array.isArray(o?.errors) ? o.errors.filter((e) => typeof e === 'string').join('; ') : '';
  return [typeof o?.message === 'string' ? o.message : '', errors].filter(Boolean).join(': ');
}

export function pagerDutyNotifier(options: { target: string; baseUrl: string; routingKey: string }): Notifier {
  const enqueue = async (body: unknown): Promise<void> => {
    const answer = await postJson(options.target, `${options.baseUrl}/v2/enqueue`, body);
    failOnStatus(options.target, answer, detailOf(answer.json));
  };
  return {
    async send(message, { incidentKey }) {
      await enqueue(pagerDutyTrigger(options.routingKey, message, incidentKey));
      return { ref: cut(incidentKey, 255) };
    },
    async resolve(ref) {
      await enqueue({ routing_key: options.routingKey, event_action: 'resolve', dedup_key: ref });
    },
  };
}
