/**
 * The Temporal Web UI as an operator's worklist, checked in a real browser: Debian's chromium
 * (installed by scripts/setup) driven by playwright-core, against the UI the stack's Temporal dev
 * server serves. One email becomes a ticket and one parks (clamd stopped, as in parking.test.ts);
 * the workflow list shows their subjects, senders and queue; the parked workflow's page says the
 * step, the reason and the reprocess command; the ticketed one's page its ticket number.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, getJson, postMime } from '../helpers/mail';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { startEmailWorkflow } from '../../src/ingress/start-email-workflow';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import { EmailStatusKey, RecipientQueueKey } from '../../src/workflows/search-attributes';
import { discardLeftOver, settled, withTemporal, type EmailView } from '../helpers/pipeline';
import { config, eventually, ROOT, stack, unique } from '../helpers/stack';

/** Read back through the client: the start metadata, the current details, the activity summaries. */
async function metadataOf(workflowId: string): Promise<{ summary?: string; details?: string; current?: string; activities: string[] }> {
  return withTemporal(async (client) => {
    const handle = client.workflow.getHandle(workflowId);
    const description = await handle.describe();
    const current = await handle.query<{ currentDetails?: string | null }>('__temporal_workflow_metadata');
    const history = await handle.fetchHistory();
    const activities = (history.events ?? [])
      .map((event) => event.userMetadata?.summary)
      .filter((summary) => summary !== null && summary !== undefined)
      .map((summary) => defaultPayloadConverter.fromPayload<string>(summary));
    return {
      summary: await description.staticSummary(),
      details: await description.staticDetails(),
      current: current.currentDetails ?? undefined,
      activities,
    };
  });
}

/** Markdown as a reader sees it: backslash escapes removed. */
const shown = (markdown = ''): string => markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');

/**
 * The UI renders markdown (summary, details, current details) in frames of its own: waits until one
 * of them shows all of `texts`, and returns its text.
 */
async function renderedWith(page: Page, texts: string[]): Promise<string> {
  return eventually(
    `a rendered frame showing ${texts.join(' | ')}`,
    async () => {
      for (const frame of page.frames()) {
        const text = await frame.evaluate<string>('document.body ? document.body.innerText : ""').catch(() => '');
        if (texts.every((t) => text.includes(t))) return text;
      }
      return undefined;
    },
    30_000,
  );
}

describe('the Temporal UI as a worklist', () => {
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  let parkedId: string | undefined;
  const uiPort = process.env.TEMPORAL_UI_PORT;
  const namespace = config.temporal.namespace;
  const ui = (route: string): string => `http://127.0.0.1:${uiPort}/namespaces/${encodeURIComponent(namespace)}${route}`;
  const workflowPage = (view: EmailView): string => ui(`/workflows/${encodeURIComponent(view.workflowId)}`);

  before(async () => {
    assert.ok(uiPort, 'TEMPORAL_UI_PORT is not set: run the test through scripts/with-env with the test profile');
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json') } });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  });
  after(async () => {
    await stack('up', 'clamd');
    // A parked email left by a failed run would wait for an operator until its park timeout.
    await discardLeftOver(app.url, parkedId, 'left over from the Temporal UI test');
    await browser?.close();
    await app?.stop();
  });

  test('the list shows subject, sender and queue; a parked page says why and what to do; a ticket page its number', async () => {
    const run = unique('ui');
    const ticketed = { from: `ann-${run}@customer.example`, subject: `Printer on fire ${run}` };
    const parked = { from: `bob-${run}@customer.example`, subject: `Scanner down ${run}` };
    const queue = 'support@mailgate.local';

    const first = await postMime(app.url, await compose({ ...ticketed, to: queue, messageId: `<${run}-1@customer.example>`, text: 'It smokes.' }));
    const done = await settled(app.url, first.body.emails![0]!.workflowId);
    assert.equal(done.state?.outcome, 'ticket_created');
    const number = done.state!.ticketNumber!;

    let parkedView: EmailView | undefined;
    await stack('down', 'clamd');
    try {
      const posted = await postMime(
        app.url,
        await compose({ ...parked, to: queue, messageId: `<${run}-2@customer.example>`, text: 'x', attachments: [{ filename: 'a.txt', content: 'file' }] }),
      );
      const workflowId = posted.body.emails![0]!.workflowId;
      parkedId = workflowId;
      parkedView = await eventually(
        `${workflowId} to park`,
        async () => {
          const { body } = await getJson<EmailView>(`${app.url}/v1/emails/${workflowId}`);
          return body.state?.outcome === 'parked' ? body : undefined;
        },
        60_000,
      );
    } finally {
      await stack('up', 'clamd');
    }

    // What the UI is given, read back through the client first: a failure here is not the browser's.
    const ticketMeta = await metadataOf(done.workflowId);
    assert.equal(shown(ticketMeta.summary), `“${ticketed.subject}” from ${ticketed.from} to ${queue}`);
    assert.match(shown(ticketMeta.current), new RegExp(`Ticket:\\*\\* #${number}, id`));
    assert.ok(ticketMeta.activities.some((a) => shown(a) === `acknowledge ticket #${number} to ${ticketed.from} from ${queue}`), ticketMeta.activities.join('\n'));
    assert.ok(ticketMeta.activities.some((a) => shown(a) === `open a ticket in ${queue} for ${ticketed.from}`), ticketMeta.activities.join('\n'));
    const parkedMeta = await metadataOf(parkedView!.workflowId);
    assert.match(shown(parkedMeta.current), /Parked at scanning\*\* since .*\n\n\*\*Why:\*\* ScannerUnavailable: /);
    assert.ok(parkedMeta.activities.some((a) => shown(a) === 'scan 1 attachment with ClamAV'), parkedMeta.activities.join('\n'));

    // The list as an operator sets it up once per browser (docs/temporal-ui-worklist.js), filtered
    // to this test's task queue: each row shows status, subject, sender, queue, ticket and class.
    await page.goto(ui('/workflows'));
    await page.getByTestId('workflows-summary-table-configuration-button').waitFor({ timeout: 30_000 });
    const applied = await page.evaluate<string>(readFileSync(path.join(ROOT, 'docs/temporal-ui-worklist.js'), 'utf8'));
    assert.match(applied, /reload the page/);
    await page.goto(ui(`/workflows?query=${encodeURIComponent(`TaskQueue="${app.taskQueue}"`)}`));
    const ticketRow = page.locator('tr', { hasText: ticketed.subject });
    await ticketRow.first().waitFor({ state: 'visible', timeout: 30_000 });
    const ticketRowText = await ticketRow.first().innerText();
    for (const text of ['ticket_created', ticketed.from, queue, done.state!.ticketId!, 'human']) {
      assert.ok(ticketRowText.includes(text), `the ticketed email's row shows ${text}: ${ticketRowText}`);
    }
    const parkedRow = page.locator('tr', { hasText: parked.subject });
    await parkedRow.first().waitFor({ state: 'visible', timeout: 30_000 });
    const parkedRowText = await parkedRow.first().innerText();
    for (const text of ['parked', parked.from, queue, 'scanning', 'ScannerUnavailable']) {
      assert.ok(parkedRowText.includes(text), `the parked email's row shows ${text}: ${parkedRowText}`);
    }
    for (const text of ['EmailSubject', 'EmailSender', 'RecipientQueue', 'TicketId', 'EmailClass']) {
      await page.getByRole('columnheader', { name: text }).first().waitFor({ state: 'visible' });
    }

    // The saved view of the dead letters lists the parked email and not the ticketed one.
    await page.getByTestId('saved-views-button').click();
    await page.getByText('Mailgate: parked emails').first().click();
    await page.locator('tr', { hasText: parked.subject }).first().waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await page.locator('tr', { hasText: ticketed.subject }).count(), 0, 'the parked view lists only parked emails');

    // The parked email's page: its timeline says where and why it waits; the User Metadata tab has
    // the summary, and the current details with the step, the reason and the exact commands.
    await page.goto(workflowPage(parkedView!));
    await page.getByText(/parked at scanning: ScannerUnavailable/).first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.getByText('User Metadata', { exact: true }).click();
    await page.getByText('Current Details', { exact: true }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await renderedWith(page, [`“${parked.subject}” from ${parked.from} to ${queue}`]);
    await renderedWith(page, [
      'Parked at scanning',
      'Why: ScannerUnavailable',
      `scripts/mailgate emails reprocess ${parkedId}`,
      `scripts/mailgate emails discard ${parkedId} --reason "why"`,
      `POST /v1/emails/${parkedId}/reprocess`,
    ]);

    // The ticketed email's page: the acknowledgement's row names the ticket number, and so do the
    // current details.
    await page.goto(workflowPage(done));
    await page.getByText(`acknowledge ticket #${number} to ${ticketed.from}`).first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.getByText('User Metadata', { exact: true }).click();
    await renderedWith(page, [`Ticket: #${number}, id ${done.state!.ticketId}`, 'Outcome: ticket_created']);
  });
});

describe('the list columns on a cluster that does not know them yet', () => {
  test('an email starts without EmailSubject and EmailSender where they are not registered, and with the others', async () => {
    const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    const namespace = unique('mailgate-bare');
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      const client = new Client({ connection, namespace });
      const workflowId = `inbound-email/${unique('bare')}`;
      // A new namespace takes a moment to be served; the registration is idempotent.
      await eventually(
        `namespace ${namespace} with RecipientQueue and EmailStatus registered`,
        async () => {
          await connection.operatorService.addSearchAttributes({
            namespace,
            searchAttributes: { [RecipientQueueKey.name]: 2, [EmailStatusKey.name]: 2 },
          });
          return true;
        },
        30_000,
      );
      const input = {
        rawKey: 'raw/x',
        rawSha256: 'x',
        rawSize: 10,
        recipient: 'support@mailgate.local',
        queue: 'support@mailgate.local',
        idempotencyKey: workflowId,
        envelopeFrom: 'ann@customer.example',
        receivedAt: new Date().toISOString(),
      };
      const result = await eventually(
        'the email to start',
        () => startEmailWorkflow(client, { workflowId, taskQueue: unique('nobody'), input, deadlineMs: 10_000, headline: { subject: 'Printer on fire', from: 'ann@customer.example' } }),
        30_000,
      );
      assert.equal(result, 'started');
      const handle = client.workflow.getHandle(workflowId);
      const description = await handle.describe();
      assert.equal(description.typedSearchAttributes.get(RecipientQueueKey), 'support@mailgate.local');
      assert.equal(description.searchAttributes['EmailSubject'], undefined);
      assert.match((await description.staticSummary()) ?? '', /Printer on fire/);
      await handle.terminate('test over');
    } finally {
      await connection.close();
    }
  });
});
