/**
 * The rules file's `notifications` section (issue 19): targets (a kind, a name, the environment
 * variable that holds its secret, an optional base URL) and routes (a match and the targets it sends
 * to). Secrets are never in the rules file: a webhook URL carries its own credential, so webhook
 * kinds take their whole URL from the environment and accept no `url`.
 */
import { NOTIFY_KINDS, NOTIFY_OUTCOMES, type NotifyKind, type NotifyMatch, type NotifyPolicy, type NotifyRoute } from './domain/notify-routes';
import type { EmailClass, TicketPriority } from './domain/vocabulary';

export interface NotifyTarget {
  name: string;
  kind: NotifyKind;
  /** The environment variable holding the webhook URL, bot token, routing key or API key. */
  secretEnv: string;
  /** The API's base URL (not for webhook kinds): Slack's, PagerDuty's or Opsgenie's region. */
  url: string | null;
  /** Slack chat.postMessage: the channel id. */
  channel: string | null;
}

export interface NotificationRules extends NotifyPolicy {
  targets: NotifyTarget[];
  /** Attempts per target before a notification parks itself, and how long it stays parked. */
  maxAttempts: number;
  parkTimeoutSeconds: number;
}

export const DEFAULT_NOTIFICATIONS: NotificationRules = { targets: [], routes: [], operatorTargets: [], maxAttempts: 10, parkTimeoutSeconds: 7 * 24 * 3600 };

export const DEFAULT_TARGET_URLS: Partial<Record<NotifyKind, string>> = {
  slack: 'https://slack.com/api',
  pagerduty: 'https://events.pagerduty.com',
  opsgenie: 'https://api.opsgenie.com',
};

const WEBHOOK_KINDS: readonly NotifyKind[] = ['slack-webhook', 'teams'];
const PRIORITIES: readonly TicketPriority[] = ['low', 'normal', 'high', 'urgent'];
const CLASSES: readonly EmailClass[] = ['human', 'auto_reply', 'auto_generated', 'bounce', 'own_loop'];
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
/** Routes ride in every email's input: a bound keeps the history small. */
export const MAX_NOTIFY_ROUTES = 50;

type Fail = (message: string) => never;
type Json = Record<string, unknown>;

function fields(value: unknown, where: string, allowed: string[], fail: Fail): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`${where} must be an object`);
  const unknownField = Object.keys(value).find((k) => !allowed.includes(k));
  if (unknownField) fail(`${where}: unknown field "${unknownField}" (${allowed.join(', ')})`);
  return value as Json;
}

function list(value: unknown, where: string, fail: Fail): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    return fail(`${where} must be a non-empty list of strings`);
  }
  return (value as string[]).map((v) => v.trim().toLowerCase());
}

function among<T extends string>(value: unknown, where: string, allowed: readonly T[], fail: Fail): T[] | undefined {
  const given = list(value, where, fail);
  const bad = given?.find((v) => !allowed.includes(v as T));
  if (bad) fail(`${where}: unknown value "${bad}" (${allowed.join(', ')})`);
  return given as T[] | undefined;
}

function count(value: unknown, where: string, fallback: number, fail: Fail): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return fail(`${where} must be a positive integer`);
  return value;
}

function target(value: unknown, i: number, fail: Fail): NotifyTarget {
  const where = `notifications.targets[${i}]`;
  const o = fields(value, where, ['name', 'kind', 'secretEnv', 'url', 'channel'], fail);
  if (typeof o.name !== 'string' || !NAME.test(o.name)) fail(`${where}.name must be 1-64 lower-case letters, digits, dots, dashes`);
  const name = o.name as string;
  const at = `${where} (${name})`;
  if (typeof o.kind !== 'string' || !NOTIFY_KINDS.includes(o.kind as NotifyKind)) fail(`${at}.kind must be one of ${NOTIFY_KINDS.join(', ')}`);
  const kind = o.kind as NotifyKind;
  if (typeof o.secretEnv !== 'string' || !ENV_NAME.test(o.secretEnv)) fail(`${at}.secretEnv must name an environment variable (A-Z, 0-9, _)`);
  let url: string | null = null;
  if (o.url !== undefined) {
    if (WEBHOOK_KINDS.includes(kind)) fail(`${at}.url: a ${kind} target's URL is its secret; put it in the variable named by secretEnv`);
    if (typeof o.url !== 'string' || !/^https?:\/\/[^\s/]+/.test(o.url) || /@/.test(o.url.split('/')[2] ?? '')) fail(`${at}.url must be an http(s) URL without credentials`);
    url = (o.url as string).replace(/\/+$/, '');
  }
  let channel: string | null = null;
  if (kind === 'slack') {
    if (typeof o.channel !== 'string' || o.channel.trim() === '') fail(`${at}.channel is required for chat.postMessage (a channel id such as C0123ABC)`);
    channel = (o.channel as string).trim();
  } else if (o.channel !== undefined) fail(`${at}.channel is only for kind slack`);
  return { name, kind, secretEnv: o.secretEnv as string, url: url ?? DEFAULT_TARGET_URLS[kind] ?? null, channel };
}

function route(value: unknown, i: number, names: Set<string>, fail: Fail): NotifyRoute {
  const where = `notifications.routes[${i}]`;
  const o = fields(value, where, ['name', 'match', 'targets'], fail);
  if (typeof o.name !== 'string' || !NAME.test(o.name) || o.name === 'operator') fail(`${where}.name must be 1-64 lower-case letters, digits, dots, dashes (not "operator")`);
  const at = `${where} (${o.name as string})`;
  const m = o.match === undefined ? {} : fields(o.match, `${at}.match`, ['queues', 'recipients', 'priorities', 'classes', 'tags', 'senderDomains', 'outcomes'], fail);
  const match: NotifyMatch = {};
  const queues = list(m.queues, `${at}.match.queues`, fail);
  const recipients = list(m.recipients, `${at}.match.recipients`, fail);
  const priorities = among(m.priorities, `${at}.match.priorities`, PRIORITIES, fail);
  const classes = among(m.classes, `${at}.match.classes`, CLASSES, fail);
  const tags = list(m.tags, `${at}.match.tags`, fail);
  const senderDomains = list(m.senderDomains, `${at}.match.senderDomains`, fail)?.map((d) => d.replace(/^@/, ''));
  const outcomes = among(m.outcomes, `${at}.match.outcomes`, NOTIFY_OUTCOMES, fail);
  Object.assign(match, queues && { queues }, recipients && { recipients }, priorities && { priorities }, classes && { classes }, tags && { tags }, senderDomains && { senderDomains }, outcomes && { outcomes });
  const targets = list(o.targets, `${at}.targets`, fail);
  if (!targets) return fail(`${at}.targets must be a non-empty list of strings`);
  const unknownTarget = targets.find((t) => !names.has(t));
  if (unknownTarget) fail(`${at}.targets: no target named "${unknownTarget}"`);
  return { name: o.name as string, match, targets };
}

export function parseNotifications(value: unknown, fail: Fail): NotificationRules {
  if (value === undefined) return DEFAULT_NOTIFICATIONS;
  const o = fields(value, 'notifications', ['targets', 'routes', 'operatorTargets', 'maxAttempts', 'parkTimeoutSeconds'], fail);
  if (o.targets !== undefined && !Array.isArray(o.targets)) fail('notifications.targets must be a list');
  if (o.routes !== undefined && !Array.isArray(o.routes)) fail('notifications.routes must be a list');
  const targets = ((o.targets as unknown[] | undefined) ?? []).map((t, i) => target(t, i, fail));
  const names = new Set<string>();
  for (const t of targets) {
    if (names.has(t.name)) fail(`notifications.targets: the name "${t.name}" is used twice`);
    names.add(t.name);
  }
  const routes = ((o.routes as unknown[] | undefined) ?? []).map((r, i) => route(r, i, names, fail));
  if (routes.length > MAX_NOTIFY_ROUTES) fail(`notifications.routes: at most ${MAX_NOTIFY_ROUTES} routes`);
  if (new Set(routes.map((r) => r.name)).size !== routes.length) fail('notifications.routes: route names must be unique');
  const operatorTargets = list(o.operatorTargets, 'notifications.operatorTargets', fail) ?? [];
  const unknownOperator = operatorTargets.find((t) => !names.has(t));
  if (unknownOperator) fail(`notifications.operatorTargets: no target named "${unknownOperator}"`);
  return {
    targets,
    routes,
    operatorTargets,
    maxAttempts: count(o.maxAttempts, 'notifications.maxAttempts', DEFAULT_NOTIFICATIONS.maxAttempts, fail),
    parkTimeoutSeconds: count(o.parkTimeoutSeconds, 'notifications.parkTimeoutSeconds', DEFAULT_NOTIFICATIONS.parkTimeoutSeconds, fail),
  };
}

/** The routing part every email carries in its policy snapshot; undefined when nothing is routed. */
export function notifyPolicyOf(rules: NotificationRules): NotifyPolicy | undefined {
  if (rules.routes.length === 0 && rules.operatorTargets.length === 0) return undefined;
  return { routes: rules.routes, operatorTargets: rules.operatorTargets, maxAttempts: rules.maxAttempts, parkTimeoutSeconds: rules.parkTimeoutSeconds };
}
