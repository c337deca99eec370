/**
 * The web view in a real browser (Debian's chromium driven by playwright-core) against the real
 * worker and API: an agent signs in, opens a ticket and replies; the reply arrives in MailDev
 * threaded like the acknowledgement, the customer's answer to it lands on the same ticket. A script
 * in an email never runs. An operator reprocesses a parked email from the page. A browser without
 * a session, or a form without the session's CSRF token, changes nothing. Every page passes axe-core
 * (WCAG 2 A and AA rules). Screenshots go to MAILGATE_SCREENSHOTS_DIR (docs/screenshots for the
 * README) or the app's log folder.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openTicketStore } from '../../src/adapters/ticket-store';
import { freePort, readJsonLogs, startApp, type RunningApp } from '../helpers/app';
import { launchChromium } from '../helpers/chromium';
import { compose, getJson, postMime } from '../helpers/mail';
import { mailMatching } from '../helpers/maildev';
import { discardLeftOver, settled, withTemporal, type EmailView } from '../helpers/pipeline';
import { eventually, ROOT, stack, unique } from '../helpers/stack';

const PASSWORD = 'a long enough test password';
const QUEUE = 'support@mailgate.local';
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

/** axe-core injected by the test (the page itself loads no script), WCAG 2 A and AA rules. */
async function assertAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE);
  const violations = await page.evaluate<AxeViolation[]>(`
    axe.run(document, { iframes: false, runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
      .then((r) => r.violations.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`);
  assert.deepEqual(violations, [], `${what}: ${JSON.stringify(violations, null, 2)}`);
}

describe('the web view in a browser', () => {
  let app: RunningApp;
  let browser: Browser;
  let shots: string;
  let parkedId: string | undefined;
  const contexts: BrowserContext[] = [];

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  };
  const signIn = async (name: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${app.url}/web/tickets`);
    await page.getByLabel('Name').fill(name);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Tickets' }).waitFor();
    return page;
  };
  const mailIn = async (mail: Parameters<typeof compose>[0]): Promise<EmailView> => {
    const posted = await postMime(app.url, await compose({ to: QUEUE, ...mail }));
    return settled(app.url, posted.body.emails![0]!.workflowId);
  };

  before(async () => {
    const dir = path.join(ROOT, '.data/test/web-view', unique('users'));
    mkdirSync(dir, { recursive: true });
    const users = path.join(dir, 'users');
    writeFileSync(users, `ann:${bcrypt.hashSync(PASSWORD, 4)}\nola:${bcrypt.hashSync(PASSWORD, 4)}:operator\n`);
    const metricsPort = await freePort();
    app = await startApp({
      env: {
        WEB_USERS_FILE: users,
        MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json'),
        WORKER_METRICS_PORT: String(metricsPort),
        WORKER_METRICS_URL: `http://127.0.0.1:${metricsPort}/metrics`,
      },
    });
    shots = process.env.MAILGATE_SCREENSHOTS_DIR ? path.resolve(ROOT, process.env.MAILGATE_SCREENSHOTS_DIR) : app.logDir;
    mkdirSync(shots, { recursive: true });
    browser = await launchChromium();
  });
  after(async () => {
    await stack('up', 'clamd');
    await discardLeftOver(app.url, parkedId, 'left over from the web view test');
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await app?.stop();
  });

  test('an agent replies from the ticket page; the reply reaches the customer threaded, and the answer lands on the same ticket', async () => {
    const run = unique('web');
    const customer = `cus-${run}@customer.example`;
    const subject = `Printer jams ${run}`;
    const first = await mailIn({
      from: `Cus Tomer <${customer}>`,
      subject,
      messageId: `<${run}-1@customer.example>`,
      text: 'The printer jams on every page.',
      html: '<p>The printer <b>jams</b> on every page.</p>',
    });
    assert.equal(first.state?.outcome, 'ticket_created');
    const number = first.state!.ticketNumber!;

    const page = await signIn('ann');
    await assertAccessible(page, 'the ticket list');
    await page.getByLabel('Subject or requester').fill(run);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('link', { name: subject }).click();
    await page.getByRole('heading', { name: `MG-${number}: ${subject}` }).waitFor();
    await page.frameLocator('iframe.message').first().getByText('on every page').waitFor();
    await assertAccessible(page, 'the ticket page');

    const answer = `We sent a technician, ${run}.`;
    const replyForm = page.locator(`form[action="/web/tickets/${number}/reply"]`);
    const sameForm = {
      _csrf: (await replyForm.locator('input[name="_csrf"]').getAttribute('value'))!,
      nonce: (await replyForm.locator('input[name="nonce"]').getAttribute('value'))!,
      text: answer,
    };
    await page.getByLabel('Message').fill(answer);
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.getByRole('status').filter({ hasText: 'Your reply was sent' }).waitFor({ timeout: 30_000 });
    await page.getByText(answer).first().waitFor();

    const [reply] = await mailMatching(`the agent's reply to ${customer}`, (m) => m.to.some((t) => t.address === customer) && (m.text ?? '').includes(answer), 30_000);
    assert.ok(reply);
    assert.equal(reply.subject, `Re: ${subject} [MG-${number}]`);
    assert.match(reply.messageId, new RegExp(`^<?mg\\.${number}\\.[A-Za-z0-9]+\\.[0-9a-f]{16}@mailgate\\.local>?$`));
    assert.equal(String(reply.inReplyTo ?? reply.headers['in-reply-to']).replace(/[<>]/g, ''), `${run}-1@customer.example`);
    assert.match(String(reply.headers['reply-to']), new RegExp(`support\\+mg${number}\\.[0-9a-f]{16}@mailgate\\.local`));
    assert.match(reply.text ?? '', new RegExp(`\\[ref:MG-${number}:[0-9a-f]{16}\\]`));
    assert.equal(reply.headers['auto-submitted'], undefined, 'a person wrote it: not an automatic reply');

    // The customer answers the reply: the answer threads to the same ticket.
    const thanks = `Thanks, it works now ${run}`;
    const back = await mailIn({
      from: `Cus Tomer <${customer}>`,
      subject: reply.subject.startsWith('Re:') ? reply.subject : `Re: ${reply.subject}`,
      messageId: `<${run}-2@customer.example>`,
      inReplyTo: reply.messageId,
      references: [`<${run}-1@customer.example>`, reply.messageId],
      text: thanks,
    });
    assert.equal(back.state?.outcome, 'comment_added');
    assert.equal(back.state?.ticketId, first.state!.ticketId);
    await page.reload();
    await page.getByText(thanks).first().waitFor();
    await shot(page, 'ticket');

    // Sending the same reply form again (a double click, a reload) sends nothing more: the workflow id is the form's.
    const again = await page.context().request.post(`${app.url}/web/tickets/${number}/reply`, { form: sameForm, maxRedirects: 0 });
    assert.equal(again.status(), 303);
    const { body: shown } = await getJson<{ comments: { text: string; internal: boolean; author: string }[] }>(`${app.url}/v1/tickets/${number}`);
    assert.deepEqual(
      shown.comments.filter((c) => c.text === answer).map((c) => [c.author, c.internal]),
      [['ann (agent)', false]],
    );
    const replies = await mailMatching('the reply, once', (m) => (m.text ?? '').includes(answer));
    assert.equal(replies.length, 1);
    await page.goto(`${app.url}/web/tickets`);
    await shot(page, 'tickets');
  });

  test('a script in an email never runs: the frame is sandboxed, the console says so and the policy reports what it blocked', async () => {
    const run = unique('xss');
    const marker = `PWNED-${run}`;
    const first = await mailIn({
      from: `mal-${run}@customer.example`,
      subject: `Invoice ${run}`,
      messageId: `<${run}@customer.example>`,
      text: 'see html',
      html: `<p>Invoice</p><script>console.log('${marker}')</script><img src="x" onerror="console.log('${marker}')">`,
    });
    const number = first.state!.ticketNumber!;
    // Defence in depth: a comment as a sanitizer bug would leave it, written straight into the store.
    const store = openTicketStore(app.env.DATABASE_URL!);
    try {
      await store.addComment(first.state!.ticketId!, {
        messageId: `${run}-raw@customer.example`,
        author: 'mal@customer.example',
        text: 'raw',
        html: `<p>Raw</p><script>console.log('${marker}');alert(1)</script><img src="https://tracker.invalid/${run}.png">`,
        attachments: [],
      });
    } finally {
      await store.close();
    }
    const page = await signIn('ann');
    const console: string[] = [];
    let dialogs = 0;
    page.on('console', (m) => console.push(m.text()));
    page.on('dialog', (d) => {
      dialogs += 1;
      void d.dismiss();
    });
    await page.goto(`${app.url}/web/tickets/${number}`);
    await page.frameLocator('iframe.message').nth(1).getByText('Raw').waitFor();
    await eventually(
      'a CSP report of the blocked image',
      async () => readJsonLogs(app.logDir, 'api').lines.find((l) => l.msg === 'content security policy violation' && String(l.blocked).includes('tracker.invalid')),
      15_000,
    );
    await eventually('the console to say scripts are blocked in the sandboxed frame', async () => console.find((t) => /Blocked script execution/.test(t)), 15_000);
    assert.ok(!console.some((t) => t.includes(marker)), console.join('\n'));
    assert.equal(dialogs, 0);
  });

  test('a browser without a session, or a form without the CSRF token, changes nothing', async () => {
    const run = unique('csrf');
    const first = await mailIn({ from: `c-${run}@customer.example`, subject: `Locked out ${run}`, messageId: `<${run}@customer.example>`, text: 'help' });
    const number = first.state!.ticketNumber!;
    const stranger = await browser.newContext();
    contexts.push(stranger);
    const refused = await stranger.request.post(`${app.url}/web/tickets/${number}/update`, { form: { status: 'closed', _csrf: 'guess' }, maxRedirects: 0 });
    assert.equal(refused.status(), 401);
    const page = await signIn('ann');
    const forged = await page.context().request.post(`${app.url}/web/tickets/${number}/update`, { form: { status: 'closed' }, maxRedirects: 0 });
    assert.equal(forged.status(), 403);
    const { body } = await getJson<{ status: string }>(`${app.url}/v1/tickets/${number}`);
    assert.equal(body.status, 'open');
  });

  test('an operator reprocesses a parked email from the page, and sees the pipeline health', async () => {
    const run = unique('park');
    const subject = `Scanner down ${run}`;
    await stack('down', 'clamd');
    try {
      const posted = await postMime(
        app.url,
        await compose({ from: `bob-${run}@customer.example`, to: QUEUE, subject, messageId: `<${run}@customer.example>`, text: 'x', attachments: [{ filename: 'a.txt', content: 'file' }] }),
      );
      parkedId = posted.body.emails![0]!.workflowId;
      await eventually(
        `${parkedId} to park`,
        async () => ((await getJson<EmailView>(`${app.url}/v1/emails/${parkedId}`)).body.state?.outcome === 'parked' ? true : undefined),
        60_000,
      );
    } finally {
      await stack('up', 'clamd');
    }
    const page = await signIn('ola');
    await page.getByRole('link', { name: 'Parked emails' }).click();
    const row = page.locator('tr', { hasText: subject });
    // Visibility (the list) lags the workflow by a moment.
    await eventually('the parked email in the list', async () => {
      if ((await row.count()) > 0) return true;
      await page.reload();
      return undefined;
    }, 30_000);
    assert.match(await row.innerText(), /scanning/);
    assert.match(await row.innerText(), /ScannerUnavailable/);
    const workflowLink = await row.getByRole('link', { name: parkedId }).getAttribute('href');
    assert.equal(workflowLink, `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT}/namespaces/default/workflows/${encodeURIComponent(parkedId)}`);
    await assertAccessible(page, 'the parked emails page');
    await shot(page, 'parked');
    await row.getByRole('button', { name: `Reprocess ${subject}` }).click();
    await page.getByRole('status').filter({ hasText: 'Reprocess requested' }).waitFor();
    const done = await settled(app.url, parkedId, 90_000);
    assert.equal(done.state?.outcome, 'ticket_created');
    // The reprocess signal names the operator, and the web audit records it.
    const signalled = await withTemporal(async (client) => (await client.workflow.getHandle(parkedId!).fetchHistory()).events ?? []);
    const by = signalled.map((e) => e.workflowExecutionSignaledEventAttributes).find((a) => a?.signalName === 'reprocess')?.input?.payloads?.[0];
    assert.equal(defaultPayloadConverter.fromPayload<{ by?: string }>(by!).by, 'ola via web');
    const store = openTicketStore(app.env.DATABASE_URL!);
    try {
      assert.ok((await store.listAudit(20)).some((a) => a.username === 'ola' && a.action === 'reprocess' && a.target === parkedId));
    } finally {
      await store.close();
    }
    parkedId = undefined;

    await page.getByRole('link', { name: 'Pipeline health' }).click();
    await page.getByRole('heading', { name: 'Pipeline health' }).waitFor();
    const text = await page.locator('main').innerText();
    assert.match(text, /Accept rate\s+100\.0 %/);
    assert.doesNotMatch(text, /could not be read/);
    await assertAccessible(page, 'the health page');
    await shot(page, 'health');
  });
});
