/**
 * Email intelligence through the real pipeline: classification and its policy, the threading
 * chain, waiting for a late parent, closed tickets, rate limits, routing and priority.
 * Runs with test/fixtures/rules/email-rules.json (small limits, a 20 s parent wait).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type Mail from 'nodemailer/lib/mailer';
import { startApp, type RunningApp } from '../helpers/app';
import { receivedMail, type ReceivedMail } from '../helpers/maildev';
import { deliveryReport } from '../helpers/reports';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, ticket, type EmailView } from '../helpers/pipeline';
import { eventually, ROOT, unique } from '../helpers/stack';

const RULES = path.join(ROOT, 'test/fixtures/rules/email-rules.json');

async function send(app: RunningApp, mail: Mail.Options, headers: Record<string, string> = {}): Promise<EmailView> {
  const posted = await postMime(app.url, await compose({ to: 'support@mailgate.local', text: 'hello', ...mail }), headers);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

async function acksTo(address: string): Promise<ReceivedMail[]> {
  return (await receivedMail()).filter((m) => m.to.some((t) => t.address === address));
}

describe('email rules', () => {
  let app: RunningApp;
  before(async () => {
    // Authentication-Results are believed only from a trusted authserv-id (the routing test's VIP and spoofed mails).
    app = await startApp({ env: { MAILGATE_RULES_FILE: RULES, TRUSTED_AUTHSERV_IDS: 'mx.mailgate.local' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('an out-of-office reply to our acknowledgement becomes an internal note, reopens nothing and sends nothing', async () => {
    const customer = `${unique('ooo')}@customer.example`;
    const first = await send(app, { from: customer, subject: 'Laptop broken', messageId: `<${unique('m')}@customer.example>` });
    assert.equal(first.state?.emailClass, 'human');
    const ack = first.state!.acknowledgement!;
    const reply = await send(app, {
      from: customer,
      subject: 'Automatic reply: [MG-1] Laptop broken',
      messageId: `<${unique('auto')}@customer.example>`,
      inReplyTo: `<${ack.messageId}>`,
      headers: { 'Auto-Submitted': 'auto-replied' },
      text: 'I am out of the office until Monday.',
    });
    assert.equal(reply.state?.emailClass, 'auto_reply');
    assert.equal(reply.searchAttributes.EmailClass, 'auto_reply');
    assert.ok(reply.state?.evidence.some((e) => e.includes('auto-submitted')), JSON.stringify(reply.state?.evidence));
    assert.equal(reply.state?.outcome, 'note_added');
    assert.equal(reply.state?.threadRule, 'own-message-id');
    assert.equal(reply.state?.ticketId, first.state?.ticketId);
    const t = await ticket(app.url, first.state!.ticketId!);
    assert.equal(t.comments.at(-1)?.internal, true);
    assert.equal((await acksTo(customer)).length, 1);
  });

  test('an auto-reply that refers to nothing known is recorded as suppressed with the reason', async () => {
    const view = await send(app, {
      from: `${unique('auto')}@elsewhere.example`,
      subject: 'Out of Office',
      messageId: `<${unique('m')}@elsewhere.example>`,
      headers: { 'Auto-Submitted': 'auto-replied' },
    });
    assert.equal(view.state?.outcome, 'suppressed');
    assert.equal(view.state?.ticketId, null);
    assert.match(view.state?.reasons.join(' ') ?? '', /auto_reply that refers to no known ticket/);
    assert.equal(view.searchAttributes.EmailStatus, 'suppressed');
  });

  test('our own mail coming back (our loop header) is dropped and recorded', async () => {
    const view = await send(app, {
      from: 'support@mailgate.local',
      subject: '[MG-1] something',
      messageId: `<${unique('m')}@mailgate.local>`,
      headers: { 'X-Mailgate-Loop': 'mailgate-test' },
    });
    assert.equal(view.state?.emailClass, 'own_loop');
    assert.equal(view.state?.outcome, 'suppressed');
    assert.match(view.state?.reasons.join(' ') ?? '', /own loop/);
  });

  test('a hard bounce of an acknowledgement is noted on the ticket and stops further acknowledgements to that address', async () => {
    const customer = `${unique('gone')}@customer.example`;
    const first = await send(app, { from: customer, subject: 'Printer', messageId: `<${unique('m')}@customer.example>` });
    const ackId = first.state!.acknowledgement!.messageId;
    const dsn = deliveryReport({ recipient: customer, original: ackId, status: '5.1.1', action: 'failed', asMessage: false, id: unique('dsn') });
    const posted = await postMime(app.url, dsn);
    const bounce = await settled(app.url, posted.body.emails![0]!.workflowId);
    assert.equal(bounce.state?.emailClass, 'bounce');
    assert.equal(bounce.state?.bounce?.kind, 'hard');
    assert.equal(bounce.state?.outcome, 'note_added');
    assert.equal(bounce.state?.ticketId, first.state?.ticketId);
    assert.match(bounce.state?.reasons.join(' ') ?? '', new RegExp(`marked undeliverable: ${customer}`));

    const again = await send(app, { from: customer, subject: 'Another problem', messageId: `<${unique('m')}@customer.example>` });
    assert.equal(again.state?.outcome, 'ticket_created');
    assert.equal(again.state?.acknowledgement?.sent, false);
    assert.match(again.state?.acknowledgement?.reason ?? '', /undeliverable/);
    assert.equal((await acksTo(customer)).length, 1);
  });

  test('an allowlisted monitoring system opens tickets although its mail is automated, and is not acknowledged', async () => {
    const view = await send(app, {
      from: 'alerts@monitoring.example',
      subject: `Disk full on db1 ${unique('alert')}`,
      messageId: `<${unique('m')}@monitoring.example>`,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    assert.equal(view.state?.emailClass, 'auto_generated');
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.equal(view.state?.acknowledgement, null);
    assert.ok(view.state?.evidence.includes('allowlist: sender may open tickets'));
  });

  test('the threading chain: reply token, body marker, and the subject token only from a participant', async () => {
    const customer = `${unique('chain')}@customer.example`;
    const first = await send(app, { from: customer, subject: 'VPN', messageId: `<${unique('m')}@customer.example>` });
    const [ack] = await eventually('the acknowledgement', async () => {
      const found = await acksTo(customer);
      return found.length > 0 ? found : undefined;
    });
    const replyTo = String(ack!.headers['reply-to']);
    assert.match(replyTo, /^support\+mg\d+\.[0-9a-f]{16}@mailgate\.local$/);

    const byToken = await send(app, { from: customer, to: replyTo, subject: 'no references at all', messageId: `<${unique('m')}@customer.example>` });
    assert.equal(byToken.state?.threadRule, 'reply-token');
    assert.equal(byToken.state?.ticketId, first.state?.ticketId);

    // Outlook-style: the references are gone, but the quoted acknowledgement still carries our marker.
    const marker = /\[ref:MG-\d+:[0-9a-f]{16}\]/.exec(ack!.text ?? '')?.[0];
    assert.ok(marker, 'the acknowledgement carries a body marker');
    const byMarker = await send(app, {
      from: customer,
      subject: 'RE: VPN',
      messageId: `<${unique('m')}@customer.example>`,
      text: `It works now.\n\n-----Original Message-----\nFrom: Support\n> We received your message\n> ${marker}\n`,
    });
    assert.equal(byMarker.state?.threadRule, 'body-marker');
    assert.equal(byMarker.state?.ticketId, first.state?.ticketId);

    const token = `[MG-${first.state!.ticketNumber}]`;
    const participant = await send(app, { from: customer, subject: `Re: ${token} VPN`, messageId: `<${unique('m')}@customer.example>` });
    assert.equal(participant.state?.threadRule, 'subject-token');
    assert.equal(participant.state?.ticketId, first.state?.ticketId);

    const stranger = await send(app, { from: `${unique('stranger')}@evil.example`, subject: `Re: ${token} VPN`, messageId: `<${unique('m')}@evil.example>` });
    assert.equal(stranger.state?.outcome, 'ticket_created');
    assert.notEqual(stranger.state?.ticketId, first.state?.ticketId);
    assert.ok(stranger.state?.evidence.some((e) => /subject-token .* does not take part/.test(e)));
  });

  test('a reply that arrives before its parent waits for it; a parent that arrives first makes nothing wait', async () => {
    const customer = `${unique('race')}@customer.example`;
    const parentId = `${unique('parent')}@customer.example`;
    const parent = await compose({ from: customer, to: 'support@mailgate.local', subject: 'Race', messageId: `<${parentId}>`, text: 'parent' });
    const reply = await compose({
      from: customer,
      to: 'support@mailgate.local',
      subject: 'Re: Race',
      messageId: `<${unique('child')}@customer.example>`,
      inReplyTo: `<${parentId}>`,
      references: [`<${parentId}>`],
      text: 'child',
    });
    const replyPosted = await postMime(app.url, reply);
    await new Promise((r) => setTimeout(r, 2_500));
    const parentPosted = await postMime(app.url, parent);
    const [replyView, parentView] = await Promise.all([
      settled(app.url, replyPosted.body.emails![0]!.workflowId, 90_000),
      settled(app.url, parentPosted.body.emails![0]!.workflowId, 90_000),
    ]);
    assert.equal(parentView.state?.outcome, 'ticket_created');
    assert.equal(replyView.state?.outcome, 'comment_added');
    assert.equal(replyView.state?.ticketId, parentView.state?.ticketId);
    assert.ok((replyView.state?.waitedForParentSeconds ?? 0) > 0);

    const inOrder = await send(app, {
      from: customer,
      subject: 'Re: Race',
      messageId: `<${unique('child2')}@customer.example>`,
      inReplyTo: `<${parentId}>`,
      references: [`<${parentId}>`],
    });
    assert.equal(inOrder.state?.outcome, 'comment_added');
    assert.equal(inOrder.state?.waitedForParentSeconds, 0);

    const orphan = await send(app, {
      from: customer,
      subject: 'Re: something old',
      messageId: `<${unique('orphan')}@customer.example>`,
      inReplyTo: `<${unique('never')}@customer.example>`,
    });
    assert.equal(orphan.state?.outcome, 'ticket_created');
    assert.equal(orphan.state?.waitedForParentSeconds, 20);
  });

  test('a reply to a closed ticket reopens it in a "reopen" queue and opens a linked ticket in a "new_linked" queue', async () => {
    const customer = `${unique('closed')}@customer.example`;
    const support = await send(app, { from: customer, subject: 'Support case', messageId: `<${unique('m')}@customer.example>` });
    const billing = await send(app, { from: customer, to: 'billing@mailgate.local', subject: 'Invoice case', messageId: `<${unique('m')}@customer.example>` });
    for (const view of [support, billing]) {
      const response = await apiFetch(`${app.url}/v1/tickets/${view.state!.ticketId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'closed' }),
      });
      assert.equal(response.status, 200);
    }
    const reopened = await send(app, { from: customer, subject: 'Re: Support case', messageId: `<${unique('m')}@customer.example>`, inReplyTo: `<${support.state!.messageId}>` });
    assert.equal(reopened.state?.outcome, 'comment_added');
    assert.equal(reopened.state?.reopened, true);
    assert.equal((await ticket(app.url, support.state!.ticketId!)).status, 'open');

    const linked = await send(app, {
      from: customer,
      to: 'billing@mailgate.local',
      subject: 'Re: Invoice case',
      messageId: `<${unique('m')}@customer.example>`,
      inReplyTo: `<${billing.state!.messageId}>`,
    });
    assert.equal(linked.state?.outcome, 'ticket_created');
    assert.notEqual(linked.state?.ticketId, billing.state?.ticketId);
    assert.equal(linked.state?.linkedTicketId, billing.state?.ticketId);
    assert.equal((await ticket(app.url, billing.state!.ticketId!)).status, 'closed');
  });

  test('new tickets per sender are rate limited across a worker restart, and the throttled mail is recorded', async () => {
    const sender = `${unique('flood')}@customer.example`;
    const views: EmailView[] = [];
    for (let i = 0; i < 2; i++) views.push(await send(app, { from: sender, subject: `Flood ${i}`, messageId: `<${unique('m')}@customer.example>` }));
    await app.killWorker('SIGKILL');
    await app.startWorker();
    for (let i = 2; i < 4; i++) views.push(await send(app, { from: sender, subject: `Flood ${i}`, messageId: `<${unique('m')}@customer.example>` }));
    assert.deepEqual(views.map((v) => v.state?.outcome), ['ticket_created', 'ticket_created', 'ticket_created', 'suppressed']);
    assert.match(views[3]!.state?.reasons.join(' ') ?? '', /rate limit of 3 new tickets/);
    const acks = views.map((v) => v.state?.acknowledgement?.sent);
    assert.deepEqual(acks.slice(0, 3), [true, true, false], 'acknowledgements are limited to 2 per recipient');
  });

  test('routing: an alias lands in its queue, an unknown address in the default queue; priority rules leave tags', async () => {
    const alias = await send(app, { from: `${unique('r')}@customer.example`, to: 'help@mailgate.local', subject: 'Help', messageId: `<${unique('m')}@c.example>` });
    assert.equal(alias.state?.queue, 'support@mailgate.local');
    const unknown = await send(app, { from: `${unique('r')}@customer.example`, to: 'random@mailgate.local', subject: 'Hi', messageId: `<${unique('m')}@c.example>` });
    assert.equal(unknown.state?.queue, 'support@mailgate.local');

    const urgent = await send(app, { from: `${unique('p')}@customer.example`, subject: 'Total outage in Berlin', messageId: `<${unique('m')}@c.example>` });
    assert.equal(urgent.state?.priority, 'urgent');
    const t = await getJson<{ priority: string; tags: string[] }>(`${app.url}/v1/tickets/${urgent.state!.ticketId}`);
    assert.equal(t.body.priority, 'urgent');
    assert.ok(t.body.tags.includes('priority:keyword:outage'));

    const vip = await send(app, { from: `${unique('ceo')}@bigcustomer.example`, subject: 'Question', messageId: `<${unique('m')}@c.example>`, headers: { 'X-Priority': '1 (Highest)', 'Authentication-Results': 'mx.mailgate.local; dmarc=pass header.from=bigcustomer.example' } });
    assert.equal(vip.state?.priority, 'high');
    assert.ok(vip.state?.tags.includes('priority:vip:bigcustomer.example'));
    assert.ok(vip.state?.tags.includes('priority:header:high'));

    const spoofed = await send(app, {
      from: `${unique('ceo')}@bigcustomer.example`,
      subject: 'Wire money',
      messageId: `<${unique('m')}@c.example>`,
      headers: { 'Authentication-Results': 'mx.mailgate.local; spf=fail smtp.mailfrom=bigcustomer.example; dmarc=fail (p=reject) header.from=bigcustomer.example' },
    });
    assert.equal(spoofed.state?.priority, 'normal');
    assert.equal(spoofed.state?.acknowledgement?.sent, false, 'a forged From is never acknowledged');
    assert.match(spoofed.state?.acknowledgement?.reason ?? '', /failed authentication/);
    assert.ok(spoofed.state?.tags.includes('untrusted-sender'));
    assert.ok(spoofed.state?.tags.includes('auth:dmarc-fail'));
  });
});

describe('email rules with one ticket per email and unknown recipients refused', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/one-ticket-refuse.json') } });
  });
  after(async () => {
    await app?.stop();
  });

  test('the same Message-ID to two queues makes one ticket that notes both queues, and one acknowledgement', async () => {
    const customer = `${unique('both')}@customer.example`;
    const raw = await compose({ from: customer, to: 'support@mailgate.local', cc: 'billing@mailgate.local', subject: 'Both', messageId: `<${unique('m')}@c.example>`, text: 'x' });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.body.emails?.length, 2);
    const views = await Promise.all(posted.body.emails!.map((e) => settled(app.url, e.workflowId)));
    assert.equal(views[0]!.state?.ticketId, views[1]!.state?.ticketId);
    const t = await getJson<{ queue: string; extraQueues: string[] }>(`${app.url}/v1/tickets/${views[0]!.state!.ticketId}`);
    assert.deepEqual([t.body.queue, ...t.body.extraQueues].sort(), ['billing@mailgate.local', 'support@mailgate.local']);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await acksTo(customer)).length, 1);
  });

  test('a recipient no queue serves is refused with 422', async () => {
    const raw = await compose({ from: 'a@customer.example', to: 'random@mailgate.local', subject: 'x', text: 'x' });
    const response = await postMime(app.url, raw);
    assert.equal(response.status, 422);
    assert.match(JSON.stringify(response.body), /no queue serves this address/);
  });
});
