/**
 * Mailgate's Prometheus metrics: the metric definitions, typed helpers for the call sites, and what
 * each process serves. Every metric is defined in `registry`; the API and the worker each serve
 * `servedRegistry(process)`, which holds the metrics that process writes (SERVED_BY) and Node's
 * process metrics, so no process exports another's counters as a constant 0.
 *
 * Label values are bounded on purpose. A queue label comes from the rules file, but with no queues
 * configured the recipient itself is the queue, and anyone can address random recipients at an
 * inbound domain: every new label value is a new time series, so queues past MAX_QUEUE_LABELS share
 * the label "other". Every other label takes a value from a closed union.
 *
 * Never import this from workflow code (prom-client is not deterministic and holds process state):
 * call the helpers from activities or the ingress. An activity that is retried after its metric call
 * counts twice; call them after the activity's last side effect.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EmailClass, ScanStatus } from './adapters/ticket-store/types';
import { CONTENT_CODINGS, type ContentCoding } from './ingress/decode-body';
import type { AcceptAnswer, IngressKind, Refusal, RetryCause } from './ingress/types';
import type { EmailOutcomeRecord } from './domain/vocabulary';
import type { EmailOutcome, EmailStep } from './workflows/types';

export const registry = new Registry();

// Node's process metrics (CPU, memory, event-loop lag, GC) under their standard, prefix-free names.
collectDefaultMetrics({ register: registry });

/** Distinct queue label values before the rest are counted as "other". */
export const MAX_QUEUE_LABELS = 100;
export const OTHER_QUEUE = 'other';

export type InboundStatus = 'accepted' | 'duplicate';
/** Why an email made no ticket: short stable slugs, one per rule (add one here to use it). */
export const SUPPRESSION_REASONS = ['own_loop', 'automated_unknown', 'rate_limited'] as const;
export type SuppressionReason = (typeof SUPPRESSION_REASONS)[number];
export type AvVerdict = ScanStatus;
export const AV_VERDICTS: readonly AvVerdict[] = ['clean', 'infected', 'skipped', 'unscannable'];
/** A finished email: every outcome except the transient "pending". */
export type FinalOutcome = Exclude<EmailOutcome, 'pending'>;

/**
 * The values each label can take, listed at run time so the series exist at 0 from the start
 * (`metrics.prime`). Written as the keys of a record over the type, so a new member of the union
 * fails the build here until it is listed.
 */
function members<T extends string>(record: Record<T, true>): readonly T[] {
  return Object.keys(record) as T[];
}
const REFUSALS = members<Refusal>({ 'too-large': true, 'not-an-email': true, 'no-recipient': true, 'malformed-envelope': true });
const RETRY_CAUSES = members<RetryCause>({ 'object-store': true, 'workflow-engine': true, source: true });
/** What the ledger records, so what helpdesk_emails_total counts (record-email.ts). */
const RECORDED_OUTCOMES = members<EmailOutcomeRecord>({
  ticket_created: true,
  comment_added: true,
  note_added: true,
  suppressed: true,
  rejected: true,
  failed: true,
});
const EMAIL_CLASSES = [...members<EmailClass>({ human: true, auto_reply: true, auto_generated: true, bounce: true, own_loop: true }), 'unknown'] as const;
/** The steps helpdesk_ticket_failed_total is counted at (add one here to count another). */
export const TICKET_FAILED_STEPS = ['ticketing'] as const satisfies readonly EmailStep[];
export type TicketFailedStep = (typeof TICKET_FAILED_STEPS)[number];

export type MetricsProcess = 'api' | 'worker';

/**
 * The ingress routes whose duration series exist from the start (src/api/inbound.ts): the 5xx
 * alert takes a rate of helpdesk_webhook_duration_seconds_count{status_class="5xx"}, which misses a
 * series that first appears at 1.
 */
export const INGRESS_ROUTES = ['/v1/inbound/mime'] as const;
const STATUS_CLASSES = ['2xx', '4xx', '5xx'] as const;

/** Rules file reloads (SIGHUP, src/rules-reload.ts); both series exist from the start. */
export const rulesReloadsTotal = new Counter({
  name: 'helpdesk_rules_reloads_total',
  help: 'Rules file reloads (SIGHUP), by result: ok (the new rules are in force) or error (the old rules stay)',
  labelNames: ['result'] as const,
  registers: [registry],
});
rulesReloadsTotal.inc({ result: 'ok' }, 0);
rulesReloadsTotal.inc({ result: 'error' }, 0);

const inboundTotal = new Counter({
  name: 'helpdesk_inbound_total',
  help: 'Emails accepted by the ingress (one per recipient), by queue and whether the workflow was new or a duplicate delivery',
  labelNames: ['queue', 'status'] as const,
  registers: [registry],
});

const ingressAnswersTotal = new Counter({
  name: 'helpdesk_ingress_answers_total',
  help: 'Answers of the accept path, one per delivered email, by ingress kind, answer and why (the refusal or the unavailable service; "none" for accepted and duplicate)',
  labelNames: ['ingress', 'answer', 'reason'] as const,
  registers: [registry],
});

// 1 ms to 5 s, dense around the 50 ms p99 objective so the alert's quantile is not a bucket guess.
const webhookDuration = new Histogram({
  name: 'helpdesk_webhook_duration_seconds',
  help: 'Ingress request duration, by route pattern and status class',
  labelNames: ['route', 'status_class'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

const ticketCreatedTotal = new Counter({
  name: 'helpdesk_ticket_created_total',
  help: 'Tickets created, by queue',
  labelNames: ['queue'] as const,
  registers: [registry],
});

const ticketFailedTotal = new Counter({
  name: 'helpdesk_ticket_failed_total',
  help: 'Emails that ended failed or parked without a ticket, by queue and the step that failed',
  labelNames: ['queue', 'step'] as const,
  registers: [registry],
});

const parseFailureTotal = new Counter({
  name: 'helpdesk_parse_failure_total',
  help: 'Raw messages the parser could not turn into an email document',
  registers: [registry],
});

// The objective is p95 under 1 s; a reply waiting for its parent may take minutes (120 s default)
// and a parked email hours, so the tail buckets run to an hour.
const timeToTicket = new Histogram({
  name: 'helpdesk_time_to_ticket_seconds',
  help: 'Time from ingress receipt (receivedAt) to the ticket being created',
  buckets: [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60, 150, 300, 900, 3600],
  registers: [registry],
});

const suppressedTotal = new Counter({
  name: 'helpdesk_suppressed_total',
  help: 'Emails recorded without a ticket on purpose, by reason',
  labelNames: ['reason'] as const,
  registers: [registry],
});

const parked = new Gauge({
  name: 'helpdesk_parked',
  help: 'Email workflows parked for an operator (set by whoever counts them)',
  registers: [registry],
});

const KIB = 1024;
const MIB = 1024 * KIB;
// Up to twice the default attachment limit (25 MiB), so a raised limit still lands in a bucket.
const attachmentBytes = new Histogram({
  name: 'helpdesk_attachment_bytes',
  help: 'Size of each attachment seen in an inbound email',
  buckets: [KIB, 16 * KIB, 64 * KIB, 256 * KIB, MIB, 4 * MIB, 10 * MIB, 25 * MIB, 50 * MIB],
  registers: [registry],
});

const avVerdictsTotal = new Counter({
  name: 'helpdesk_av_verdicts_total',
  help: 'Attachment virus-scan verdicts',
  labelNames: ['verdict'] as const,
  registers: [registry],
});

const emailsTotal = new Counter({
  name: 'helpdesk_emails_total',
  help: 'Finished emails, by outcome and class ("unknown" when it ended before classification)',
  labelNames: ['outcome', 'class'] as const,
  registers: [registry],
});

// Per helpdesk connector (src/adapters/helpdesks/http.ts reports through connectorMetrics). The
// connector label is a configured name (HELPDESK_CONNECTORS), the operation a fixed name in each
// connector, the outcome "ok" or an ErrorType: all bounded.
const connectorRequestsTotal = new Counter({
  name: 'helpdesk_connector_requests_total',
  help: 'HTTP requests to a helpdesk connector, by connector, operation and outcome ("ok" or the error type)',
  labelNames: ['connector', 'operation', 'outcome'] as const,
  registers: [registry],
});

const connectorErrorsTotal = new Counter({
  name: 'helpdesk_connector_errors_total',
  help: 'Failed helpdesk connector requests, by connector and error class',
  labelNames: ['connector', 'type'] as const,
  registers: [registry],
});

const connectorRequestDuration = new Histogram({
  name: 'helpdesk_connector_request_duration_seconds',
  help: 'Helpdesk connector request latency, by connector',
  labelNames: ['connector'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

const connectorRateLimitWaitsTotal = new Counter({
  name: 'helpdesk_connector_rate_limit_waits_total',
  help: 'Times a helpdesk asked Mailgate to wait (429, or 503 with Retry-After), by connector',
  labelNames: ['connector'] as const,
  registers: [registry],
});

const connectorRateLimitWaitSeconds = new Counter({
  name: 'helpdesk_connector_rate_limit_wait_seconds_total',
  help: 'Seconds of Retry-After a helpdesk asked for, by connector (each becomes the next Temporal retry delay)',
  labelNames: ['connector'] as const,
  registers: [registry],
});

const ingressDecodedBytesTotal = new Counter({
  name: 'helpdesk_ingress_decoded_bytes_total',
  help: 'Bytes produced by undoing an ingress body\'s Content-Encoding (only ever after its signature held), by coding',
  labelNames: ['coding'] as const,
  registers: [registry],
});

const queueLabels = new Set<string>();

function queueLabel(queue: string): string {
  if (queueLabels.has(queue)) return queue;
  if (queueLabels.size >= MAX_QUEUE_LABELS) return OTHER_QUEUE;
  queueLabels.add(queue);
  return queue;
}

function statusClass(status: number): string {
  return status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
}

/**
 * Which process writes each of Mailgate's metrics, and so serves it (README "Metrics"); `both` for
 * one that both write. test/unit/metrics-served.test.ts refuses a helpdesk_ metric missing here.
 */
export const SERVED_BY: Readonly<Record<string, MetricsProcess | 'both'>> = Object.freeze({
  helpdesk_inbound_total: 'api',
  helpdesk_ingress_answers_total: 'api',
  helpdesk_webhook_duration_seconds: 'api',
  helpdesk_ingress_decoded_bytes_total: 'api',
  helpdesk_parked: 'api',
  helpdesk_ticket_created_total: 'worker',
  helpdesk_ticket_failed_total: 'worker',
  helpdesk_parse_failure_total: 'worker',
  helpdesk_time_to_ticket_seconds: 'worker',
  helpdesk_suppressed_total: 'worker',
  helpdesk_attachment_bytes: 'worker',
  helpdesk_av_verdicts_total: 'worker',
  helpdesk_emails_total: 'worker',
  helpdesk_rules_reloads_total: 'both',
  helpdesk_connector_requests_total: 'worker',
  helpdesk_connector_errors_total: 'worker',
  helpdesk_connector_request_duration_seconds: 'worker',
  helpdesk_connector_rate_limit_waits_total: 'worker',
  helpdesk_connector_rate_limit_wait_seconds_total: 'worker',
});

/** A registry with the metrics `process` writes (SERVED_BY: its own and `both`) and Node's process metrics. */
export function servedRegistry(process: MetricsProcess): Registry {
  const served = new Registry();
  for (const { name } of registry.getMetricsAsArray()) {
    const owner = SERVED_BY[name];
    const metric = registry.getSingleMetric(name);
    if (metric !== undefined && (owner === undefined || owner === 'both' || owner === process)) served.registerMetric(metric);
  }
  return served;
}

export const metrics = {
  /**
   * Creates every known series at 0, so the first failure is a visible increase (rate() and
   * increase() see nothing on a series that starts at 1): per configured queue, and every value of
   * the closed label sets. Each process serves only its own metrics (servedRegistry), so the other
   * process's series primed here are never exported. Safe to call more than once (a rules reload).
   */
  prime(queues: readonly string[], ingressKinds: readonly IngressKind[] = ['http']): void {
    const labels = queues.map(queueLabel);
    for (const queue of labels) {
      for (const status of ['accepted', 'duplicate'] as const) inboundTotal.labels(queue, status).inc(0);
      ticketCreatedTotal.labels(queue).inc(0);
      for (const step of TICKET_FAILED_STEPS) ticketFailedTotal.labels(queue, step).inc(0);
    }
    for (const ingress of ingressKinds) {
      ingressAnswersTotal.labels(ingress, 'accepted', 'none').inc(0);
      ingressAnswersTotal.labels(ingress, 'duplicate', 'none').inc(0);
      for (const refusal of REFUSALS) ingressAnswersTotal.labels(ingress, 'refused', refusal).inc(0);
      for (const cause of RETRY_CAUSES) ingressAnswersTotal.labels(ingress, 'retry-later', cause).inc(0);
    }
    for (const coding of CONTENT_CODINGS) ingressDecodedBytesTotal.labels(coding).inc(0);
    for (const route of INGRESS_ROUTES) for (const statusClass of STATUS_CLASSES) webhookDuration.zero({ route, status_class: statusClass });
    for (const reason of SUPPRESSION_REASONS) suppressedTotal.labels(reason).inc(0);
    for (const verdict of AV_VERDICTS) avVerdictsTotal.labels(verdict).inc(0);
    for (const outcome of RECORDED_OUTCOMES) for (const emailClass of EMAIL_CLASSES) emailsTotal.labels(outcome, emailClass).inc(0);
  },
  inbound(queue: string, status: InboundStatus): void {
    inboundTotal.labels(queueLabel(queue), status).inc();
  },
  /** One answer of acceptEmail; every label comes from a closed union (see src/ingress/types.ts). */
  ingressAnswer(ingress: IngressKind, answer: AcceptAnswer['answer'], reason: Refusal | RetryCause | 'none'): void {
    ingressAnswersTotal.labels(ingress, answer, reason).inc();
  },
  /** One ingress request; `route` is the route pattern (never the raw URL), `status` the HTTP status. */
  webhookDuration(route: string, status: number, seconds: number): void {
    webhookDuration.labels(route, statusClass(status)).observe(seconds);
  },
  ticketCreated(queue: string, secondsSinceReceived: number): void {
    ticketCreatedTotal.labels(queueLabel(queue)).inc();
    // A clock step between the API and worker hosts can make this negative: not a measurement.
    if (Number.isFinite(secondsSinceReceived) && secondsSinceReceived >= 0) timeToTicket.observe(secondsSinceReceived);
  },
  ticketFailed(queue: string, step: TicketFailedStep): void {
    ticketFailedTotal.labels(queueLabel(queue), step).inc();
  },
  /** Each chunk a Content-Encoding decoder produces, as it is produced (bounded labels: ContentCoding). */
  ingressDecoded(bytes: number, coding: ContentCoding): void {
    ingressDecodedBytesTotal.labels(coding).inc(bytes);
  },
  parseFailure(): void {
    parseFailureTotal.inc();
  },
  suppressed(reason: SuppressionReason): void {
    suppressedTotal.labels(reason).inc();
  },
  setParked(count: number): void {
    if (Number.isFinite(count) && count >= 0) parked.set(count);
  },
  attachmentBytes(bytes: number): void {
    if (Number.isFinite(bytes) && bytes >= 0) attachmentBytes.observe(bytes);
  },
  avVerdict(verdict: AvVerdict): void {
    avVerdictsTotal.labels(verdict).inc();
  },
  emailOutcome(outcome: FinalOutcome, emailClass: EmailClass | null): void {
    emailsTotal.labels(outcome, emailClass ?? 'unknown').inc();
  },
};

/**
 * The Prometheus side of the helpdesk HTTP client's metrics hook (structurally HttpMetricsHook from
 * src/adapters/helpdesks/http.ts; typed here without importing it, so metrics stays a leaf).
 */
export const connectorMetrics = {
  /** Creates a connector's series at 0, so its first error is a visible increase. */
  prime(connector: string): void {
    connectorRateLimitWaitsTotal.labels(connector).inc(0);
    connectorRateLimitWaitSeconds.labels(connector).inc(0);
    for (const type of ['RemoteUnavailable', 'RemoteRateLimited', 'RemoteRejected', 'RemoteCredentials']) connectorErrorsTotal.labels(connector, type).inc(0);
  },
  request(record: { connector: string; operation: string; errorType?: string; seconds: number }): void {
    connectorRequestsTotal.labels(record.connector, record.operation, record.errorType ?? 'ok').inc();
    if (record.errorType !== undefined) connectorErrorsTotal.labels(record.connector, record.errorType).inc();
    if (Number.isFinite(record.seconds) && record.seconds >= 0) connectorRequestDuration.labels(record.connector).observe(record.seconds);
  },
  rateLimited(connector: string, retryAfterMs: number | undefined): void {
    connectorRateLimitWaitsTotal.labels(connector).inc();
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs > 0) connectorRateLimitWaitSeconds.labels(connector).inc(retryAfterMs / 1000);
  },
};

/** Seconds from an ISO timestamp (a workflow input's `receivedAt`) until now. */
export function secondsSince(iso: string, now: number = Date.now()): number {
  return (now - Date.parse(iso)) / 1000;
}
