/**
 * Metrics that alert on the first failure: a fresh API and a fresh worker, before any email, already
 * serve their labelled counters at 0 for every configured queue and every known label value, so an
 * increase()-based alert fires on the first event; and each serves only its own metrics.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startApp, type RunningApp } from '../helpers/app';
import { config } from '../helpers/stack';

describe('the /metrics of a fresh API and worker', () => {
  let app: RunningApp;
  let workerMetrics: string;
  before(async () => {
    const port = await freePort();
    app = await startApp({ env: { WORKER_METRICS_PORT: String(port) } });
    workerMetrics = `http://127.0.0.1:${port}/metrics`;
  });
  after(async () => {
    await app?.stop();
  });

  const scrape = async (url: string): Promise<string> => {
    const response = await fetch(url);
    assert.equal(response.status, 200, url);
    return response.text();
  };
  const queues = config.rules.queues.map((q) => q.address);

  test('the API serves its counters at 0: inbound per queue, every ingress answer and reason, decoded bytes per coding', async () => {
    assert.ok(queues.length > 0, 'the rules file lists queues');
    const text = await scrape(`${app.url}/metrics`);
    const lines = [
      ...queues.flatMap((q) => [`helpdesk_inbound_total{queue="${q}",status="accepted"} 0`, `helpdesk_inbound_total{queue="${q}",status="duplicate"} 0`]),
      'helpdesk_ingress_answers_total{ingress="http",answer="accepted",reason="none"} 0',
      'helpdesk_ingress_answers_total{ingress="http",answer="refused",reason="no-recipient"} 0',
      'helpdesk_ingress_answers_total{ingress="http",answer="retry-later",reason="object-store"} 0',
      'helpdesk_ingress_answers_total{ingress="http",answer="retry-later",reason="workflow-engine"} 0',
      'helpdesk_ingress_decoded_bytes_total{coding="br"} 0',
      'helpdesk_webhook_duration_seconds_count{route="/v1/inbound/mime",status_class="5xx"} 0',
      'helpdesk_webhook_duration_seconds_count{route="/v1/inbound/mime",status_class="4xx"} 0',
    ];
    for (const line of lines) assert.ok(text.includes(line), `the API serves ${line}`);
    // A real request lands on the primed series, not a new one: the route label is the same.
    const unsigned = await fetch(`${app.url}/v1/inbound/mime`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: 'Subject: x\r\n\r\nx' });
    assert.equal(unsigned.status, 401);
    const after = await scrape(`${app.url}/metrics`);
    assert.ok(after.includes('helpdesk_webhook_duration_seconds_count{route="/v1/inbound/mime",status_class="4xx"} 1'), 'the 401 counted on the primed series');
    for (const workerMetric of ['helpdesk_ticket_created_total', 'helpdesk_av_verdicts_total', 'helpdesk_emails_total']) {
      assert.ok(!text.includes(`# HELP ${workerMetric} `), `the API does not serve the worker's ${workerMetric}`);
    }
  });

  test('the worker serves its counters at 0: tickets and failures per queue, suppression reasons, verdicts, outcomes by class', async () => {
    const text = await scrape(workerMetrics);
    const lines = [
      ...queues.flatMap((q) => [`helpdesk_ticket_created_total{queue="${q}"} 0`, `helpdesk_ticket_failed_total{queue="${q}",step="ticketing"} 0`]),
      'helpdesk_suppressed_total{reason="own_loop"} 0',
      'helpdesk_suppressed_total{reason="rate_limited"} 0',
      'helpdesk_av_verdicts_total{verdict="infected"} 0',
      'helpdesk_emails_total{outcome="failed",class="unknown"} 0',
      'helpdesk_emails_total{outcome="suppressed",class="auto_reply"} 0',
      'helpdesk_parse_failure_total 0',
    ];
    for (const line of lines) assert.ok(text.includes(line), `the worker serves ${line}`);
    for (const apiMetric of ['helpdesk_inbound_total', 'helpdesk_ingress_answers_total', 'helpdesk_webhook_duration_seconds', 'helpdesk_parked']) {
      assert.ok(!text.includes(`# HELP ${apiMetric} `), `the worker does not serve the API's ${apiMetric}`);
    }
  });

  test("the worker's /healthz says it runs and reaches Temporal", async () => {
    const response = await fetch(workerMetrics.replace(/\/metrics$/, '/healthz'));
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string; temporal: string; taskQueue: string };
    assert.deepEqual(body, { status: 'running', taskQueue: app.taskQueue, temporal: 'ok' });
  });
});
