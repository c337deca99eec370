/**
 * The monitoring files (deploy/prometheus/alerts.yml, deploy/grafana/mailgate-dashboard.json) against
 * the metrics the code defines: every metric a PromQL expression names exists in src/metrics.ts's
 * registry, in the Temporal SDK's runtime metrics, or in Prometheus itself, so a renamed metric
 * breaks this test instead of silently emptying a panel or muting an alert. Also: the helpers write
 * every helpdesk_ metric, and the ingress middleware labels by route pattern.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { parse } from 'yaml';
import { measureIngress, metricsRouter } from '../../src/api/metrics';
import { metrics, registry } from '../../src/metrics';
import { withoutTaskTokenFields, withoutTaskTokens } from '../../src/worker';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');
const ALERTS_FILE = path.join(ROOT, 'deploy/prometheus/alerts.yml');
const SCRAPE_FILE = path.join(ROOT, 'deploy/prometheus/prometheus.yml');
const DASHBOARD_FILE = path.join(ROOT, 'deploy/grafana/mailgate-dashboard.json');
/** Where sdk-core names its worker metrics, in the installed SDK (checked below, not trusted). */
const SDK_METRIC_SOURCES = [
  'node_modules/@temporalio/core-bridge/sdk-core/crates/sdk-core/src/telemetry/metrics.rs',
  'node_modules/@temporalio/core-bridge/sdk-core/crates/common/src/telemetry/metrics.rs',
].map((file) => path.join(ROOT, file));

/**
 * The Temporal SDK runtime metrics the dashboard and alerts use, as the Prometheus exporter names
 * them with src/worker.ts's options: the `temporal_` prefix, no unit or `_total` suffix.
 */
const TEMPORAL_SDK_METRICS = [
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_activity_schedule_to_start_latency',
  'temporal_activity_execution_latency',
  'temporal_activity_execution_failed',
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
];
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_BUILTINS = ['up'];

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * Metric names in a PromQL expression: identifiers followed by `{`, `[`, `)`, whitespace or the end,
 * that are not function calls, keywords, label names in a grouping clause, or inside a label
 * matcher, a string or a range.
 */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w$:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*[{[)]|\s|$)(?!\s*\()/g)) {
    const name = match[1] as string;
    if (!PROMQL_KEYWORDS.has(name.toLowerCase())) names.add(name);
  }
  return [...names];
}

interface AlertRule {
  alert?: unknown;
  expr?: unknown;
  for?: unknown;
  labels?: { severity?: unknown };
  annotations?: { summary?: unknown };
}

function alertRules(): AlertRule[] {
  const doc = parse(readFileSync(ALERTS_FILE, 'utf8')) as { groups?: { name: string; rules?: AlertRule[] }[] };
  assert.ok(Array.isArray(doc.groups) && doc.groups.length > 0, 'alerts.yml has rule groups');
  return doc.groups.flatMap((group) => group.rules ?? []);
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function dashboardExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as {
    panels: Panel[];
    templating?: { list: { name: string; query?: string | { query?: string } }[] };
  };
  const out: { where: string; expr: string }[] = [];
  const visit = (panels: Panel[]): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) if (target.expr) out.push({ where: `panel "${panel.title}"`, expr: target.expr });
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
    const metric = query?.match(/^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/)?.[1];
    if (metric) out.push({ where: `variable $${variable.name}`, expr: metric });
  }
  return out;
}

async function definedMetrics(): Promise<Map<string, string>> {
  return new Map((await registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
}

/** Why `name` is a real metric, or undefined when it is not one. */
function knownAs(name: string, defined: Map<string, string>): string | undefined {
  if (defined.has(name)) return 'src/metrics.ts';
  if (TEMPORAL_SDK_METRICS.includes(name)) return 'Temporal SDK';
  if (PROMETHEUS_BUILTINS.includes(name)) return 'Prometheus';
  const base = name.replace(/_(bucket|sum|count)$/, '');
  if (base !== name && (defined.get(base) === 'histogram' || TEMPORAL_SDK_METRICS.includes(base))) return 'histogram series';
  return undefined;
}

test('the PromQL reader finds metric names and skips functions, keywords, labels and variables', () => {
  assert.deepEqual(
    metricNames('histogram_quantile(0.99, sum by (le, route) (rate(a_seconds_bucket{route!="x y"}[$__rate_interval]))) > 0.05'),
    ['a_seconds_bucket'],
  );
  assert.deepEqual(metricNames('(sum(increase(b_total[1h])) == 0 or absent(b_total)) and on() (hour() >= 8 < 18)'), ['b_total']);
  assert.deepEqual(metricNames('-sum by (queue) (rate(c_total{q=~"$queue"}[5m])) / up'), ['c_total', 'up']);
});

test('every metric named in the alert rules exists', async () => {
  const defined = await definedMetrics();
  const rules = alertRules();
  assert.ok(rules.length >= 6, 'the SLO rules are all there');
  for (const rule of rules) {
    const names = metricNames(String(rule.expr));
    assert.ok(names.length > 0, `alert ${String(rule.alert)} names a metric`);
    for (const name of names) assert.ok(knownAs(name, defined), `alert ${String(rule.alert)} uses ${name}, which no one exports`);
  }
});

test('every alert rule has a name, expression, duration, severity and summary', () => {
  const names = new Set<string>();
  for (const rule of alertRules()) {
    assert.match(String(rule.alert), /^Mailgate[A-Z]\w+$/);
    assert.ok(!names.has(String(rule.alert)), `alert ${String(rule.alert)} is defined once`);
    names.add(String(rule.alert));
    assert.equal(typeof rule.expr, 'string', `${String(rule.alert)}: expr`);
    assert.match(String(rule.for), /^\d+[smhd]$/, `${String(rule.alert)}: for`);
    assert.ok(['warning', 'critical'].includes(String(rule.labels?.severity)), `${String(rule.alert)}: labels.severity`);
    assert.ok(typeof rule.annotations?.summary === 'string' && rule.annotations.summary.length > 0, `${String(rule.alert)}: annotations.summary`);
  }
  for (const slo of ['MailgateWebhookLatencyHigh', 'MailgateTimeToTicketSlow', 'MailgateTicketFailures', 'MailgateEmailsParked', 'MailgateIngress5xx', 'MailgateNoInbound']) {
    assert.ok(names.has(slo), `alert ${slo} exists`);
  }
});

test('every metric named on the dashboard exists', async () => {
  const defined = await definedMetrics();
  const expressions = dashboardExpressions();
  assert.ok(expressions.length >= 20, 'the dashboard has its panels');
  for (const { where, expr } of expressions) {
    const names = metricNames(expr);
    assert.ok(names.length > 0, `${where} names a metric: ${expr}`);
    for (const name of names) assert.ok(knownAs(name, defined), `${where} uses ${name}, which no one exports`);
  }
});

test('the Temporal SDK metrics the dashboard relies on are named in the installed SDK', () => {
  const sources = SDK_METRIC_SOURCES.map((file) => readFileSync(file, 'utf8')).join('\n');
  for (const name of TEMPORAL_SDK_METRICS) {
    const bare = name.replace(/^temporal_/, '');
    assert.ok(sources.includes(`"${bare}"`), `sdk-core names ${bare}`);
  }
});

test('Prometheus scrapes the API, the worker and the worker\'s Temporal SDK exporter', () => {
  const doc = parse(readFileSync(SCRAPE_FILE, 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  assert.deepEqual(doc.rule_files, ['alerts.yml']);
  const targets = doc.scrape_configs.flatMap((job) => job.static_configs.flatMap((s) => s.targets.map((t) => `${t}${job.metrics_path ?? '/metrics'}`)));
  assert.deepEqual(targets.sort(), ['api:3000/metrics', 'worker:9464/metrics', 'worker:9465/metrics']);
});

test('each helper writes its helpdesk_ metric into the exposition text', async () => {
  metrics.prime(['support@example.test']);
  metrics.inbound('support@example.test', 'accepted');
  metrics.webhookDuration('/v1/inbound/helper', 202, 0.004);
  metrics.ticketCreated('support@example.test', 0.6);
  metrics.ticketFailed('support@example.test', 'ticketing');
  metrics.parseFailure();
  metrics.suppressed('own_loop');
  metrics.setParked(2);
  metrics.attachmentBytes(12_345);
  metrics.avVerdict('infected');
  metrics.emailOutcome('ticket_created', 'human');
  metrics.emailOutcome('failed', null);
  const text = await registry.metrics();
  for (const line of [
    'helpdesk_inbound_total{queue="support@example.test",status="accepted"} 1',
    'helpdesk_inbound_total{queue="support@example.test",status="duplicate"} 0',
    'helpdesk_webhook_duration_seconds_bucket{le="0.005",route="/v1/inbound/helper",status_class="2xx"} 1',
    'helpdesk_ticket_created_total{queue="support@example.test"} 1',
    'helpdesk_ticket_failed_total{queue="support@example.test",step="ticketing"} 1',
    'helpdesk_parse_failure_total 1',
    'helpdesk_time_to_ticket_seconds_bucket{le="0.75"} 1',
    'helpdesk_suppressed_total{reason="own_loop"} 1',
    'helpdesk_suppressed_total{reason="rate_limited"} 0',
    'helpdesk_parked 2',
    'helpdesk_attachment_bytes_bucket{le="16384"} 1',
    'helpdesk_av_verdicts_total{verdict="infected"} 1',
    'helpdesk_emails_total{outcome="ticket_created",class="human"} 1',
    'helpdesk_emails_total{outcome="failed",class="unknown"} 1',
  ]) {
    assert.ok(text.includes(line), `exposition has: ${line}`);
  }
  assert.match(text, /^process_cpu_user_seconds_total /m, 'Node process metrics, unprefixed');
  assert.match(text, /^nodejs_eventloop_lag_p99_seconds /m);
});

test('a negative or unparseable time to ticket counts the ticket but is not observed', async () => {
  const observed = async (): Promise<string | undefined> => (await registry.metrics()).match(/^helpdesk_time_to_ticket_seconds_count (\S+)$/m)?.[1];
  const created = async (): Promise<string | undefined> =>
    (await registry.metrics()).match(/^helpdesk_ticket_created_total\{queue="support@example.test"\} (\S+)$/m)?.[1];
  const [observedBefore, createdBefore] = [await observed(), Number(await created())];
  metrics.ticketCreated('support@example.test', -3);
  metrics.ticketCreated('support@example.test', Number.NaN);
  assert.equal(await observed(), observedBefore);
  assert.equal(Number(await created()), createdBefore + 2);
});

test('queues past the label cap share the label "other", so random recipients cannot make series', async () => {
  for (let i = 0; i < 150; i += 1) metrics.inbound(`random-${i}@example.test`, 'accepted');
  const series = (await registry.getSingleMetric('helpdesk_inbound_total')?.get())?.values ?? [];
  const queues = new Set(series.map((v) => String(v.labels.queue)));
  assert.ok(queues.size <= 101, `at most the cap plus "other" (${queues.size})`);
  assert.ok(queues.has('other'));
});

test('the ingress is timed by route pattern, and /metrics serves the registry as text', async () => {
  const app = express();
  app.use(metricsRouter());
  app.use(measureIngress());
  app.post('/v1/inbound/:kind', (_req, res) => {
    res.status(202).json({});
  });
  app.post('/v1/other', (_req, res) => {
    res.status(204).end();
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    assert.equal((await fetch(`${base}/v1/inbound/mime`, { method: 'POST' })).status, 202);
    assert.equal((await fetch(`${base}/v1/inbound/nope/deeper`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${base}/v1/other`, { method: 'POST' })).status, 204);
    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.ok(text.includes('helpdesk_webhook_duration_seconds_count{route="/v1/inbound/:kind",status_class="2xx"} 1'), 'labelled by pattern');
    assert.ok(text.includes('helpdesk_webhook_duration_seconds_count{route="unmatched",status_class="4xx"} 1'), 'unmatched paths share one label');
    // The real route's series may exist at 0 (primed); the request here must not have counted on it.
    assert.ok(!/route="\/v1\/inbound\/mime",status_class="2xx"\} [1-9]/.test(text) && !text.includes('/v1/other'), 'no raw URL, and only the ingress is timed');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('activity task tokens never reach the log: fields in either spelling are dropped, tokens in text redacted', () => {
  const token = 'CiQwMWEyMWI4Yi1iMWRkLTc0NzctYTk3YS1kODE5MGJlYjEzMzISTmluYm91bmQtZW1haWwv';
  assert.deepEqual(withoutTaskTokenFields({ taskToken: token, task_token: token, workflowId: 'inbound-email/x', attempt: 2 }), {
    workflowId: 'inbound-email/x',
    attempt: 2,
  });
  assert.equal(withoutTaskTokens(`Activity heartbeat failed task_token=${token} error=gone`), 'Activity heartbeat failed task_token=[redacted] error=gone');
  assert.equal(withoutTaskTokens(`{"taskToken":"${token}"}`), '{"taskToken":"[redacted]"}');
  assert.deepEqual(withoutTaskTokenFields({ detail: `TaskToken: ${token}` }), { detail: 'TaskToken: [redacted]' });
  assert.equal(withoutTaskTokens('task queue mailgate, 3 tasks'), 'task queue mailgate, 3 tasks');
});
