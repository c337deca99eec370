/**
 * Opsgenie Alert API: POST /v2/alerts with alias = the ticket (Opsgenie de-duplicates open alerts by
 * alias), and POST /v2/alerts/<alias>/close?identifierType=alias when the ticket closes. Requests are
 * processed asynchronously: 202 {result, took, requestId}; 422 for a field it refuses.
 */
import { failOnStatus, postJson } from './http';
import { cut, facts, headline, type NotificationMessage, type Notifier } from './types';
import type { TicketPriority } from '../../domain/vocabulary';

/** message ≤ 130 characters, alias ≤ 512, description ≤ 15000, a detail value ≤ 8000, tags ≤ 20 of 50. */
const MESSAGE_MAX = 130;
const ALIAS_MAX = 512;
const DESCRIPTION_MAX = 15_000;

export const OPSGENIE_PRIORITY: Record<TicketPriority, 'P1' | 'P2' | 'P3' | 'P4' | 'P5'> = { urgent: 'P1', high: 'P2', normal: 'P3', low: 'P4' };

export function opsgenieAlert(message: NotificationMessage, alias: string): unknown {
  const lines = facts(message).map(([label, value]) => `${label}: ${value}`);
  if (message.ticket?.url) lines.push(`Link: ${message.ticket.url}`);
  return {
    message: cut(headline(message), MESSAGE_MAX),
    alias: cut(alias, ALIAS_MAX),
    description: cut(lines.join('\n'), DESCRIPTION_MAX),
    priority: OPSGENIE_PRIORITY[message.priority ?? 'normal'],
    source: 'mailgate',
    entity: cut(message.queue, 512),
    tags: message.tags.slice(0, 20).map((t) => cut(t, 50)),
    details: Object.fromEntries(facts(message).map(([k, v]) => [k, cut(v, 8000)])),
  };
}

function detailOf(json: unknown): string {
  const o = json as { message?: unknown; requestId?: unknown } | undefined;
  return [typeof o?.message === 'string' ? o.message : '', typeof o?.requestId === 'string' ? `request ${o.requestId}` : ''].filter(Boolean).join(', ');
}

export function opsgenieNotifier(options: { target: string; baseUrl: string; apiKey: string }): Notifier {
  const headers = { authorization: `GenieKey ${options.apiKey}` };
  return {
    async send(message, { incidentKey }) {
      const answer = await postJson(options.target, `${options.baseUrl}/v2/alerts`, opsgenieAlert(message, incidentKey), { headers });
      failOnStatus(options.target, answer, detailOf(answer.json));
      return { ref: cut(incidentKey, ALIAS_MAX) };
    },
    async resolve(ref, note) {
      const url = `${options.baseUrl}/v2/alerts/${encodeURIComponent(ref)}/close?identifierType=alias`;
      const answer = await postJson(options.target, url, { source: 'mailgate', note: cut(note, 25_000) }, { headers });
      failOnStatus(options.target, answer, detailOf(answer.json));
    },
  };
}
