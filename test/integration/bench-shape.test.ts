/**
 * The benchmark's yardstick stays Mailgate's shape: a small email and an email with an attachment
 * run through the real pipeline record exactly the activities of bench/bare-shape.ts, in order, and
 * the bare workflow records the same. What Mailgate adds to the engine's work is held down here too:
 * a small email costs the object store two requests (the ingress's write, the parse step's read) and
 * its run writes its search attributes twice (before the acknowledgement waits, and at the end),
 * with the values the Temporal UI lists by, and asks for no patch (the ingress flags the lean path).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ATTACHMENT_EMAIL_SHAPE, SMALL_EMAIL_SHAPE, shapeOfHistory } from '../../bench/bare-shape';
import { freePort, startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { settled, withInProcessWorker, withTemporal } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

async function objectStoreRequests(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await (await fetch(url)).text();
    for (const match of text.matchAll(/^mailgate_object_store_requests_total\{[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  }
  return total;
}

describe('the bare shape the benchmark runs beside Mailgate', () => {
  let app: RunningApp;
  let metricsUrls: string[];
  before(async () => {
    const workerMetrics = await freePort();
    app = await startApp({ env: { WORKER_METRICS_PORT: String(workerMetrics), TEMPORAL_METRICS_PORT: String(await freePort()) } });
    metricsUrls = [`http://127.0.0.1:${workerMetrics}/metrics`, `${app.url}/metrics`];
  });
  after(async () => {
    await app?.stop();
  });

  async function run(attachment: boolean) {
    const customer = `${unique('shape')}@customer.example`;
    const raw = await compose({
      from: customer,
      to: 'support@mailgate.local',
      subject: attachment ? 'The report is attached' : 'The export stopped',
      text: 'Hello,\n\nthe export stopped on Monday.\n\nAnn',
      attachments: attachment ? [{ filename: 'report.pdf', content: Buffer.alloc(20_000, 7) }] : [],
    });
    const before = await objectStoreRequests(metricsUrls);
    const accepted = await postMime(app.url, raw);
    assert.equal(accepted.status, 202);
    const workflowId = accepted.body.emails![0]!.workflowId;
    const view = await settled(app.url, workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');
    const requests = (await objectStoreRequests(metricsUrls)) - before;
    const history = await withTemporal((client) => client.workflow.getHandle(workflowId).fetchHistory());
    return { view, requests, events: history.events ?? [] };
  }

  test('a small email records the small shape, costs the object store 2 requests, writes its search attributes twice and asks for no patch', async () => {
    const { view, requests, events } = await run(false);
    assert.deepEqual(shapeOfHistory(events), SMALL_EMAIL_SHAPE);
    assert.equal(requests, 2, 'the raw message written by the ingress and read once by the parse step');
    const upserts = events.filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
    assert.equal(upserts.length, 2, 'one write before the acknowledgement waits, one at the end');
    // The ingress flags the lean path in the input: no patch marker, no TemporalChangeVersion write.
    assert.equal(events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length, 0);
    assert.ok(upserts.every((e) => !('TemporalChangeVersion' in (e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}))));
    assert.equal(view.searchAttributes.EmailStatus, 'ticket_created');
    assert.equal(view.searchAttributes.EmailClass, 'human');
    assert.equal(view.searchAttributes.RecipientQueue, 'support@mailgate.local');
    assert.equal(view.searchAttributes.TicketId, view.state?.ticketId);
  });

  test('an email with an attachment records the attachment shape', async () => {
    const { events } = await run(true);
    assert.deepEqual(shapeOfHistory(events), ATTACHMENT_EMAIL_SHAPE);
  });

  test('the bare workflow records the shape it is given', async () => {
    await withInProcessWorker(
      { workflowsPath: require.resolve('../../bench/bare-workflows'), activities: { nothing: async () => undefined }, prefix: 'bare-shape' },
      async (client, taskQueue) => {
        for (const shape of [SMALL_EMAIL_SHAPE, ATTACHMENT_EMAIL_SHAPE]) {
          const handle = await client.workflow.start('bareEmailShape', { taskQueue, workflowId: unique('bare'), args: [shape] });
          assert.equal(await handle.result(), shape.length);
          assert.deepEqual(shapeOfHistory((await handle.fetchHistory()).events ?? []), shape);
        }
      },
    );
  });
});
