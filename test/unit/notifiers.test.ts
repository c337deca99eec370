/**
 * Notifications (issue 19): the rules file's section, routing, each notifier against its stand-in
 * (test/stand-ins/notifiers.ts validates payloads against the documented schemas and answers with
 * the documented shapes and errors), and the sendNotification activity's once-only ledger.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNotifier, missingSecrets, type NotificationMessage } from '../../src/adapters/notifiers';
import { retryAfterMs } from '../../src/adapters/notifiers/http';
import { createSqliteTicketStore } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { createResolveTicketNotifications } from '../../src/activities/resolve-notifications';
import { createSendNotification, type SendNotificationInput } from '../../src/activities/send-notification';
import { ErrorType, TypedError } from '../../src/domain/errors';
import { deliveriesFor, type NotifyFacts } from '../../src/domain/notify-routes';
import { parseRules, RulesError, type Rules } from '../../src/rules';
import type { NotifyTarget } from '../../src/rules-notifications';
import { NotifierStandIns } from '../stand-ins/notifiers';

const facts = (changes: Partial<NotifyFacts> = {}): NotifyFacts => ({
  outcome: 'ticket_created',
  queue: 'support@mailgate.example',
  recipient: 'support@mailgate.example',
  priority: 'normal',
  emailClass: 'human',
  tags: [],
  sender: 'ann@customer.example',
  ...changes,
});

const message = (changes: Partial<NotificationMessage> = {}): NotificationMessage => ({
  outcome: 'ticket_created',
  emailWorkflowId: 'inbound-email/k1',
  ticket: { id: 't-1', number: 42, url: 'https://mailgate.example/v1/tickets/42' },
  subject: 'Printer <on fire> & smoking',
  requester: 'ann@customer.example',
  queue: 'support@mailgate.example',
  priority: 'urgent',
  tags: ['keyword:outage'],
  reason: null,
  parked: null,
  ...changes,
});

async function typedError(promise: Promise<unknown>): Promise<TypedError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TypedError, `a TypedError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}

const NOTIFICATIONS = {
  targets: [
    { name: 'ops-hook', kind: 'slack-webhook', secretEnv: 'T_SLACK_WEBHOOK' },
    { name: 'ops-slack', kind: 'slack', secretEnv: 'T_SLACK_TOKEN', channel: 'C0NOTIFY1', url: 'http://127.0.0.1:1/slack/api' },
    { name: 'teams', kind: 'teams', secretEnv: 'T_TEAMS' },
    { name: 'pd', kind: 'pagerduty', secretEnv: 'T_PD', url: 'http://127.0.0.1:1/pagerduty' },
    { name: 'og', kind: 'opsgenie', secretEnv: 'T_OG', url: 'http://127.0.0.1:1/opsgenie' },
  ],
  routes: [
    { name: 'sev1', match: { recipients: ['SEV1@mailgate.example'] }, targets: ['pd', 'og', 'ops-slack'] },
    { name: 'vip', match: { senderDomains: ['bigcustomer.example'], priorities: ['high', 'urgent'] }, targets: ['teams'] },
    { name: 'dropped', match: { outcomes: ['suppressed'], classes: ['auto_reply'] }, targets: ['ops-hook'] },
  ],
  operatorTargets: ['ops-hook'],
};

describe('the rules file: notifications', () => {
  test('targets, routes and operator targets parse; a route with no outcomes hears about tickets only', () => {
    const rules = parseRules({ notifications: NOTIFICATIONS });
    assert.equal(rules.notifications.targets.length, 5);
    assert.equal(rules.notifications.targets.find((t) => t.name === 'ops-hook')?.url, null);
    assert.equal(rules.notifications.maxAttempts, 10);
    assert.deepEqual(rules.notifications.routes[0]?.match, { recipients: ['sev1@mailgate.example'] });
    assert.deepEqual(parseRules({}).notifications.routes, []);
  });

  test('a webhook URL in the file, an unknown target, a missing channel or a bad variable name stops the start, naming the field', () => {
    const broken = (change: (n: typeof NOTIFICATIONS) => unknown) => () => parseRules({ notifications: change(structuredClone(NOTIFICATIONS)) });
    assert.throws(broken((n) => ({ ...n, targets: [{ ...n.targets[0], url: 'https://hooks.slack.com/services/T/B/X' }, ...n.targets.slice(1)] })), (e: Error) => e instanceof RulesError && /ops-hook.*url.*secret/.test(e.message));
    assert.throws(broken((n) => ({ ...n, routes: [{ name: 'x', targets: ['nobody'] }] })), /no target named "nobody"/);
    assert.throws(broken((n) => ({ ...n, targets: [{ name: 's', kind: 'slack', secretEnv: 'X' }] , routes: [], operatorTargets: [] })), /channel is required/);
    assert.throws(broken((n) => ({ ...n, targets: [{ name: 's', kind: 'pagerduty', secretEnv: 'lower-case' }], routes: [], operatorTargets: [] })), /secretEnv/);
    assert.throws(broken((n) => ({ ...n, routes: [{ name: 'x', match: { priorities: ['p1'] }, targets: ['pd'] }] })), /unknown value "p1"/);
    assert.throws(broken((n) => ({ ...n, routes: [{ name: 'x', match: { sender: ['a'] }, targets: ['pd'] }] })), /unknown field "sender"/);
  });
});

describe('notification routing', () => {
  const policy = parseRules({ notifications: NOTIFICATIONS }).notifications;

  test('an email to sev1@ (any case, any plus-tag) goes to the sev1 targets; one to support@ goes nowhere', () => {
    assert.deepEqual(
      deliveriesFor(policy, facts({ recipient: 'Sev1+pager@mailgate.example' })).map((d) => `${d.route}:${d.target}`),
      ['sev1:pd', 'sev1:og', 'sev1:ops-slack'],
    );
    assert.deepEqual(deliveriesFor(policy, facts()), []);
    assert.deepEqual(deliveriesFor(undefined, facts()), []);
  });

  test('every listed criterion must hold: sender domain (or a subdomain) and priority', () => {
    assert.equal(deliveriesFor(policy, facts({ sender: 'bob@eu.bigcustomer.example', priority: 'high' })).length, 1);
    assert.equal(deliveriesFor(policy, facts({ sender: 'bob@bigcustomer.example', priority: 'normal' })).length, 0);
    assert.equal(deliveriesFor(policy, facts({ sender: 'bob@notbigcustomer.example', priority: 'urgent' })).length, 0);
  });

  test('a parked email goes to the operator targets; a suppressed one only to routes that ask for suppressed mail', () => {
    assert.deepEqual(deliveriesFor(policy, facts({ outcome: 'parked' })), [{ route: 'operator', target: 'ops-hook' }]);
    assert.deepEqual(deliveriesFor(policy, facts({ outcome: 'suppressed', emailClass: 'auto_reply' })), [{ route: 'dropped', target: 'ops-hook' }]);
    assert.deepEqual(deliveriesFor(policy, facts({ outcome: 'suppressed', emailClass: 'bounce' })), []);
    assert.deepEqual(deliveriesFor(policy, facts({ outcome: 'parked', recipient: 'sev1@mailgate.example' })), [{ route: 'operator', target: 'ops-hook' }]);
  });
});

describe('notifiers against their stand-ins', () => {
  let stand: NotifierStandIns;
  let env: Record<string, string>;
  const target = (name: string): NotifyTarget => {
    const t = parseRules({ notifications: NOTIFICATIONS }).notifications.targets.find((x) => x.name === name)!;
    return t.url ? { ...t, url: t.url.replace('http://127.0.0.1:1', stand.url) } : t;
  };
  const send = (name: string, m = message(), threadRef: string | null = null) => createNotifier(target(name), env).send(m, { threadRef, incidentKey: 'mailgate-ticket-t-1' });

  before(async () => {
    stand = await new NotifierStandIns().start();
    env = { T_SLACK_WEBHOOK: stand.slackWebhookUrl, T_SLACK_TOKEN: stand.slackToken, T_TEAMS: stand.teamsWebhookUrl, T_PD: stand.routingKey, T_OG: stand.opsgenieKey };
  });
  after(() => stand.stop());

  test('Slack webhook: a valid Block Kit message with header, fields and a button to the ticket; mrkdwn is escaped', async () => {
    assert.deepEqual(await send('ops-hook', message({ requester: '<!channel> ann@customer.example' })), { ref: null });
    const posted = stand.webhookMessages.at(-1)!;
    assert.match(posted.text, /Printer &lt;on fire&gt; &amp; smoking/);
    assert.match(JSON.stringify(posted.blocks), /"plain_text","text":"New ticket #42 Printer <on fire> & smoking"/);
    assert.match(JSON.stringify(posted.blocks), /&lt;!channel&gt; ann@customer/, 'a mention in mrkdwn is escaped');
    assert.deepEqual((posted.blocks as { type: string }[]).map((b) => b.type), ['header', 'section', 'actions']);
    assert.match(JSON.stringify(posted.blocks), /https:\/\/mailgate\.example\/v1\/tickets\/42/);
  });

  test('Slack webhook errors: invalid_blocks is a refusal, no_service a credential, 429 waits Retry-After; the URL is never in the message', async () => {
    stand.failNext('slack-webhook', { status: 400, body: 'invalid_blocks' });
    const refused = await typedError(send('ops-hook'));
    assert.equal(refused.type, ErrorType.RemoteRejected);
    assert.match(refused.message, /invalid_blocks/);
    assert.ok(!refused.message.includes(stand.hookId));
    stand.failNext('slack-webhook', { status: 404, body: 'no_service' });
    assert.equal((await typedError(send('ops-hook'))).type, ErrorType.RemoteCredentials);
    stand.failNext('slack-webhook', { status: 429, body: 'rate_limited', headers: { 'retry-after': '7' } });
    const limited = await typedError(send('ops-hook'));
    assert.equal(limited.type, ErrorType.RemoteRateLimited);
    assert.equal(limited.retryAfterMs, 7000);
  });

  test('Slack chat.postMessage: the answer ts threads a follow-up; ok:false invalid_auth, invalid_blocks and ratelimited are typed', async () => {
    const first = await send('ops-slack');
    assert.match(first.ref ?? '', /^\d+\.\d+$/);
    await send('ops-slack', message({ outcome: 'comment_added' }), first.ref);
    assert.equal(stand.slackMessages.at(-1)?.threadTs, first.ref);
    const request = stand.to('slack-api').at(-1)!;
    assert.equal(request.headers.authorization, `Bearer ${stand.slackToken}`);
    stand.failNext('slack-api', { status: 200, body: { ok: false, error: 'invalid_auth' } });
    assert.equal((await typedError(send('ops-slack'))).type, ErrorType.RemoteCredentials);
    stand.failNext('slack-api', { status: 200, body: { ok: false, error: 'invalid_blocks' } });
    assert.equal((await typedError(send('ops-slack'))).type, ErrorType.RemoteRejected);
    stand.failNext('slack-api', { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '30' } });
    const limited = await typedError(send('ops-slack'));
    assert.equal(limited.type, ErrorType.RemoteRateLimited);
    assert.equal(limited.retryAfterMs, 30_000);
    const wrongToken = await typedError(createNotifier(target('ops-slack'), { ...env, T_SLACK_TOKEN: 'xoxb-wrong' }).send(message(), { threadRef: null, incidentKey: 'k' }));
    assert.equal(wrongToken.type, ErrorType.RemoteCredentials);
    assert.ok(!wrongToken.message.includes('xoxb-wrong'));
  });

  test('Teams: an Adaptive Card 1.4 with a FactSet and an OpenUrl action, accepted with 202', async () => {
    await send('teams');
    const card = (stand.teamsCards.at(-1) as { attachments: { content: { version: string; actions: { url: string }[] } }[] }).attachments[0]!.content;
    assert.equal(card.version, '1.4');
    assert.equal(card.actions[0]?.url, 'https://mailgate.example/v1/tickets/42');
  });

  test('PagerDuty: a trigger with dedup_key = the ticket and severity from priority pages once; resolve ends it; 400 and 429 are typed', async () => {
    await send('pd');
    await send('pd');
    const incident = stand.incidents.get('mailgate-ticket-t-1')!;
    assert.equal(incident.severity, 'critical');
    assert.equal(incident.triggers, 2, 'the stand-in saw both; PagerDuty folds them into one incident by dedup_key');
    const event = stand.to('pagerduty').at(-1)!.body as { links: { href: string }[]; payload: { custom_details: Record<string, string> } };
    assert.equal(event.links[0]?.href, 'https://mailgate.example/v1/tickets/42');
    assert.equal(event.payload.custom_details.Queue, 'support@mailgate.example');
    await createNotifier(target('pd'), env).resolve!('mailgate-ticket-t-1', 'closed');
    assert.equal(stand.incidents.get('mailgate-ticket-t-1')?.status, 'resolved');
    const badKey = await typedError(createNotifier(target('pd'), { ...env, T_PD: 'short' }).send(message(), { threadRef: null, incidentKey: 'k' }));
    assert.equal(badKey.type, ErrorType.RemoteRejected);
    assert.match(badKey.message, /400: Event object is invalid: 'routing_key'/);
    stand.failNext('pagerduty', { status: 429, body: { status: 'throttle exceeded' } });
    assert.equal((await typedError(send('pd'))).type, ErrorType.RemoteRateLimited);
  });

  test('Opsgenie: an alert with alias = the ticket and a priority, answered 202 with a request id; close by alias; 401 is a credential', async () => {
    await send('og', message({ subject: 'x'.repeat(500) }));
    const alert = stand.alerts.get('mailgate-ticket-t-1')!;
    assert.equal(alert.priority, 'P1');
    assert.equal(alert.message.length, 130);
    assert.equal(alert.requestIds.length, 1);
    await createNotifier(target('og'), env).resolve!('mailgate-ticket-t-1', 'closed');
    assert.equal(stand.alerts.get('mailgate-ticket-t-1')?.status, 'closed');
    assert.equal((await typedError(createNotifier(target('og'), { ...env, T_OG: 'nope' }).send(message(), { threadRef: null, incidentKey: 'k' }))).type, ErrorType.RemoteCredentials);
  });

  test('a target whose secret variable is unset fails as a credential, naming the variable and nothing else', async () => {
    assert.deepEqual(missingSecrets([target('pd'), target('og')], { T_PD: 'x' }), ['T_OG']);
    const error = await typedError(Promise.resolve().then(() => createNotifier(target('pd'), {})));
    assert.equal(error.type, ErrorType.RemoteCredentials);
    assert.match(error.message, /T_PD is not set/);
  });

  test('Retry-After as seconds or as an HTTP date', () => {
    assert.equal(retryAfterMs('12'), 12_000);
    assert.equal(retryAfterMs(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)), 10_000);
    assert.equal(retryAfterMs('soon'), undefined);
  });
});

describe('sendNotification and resolveTicketNotifications', () => {
  let stand: NotifierStandIns;
  let store: TicketStore;
  let rules: Rules;
  const dir = mkdtempSync(join(tmpdir(), 'mailgate-notify-'));

  before(async () => {
    stand = await new NotifierStandIns().start();
    rules = parseRules({ redact: ['card'], notifications: JSON.parse(JSON.stringify(NOTIFICATIONS).replaceAll('http://127.0.0.1:1', stand.url)) });
    store = createSqliteTicketStore(join(dir, 'tickets.sqlite'));
    await store.migrate();
  });
  after(async () => {
    await stand.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const deps = () => ({
    ledger: store,
    rules,
    publicUrl: 'https://mailgate.example',
    notifyEnv: { T_SLACK_WEBHOOK: stand.slackWebhookUrl, T_SLACK_TOKEN: stand.slackToken, T_TEAMS: stand.teamsWebhookUrl, T_PD: stand.routingKey, T_OG: stand.opsgenieKey },
  });
  const input = (changes: Partial<SendNotificationInput> = {}): SendNotificationInput => ({
    delivery: { route: 'sev1', target: 'pd' },
    outcome: 'ticket_created',
    emailWorkflowId: 'inbound-email/a',
    ticket: { id: 'tk-1', number: 7 },
    subject: 'Card 4111 1111 1111 1111 declined',
    requester: 'ann@customer.example',
    queue: 'support@mailgate.example',
    priority: 'high',
    tags: [],
    reason: null,
    parked: null,
    ...changes,
  });

  test('a page goes out once per ticket, route and target: a redelivered or reprocessed email, or a follow-up, pages nothing more', async () => {
    const send = createSendNotification(deps());
    assert.equal((await send(input())).sent, true);
    assert.equal((await send(input())).sent, false);
    assert.equal((await send(input({ emailWorkflowId: 'inbound-email/b', outcome: 'comment_added' }))).sent, false);
    assert.equal(stand.to('pagerduty').length, 1);
    const event = stand.to('pagerduty')[0]!.body as { payload: { summary: string; severity: string } };
    assert.equal(event.payload.severity, 'error');
    assert.ok(!event.payload.summary.includes('4111'), `the card number is redacted: ${event.payload.summary}`);
  });

  test("a ticket's Slack follow-ups thread under its first message, kept in the ledger", async () => {
    const send = createSendNotification(deps());
    const slack = { route: 'sev1', target: 'ops-slack' };
    await send(input({ delivery: slack, ticket: { id: 'tk-2', number: 8 } }));
    await send(input({ delivery: slack, ticket: { id: 'tk-2', number: 8 }, emailWorkflowId: 'inbound-email/reply', outcome: 'comment_added' }));
    const [first, reply] = stand.slackMessages.slice(-2);
    assert.equal(first?.threadTs, null);
    assert.equal(reply?.threadTs, first?.ts);
  });

  test('a parked notice names the step, the error and the reprocess command, once per email and step', async () => {
    const send = createSendNotification(deps());
    const parked = { step: 'scanning', errorType: 'ScannerUnavailable', error: 'clamd could not be reached', runWorkflowId: 'inbound-email/p' };
    const notice = input({ delivery: { route: 'operator', target: 'ops-hook' }, outcome: 'parked', ticket: null, emailWorkflowId: 'inbound-email/p', parked });
    await send(notice);
    await send(notice);
    assert.equal(stand.to('slack-webhook').length, 1);
    const text = JSON.stringify(stand.webhookMessages.at(-1)!.blocks);
    assert.match(text, /scanning/);
    assert.match(text, /ScannerUnavailable: clamd could not be reached/);
    assert.match(text, /scripts\/mailgate emails reprocess inbound-email\/p/);
  });

  test('closing the ticket resolves its PagerDuty incident and closes its Opsgenie alert, once', async () => {
    const send = createSendNotification(deps());
    const ticket = { id: 'tk-3', number: 9 };
    await send(input({ ticket }));
    await send(input({ ticket, delivery: { route: 'sev1', target: 'og' } }));
    const resolve = createResolveTicketNotifications(deps());
    assert.deepEqual(await resolve({ ticketId: 'tk-3', ticketNumber: 9 }), { resolved: 2 });
    assert.equal(stand.incidents.get('mailgate-ticket-tk-3')?.status, 'resolved');
    assert.equal(stand.alerts.get('mailgate-ticket-tk-3')?.status, 'closed');
    assert.deepEqual(await resolve({ ticketId: 'tk-3', ticketNumber: 9 }), { resolved: 0 });
  });
});
