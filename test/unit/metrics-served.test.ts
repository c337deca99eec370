/**
 * Which process serves which metric, and the zero series that let an increase()-based alert fire
 * on the first failure: each process serves only the metrics it writes (plus Node's), and priming
 * creates every known label set at 0 (per configured queue, and every value of a closed label).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { metrics, registry, SERVED_BY, servedRegistry } from '../../src/metrics';
import { startMetricsServer, type HealthReport } from '../../src/worker-metrics';

const QUEUE = 'served-test@example.test';

test('every helpdesk_ metric is assigned to the API or the worker', () => {
  const unassigned = registry
    .getMetricsAsArray()
    .map((m) => m.name)
    .filter((name) => name.startsWith('helpdesk_') && SERVED_BY[name] === undefined);
  assert.deepEqual(unassigned, [], 'add these to SERVED_BY in src/metrics.ts (and to the README table)');
  for (const name of Object.keys(SERVED_BY)) assert.ok(registry.getSingleMetric(name), `SERVED_BY names ${name}, which is not defined`);
});

test("each process serves its own metrics and Node's, never the other's", async () => {
  const api = await servedRegistry('api').metrics();
  const worker = await servedRegistry('worker').metrics();
  for (const [name, owner] of Object.entries(SERVED_BY)) {
    const help = `# HELP ${name} `;
    assert.equal(api.includes(help), owner !== 'worker', `${name} on the API`);
    assert.equal(worker.includes(help), owner !== 'api', `${name} on the worker`);
  }
  for (const text of [api, worker]) assert.match(text, /^process_resident_memory_bytes /m);
});

test('after priming, the API serves its counters at 0: per queue, per ingress answer and reason, per content coding', async () => {
  metrics.prime([QUEUE]);
  const text = await servedRegistry('api').metrics();
  for (const line of [
    `helpdesk_inbound_total{queue="${QUEUE}",status="accepted"} 0`,
    `helpdesk_inbound_total{queue="${QUEUE}",status="duplicate"} 0`,
    'helpdesk_ingress_answers_total{ingress="http",answer="accepted",reason="none"} 0',
    'helpdesk_ingress_answers_total{ingress="http",answer="refused",reason="not-an-email"} 0',
    'helpdesk_ingress_answers_total{ingress="http",answer="refused",reason="too-large"} 0',
    'helpdesk_ingress_answers_total{ingress="http",answer="retry-later",reason="object-store"} 0',
    'helpdesk_ingress_answers_total{ingress="http",answer="retry-later",reason="workflow-engine"} 0',
    'helpdesk_ingress_decoded_bytes_total{coding="gzip"} 0',
  ]) {
    assert.ok(text.includes(line), `the API serves ${line}`);
  }
  assert.ok(!text.includes('helpdesk_ticket_created_total{'), 'no worker series on the API');
});

test('after priming, the worker serves its counters at 0: tickets and failures per queue, suppression reasons, verdicts, outcomes by class', async () => {
  metrics.prime([QUEUE]);
  const text = await servedRegistry('worker').metrics();
  for (const line of [
    `helpdesk_ticket_created_total{queue="${QUEUE}"} 0`,
    `helpdesk_ticket_failed_total{queue="${QUEUE}",step="ticketing"} 0`,
    'helpdesk_suppressed_total{reason="rate_limited"} 0',
    'helpdesk_av_verdicts_total{verdict="infected"} 0',
    'helpdesk_av_verdicts_total{verdict="unscannable"} 0',
    'helpdesk_emails_total{outcome="failed",class="unknown"} 0',
    'helpdesk_emails_total{outcome="ticket_created",class="human"} 0',
    'helpdesk_parse_failure_total 0',
  ]) {
    assert.ok(text.includes(line), `the worker serves ${line}`);
  }
  assert.ok(!text.includes('helpdesk_inbound_total{'), 'no API series on the worker');
});

test('priming twice keeps counts: a counted event is not reset to 0', async () => {
  metrics.prime([QUEUE]);
  metrics.avVerdict('clean');
  const before = (await servedRegistry('worker').metrics()).match(/^helpdesk_av_verdicts_total\{verdict="clean"\} (\d+)$/m)?.[1];
  metrics.prime([QUEUE]);
  const after = (await servedRegistry('worker').metrics()).match(/^helpdesk_av_verdicts_total\{verdict="clean"\} (\d+)$/m)?.[1];
  assert.ok(Number(before) >= 1);
  assert.equal(after, before);
});

test("the worker's metrics server answers /healthz from its health check: 200 when ok, 503 with the reason otherwise", async () => {
  let report: HealthReport = { ok: false, status: 'starting' };
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: servedRegistry('worker'), variable: 'WORKER_METRICS_PORT', health: () => Promise.resolve(report) });
  try {
    const healthz = server.url.replace(/\/metrics$/, '/healthz');
    const starting = await fetch(healthz);
    assert.equal(starting.status, 503);
    assert.deepEqual(await starting.json(), { status: 'starting' });
    report = { ok: true, status: 'running', temporal: 'ok' };
    const running = await fetch(healthz);
    assert.equal(running.status, 200);
    assert.deepEqual(await running.json(), { status: 'running', temporal: 'ok' });
    assert.equal((await fetch(server.url)).status, 200);
    assert.equal((await fetch(healthz, { method: 'POST' })).status, 404);
  } finally {
    await server.close();
  }
});
