/**
 * Notifier adapters by target (issue 19). Each is built per call from the rules in force and the
 * secret in its environment variable, so a rules reload applies at once and a secret is read only
 * where it is used. A missing variable is a credentials error: the notification parks, the email does not.
 */
import { ErrorType, TypedError } from '../../domain/errors';
import type { NotifyTarget } from '../../rules-notifications';
import { opsgenieNotifier } from './opsgenie';
import { pagerDutyNotifier } from './pagerduty';
import { slackBotNotifier, slackWebhookNotifier } from './slack';
import { teamsNotifier } from './teams';
import type { Notifier } from './types';

export type { NotificationFacts, NotificationMessage, Notifier, SendOptions } from './types';

export type SecretSource = Readonly<Record<string, string | undefined>>;

export function createNotifier(target: NotifyTarget, env: SecretSource): Notifier {
  const secret = env[target.secretEnv]?.trim();
  if (!secret) throw new TypedError(ErrorType.RemoteCredentials, `notification target ${target.name}: the environment variable ${target.secretEnv} is not set`);
  const name = target.name;
  const baseUrl = target.url ?? '';
  switch (target.kind) {
    case 'slack-webhook':
      return slackWebhookNotifier({ target: name, webhookUrl: secret });
    case 'slack':
      return slackBotNotifier({ target: name, baseUrl, token: secret, channel: target.channel ?? '' });
    case 'teams':
      return teamsNotifier({ target: name, webhookUrl: secret });
    case 'pagerduty':
      return pagerDutyNotifier({ target: name, baseUrl, routingKey: secret });
    case 'opsgenie':
      return opsgenieNotifier({ target: name, baseUrl, apiKey: secret });
  }
}

/** The variables the rules name that are not set: the worker warns about each at start. */
export function missingSecrets(targets: NotifyTarget[], env: SecretSource): string[] {
  return [...new Set(targets.filter((t) => !env[t.secretEnv]?.trim()).map((t) => t.secretEnv))];
}
