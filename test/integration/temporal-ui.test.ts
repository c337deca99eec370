/**
 * The Temporal Web UI as an operator's worklist, checked in a real browser: Debian's chromium
 * (installed by scripts/setup) driven by playwright-core, against the UI the stack's Temporal dev
 * server serves. One email becomes a ticket and one parks (clamd stopped, as in parking.test.ts);
 * the workflow list shows their subjects, senders and queue; the parked workflow's page says the
 * step, the reason and the reprocess command; the ticketed one's page its ticket number.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { defaultPayloadConverter } from '@temporalio/common';
import { settled, withTemporal, type EmailView } from '../helpers/pipeline';
import { config, eventually, ROOT, stack, unique } from '../helpers/stack';

const CHROMIUM = '/usr/bin/chromium';

function chromiumInstalled(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

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

describe('the Temporal UI as a worklist', () => {
  let app: RunningApp;
  let browser: Browser;
  let page: Page;
  const uiPort = process.env.TEMPORAL_UI_PORT;
  const namespace = config.temporal.namespace;
  const ui = (route: string): string => `http://127.0.0.1:${uiPort}/namespaces/${encodeURIComponent(namespace)}${route}`;
  const workflowPage = (view: EmailView): string => ui(`/workflows/${encodeURIComponent(view.workflowId)}`);

  before(async () => {
    assert.ok(
      chromiumInstalled(),
      `Debian's chromium is missing (${CHROMIUM}): scripts/setup installs it as root (apt-get install chromium); this test never downloads a browser`,
    );
    assert.ok(uiPort, 'TEMPORAL_UI_PORT is not set: run the test through scripts/with-env with the test profile');
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json') } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  });
  after(async () => {
    await stack('up', 'clamd');
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

    // The list, filtered to this test's task queue as an operator filters by queue or status.
    await page.goto(ui(`/workflows?query=${encodeURIComponent(`TaskQueue="${app.taskQueue}"`)}`));
    for (const text of [ticketed.subject, ticketed.from, parked.subject, parked.from, queue]) {
      await page.getByText(text).first().waitFor({ state: 'visible', timeout: 30_000 });
    }

    // The parked email's page: the step, the reason and the exact command, in the current details.
    await page.goto(workflowPage(parkedView!));
    for (const text of ['Parked at scanning', 'ScannerUnavailable', `mailgate emails reprocess ${parkedView!.workflowId}`]) {
      await page.getByText(text).first().waitFor({ state: 'visible', timeout: 30_000 });
    }

    // The ticketed email's page: its ticket number.
    await page.goto(workflowPage(done));
    await page.getByText(`#${number}`).first().waitFor({ state: 'visible', timeout: 30_000 });

    const discarded = await apiFetch(`${app.url}/v1/emails/${parkedView!.workflowId}/discard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'left over from the UI test' }),
    });
    assert.equal(discarded.status, 202);
  });
});
