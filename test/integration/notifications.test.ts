/**
 * Notifications end to end (issue 19): the real API and worker with routing rules, the stand-ins of
 * test/stand-ins/notifiers.ts as Slack, PagerDuty and Opsgenie. A sev1@ email pages once however
 * often it is delivered, its follow-up threads in Slack, closing the ticket resolves the page; a
 * parked email tells the operator once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { eventually, stack, unique } from '../helpers/stack';
import { NotifierStandIns } from '../stand-ins/notifiers';
import type { EmailView } from '../helpers/pipeline';

describe('notifications by routing rule', () => {
  let app: RunningApp;
  let stand: NotifierStandIns;
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-notify-'));

  before(async () => {
    stand = await new NotifierStandIns().start();
    const rules = {
      instanceId: 'mailgate-test',
      waitForParentSeconds: 0,
      parking: { maxAttempts: 2, parkTimeoutSeconds: 600 },
      notifications: {
        targets: [
          { name: 'ops-hook', kind: 'slack-webhook', secretEnv: 'NOTIFY_TEST_SLACK_WEBHOOK' },
          { name: 'oncall-slack', kind: 'slack', secretEnv: 'NOTIFY_TEST_SLACK_TOKEN', channel: stand.slackChannel, url: `${stand.url}/slack/api` },
          { name: 'pd', kind: 'pagerduty', secretEnv: 'NOTIFY_TEST_PD', url: `${stand.url}/pagerduty` },
          { name: 'og', kind: 'opsgenie', secretEnv: 'NOTIFY_TEST_OG', url: `${stand.url}/opsgenie` },
        ],
        routes: [{ name: 'sev1', match: { recipients: ['sev1@mailgate.local'] }, targets: ['pd', 'og', 'oncall-slack'] }],
        operatorTargets: ['ops-hook'],
        maxAttempts: 3,
      },
    };
    const file = path.join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify(rules));
    app = await startApp({
      env: {
        MAILGATE_RULES_FILE: file,
        NOTIFY_TEST_SLACK_WEBHOOK: stand.slackWebhookUrl,
        NOTIFY_TEST_SLACK_TOKEN: stand.slackToken,
        NOTIFY_TEST_PD: stand.routingKey,
        NOTIFY_TEST_OG: stand.opsgenieKey,
      },
    });
  });
  after(async () => {
    await stack('up', 'clamd');
    await app?.stop();
    await stand?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a sev1@ email pages once however often it is delivered; its follow-up threads in Slack; closing the ticket resolves the page', async () => {
    const messageId = `<${unique('sev1')}@customer.example>`;
    const raw = await compose({ from: 'ann@customer.example', to: 'sev1@mailgate.local', subject: 'Checkout is down, card 4111 1111 1111 1111 fails', messageId, text: 'outage' });
    // Rate limits are honoured through Temporal's retries: PagerDuty's 429 backs off, Slack's waits its Retry-After.
    stand.failNext('pagerduty', { status: 429, body: { status: 'throttle exceeded', message: 'Requests for this service are arriving too quickly.' } });
    stand.failNext('slack-api', { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': '1' } });
    const first = await postMime(app.url, raw);
    assert.equal(first.status, 202);
    const workflowId = first.body.emails![0]!.workflowId;
    const again = await postMime(app.url, raw);
    assert.equal(again.body.emails![0]!.status, 'duplicate');
    const view = await settled(app.url, workflowId);
    const ticketId = view.state!.ticketId!;
    const dedupKey = `mailgate-ticket-${ticketId}`;

    const incident = await eventually('the page', async () => stand.incidents.get(dedupKey), 60_000);
    assert.equal(incident.summary.includes('4111'), false, 'the card number is redacted in the page');
    const alert = await eventually('the Opsgenie alert', async () => stand.alerts.get(dedupKey), 60_000);
    const firstSlack = await eventually('the Slack message', async () => stand.slackMessages.find((m) => m.threadTs === null && m.text.includes('Checkout is down')), 60_000);

    const reply = await compose({ from: 'ann@customer.example', to: 'sev1@mailgate.local', subject: 'Re: Checkout is down', messageId: `<${unique('reply')}@customer.example>`, inReplyTo: messageId, references: messageId, text: 'still down' });
    const replied = await postMime(app.url, reply);
    const replyView = await settled(app.url, replied.body.emails![0]!.workflowId);
    assert.equal(replyView.state?.outcome, 'comment_added');
    // The follow-up's targets run in route order: its Slack message comes after its page was deduplicated.
    const threaded = await eventually('the threaded follow-up', async () => stand.slackMessages.find((m) => m.threadTs === firstSlack.ts), 60_000);
    assert.match(threaded.text, /Follow-up/);
    assert.equal(stand.to('pagerduty').length, 2, 'a 429, then one trigger: neither the redelivery nor the follow-up paged again');
    assert.equal(stand.incidents.get(dedupKey)?.triggers, 1);
    assert.equal(alert.creates, 1);

    const closed = await apiFetch(`${app.url}/v1/tickets/${ticketId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'closed' }) });
    assert.equal(closed.status, 200);
    await eventually('the page resolved', async () => (stand.incidents.get(dedupKey)?.status === 'resolved' ? true : undefined), 60_000);
    await eventually('the alert closed', async () => (stand.alerts.get(dedupKey)?.status === 'closed' ? true : undefined), 60_000);
    assert.equal(stand.slackMessages.filter((m) => m.threadTs === null && m.text.includes('Checkout is down')).length, 1, 'one top-level Slack message');
  });

  test('a parked email tells the operator once, with the step, the error and the reprocess command; the reprocessed email tells nobody again', async () => {
    const subject = `Invoice ${unique('parked')}`;
    const raw = await compose({ from: 'bob@customer.example', to: 'support@mailgate.local', subject, messageId: `<${unique('p')}@customer.example>`, text: 'x', attachments: [{ filename: 'a.txt', content: 'file' }] });
    await stack('down', 'clamd');
    let workflowId: string;
    try {
      workflowId = (await postMime(app.url, raw)).body.emails![0]!.workflowId;
      await eventually(
        `${workflowId} to park`,
        async () => ((await getJson<EmailView>(`${app.url}/v1/emails/${workflowId}`)).body.state?.outcome === 'parked' ? true : undefined),
        60_000,
      );
      const notice = await eventually('the operator notice', async () => stand.webhookMessages.find((m) => m.text.includes(subject)), 60_000);
      const text = JSON.stringify(notice.blocks);
      assert.match(text, /scanning/);
      assert.match(text, /ScannerUnavailable/);
      assert.match(text, new RegExp(`scripts/mailgate emails reprocess ${workflowId}`));
    } finally {
      await stack('up', 'clamd');
    }
    const reprocessed = await apiFetch(`${app.url}/v1/emails/${workflowId}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(reprocessed.status, 202);
    const view = await settled(app.url, workflowId, 90_000);
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.equal(stand.webhookMessages.filter((m) => m.text.includes(subject)).length, 1);
    assert.equal(stand.to('pagerduty').filter((r) => JSON.stringify(r.body).includes(subject)).length, 0, 'support@ pages nobody');
  });
});
