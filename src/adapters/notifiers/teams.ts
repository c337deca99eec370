/**
 * Microsoft Teams through a Workflows (Power Automate) webhook: a message whose one attachment is an
 * Adaptive Card 1.4 (a heading, a FactSet, an Action.OpenUrl to the ticket). The webhook URL carries
 * its signature and is the secret. The flow answers 202 Accepted.
 */
import { failOnStatus, postJson } from './http';
import { cut, facts, headline, type NotificationMessage, type Notifier } from './types';

export const ADAPTIVE_CARD_SCHEMA = 'http://adaptivecards.io/schemas/adaptive-card.json';

export function adaptiveCardMessage(message: NotificationMessage): unknown {
  const card = {
    $schema: ADAPTIVE_CARD_SCHEMA,
    type: 'AdaptiveCard',
    version: '1.4',
    body: [
      { type: 'TextBlock', text: cut(headline(message), 300), weight: 'Bolder', size: 'Medium', wrap: true },
      { type: 'FactSet', facts: facts(message).map(([title, value]) => ({ title, value: cut(value, 1000) })) },
    ],
    ...(message.ticket?.url ? { actions: [{ type: 'Action.OpenUrl', title: 'Open ticket', url: message.ticket.url }] } : {}),
  };
  return { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
}

export function teamsNotifier(options: { target: string; webhookUrl: string }): Notifier {
  return {
    async send(message) {
      const answer = await postJson(options.target, options.webhookUrl, adaptiveCardMessage(message));
      failOnStatus(options.target, answer, answer.text.slice(0, 200));
      return { ref: null };
    },
  };
}
