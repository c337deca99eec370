/**
 * The MX's own Prometheus metrics, in a registry of their own that only the SMTP process serves
 * (src/metrics.ts keeps the API's and the worker's). It also serves the accept path's shared
 * counters (helpdesk_ingress_answers_total with ingress="smtp", helpdesk_inbound_total) and Node's
 * process metrics. Every label takes a value from a closed set.
 */
import { Counter, Registry } from 'prom-client';
import { registry as mainRegistry, SERVED_BY } from '../../metrics';

export const smtpRegistry = new Registry();

export type ConnectionResult = 'accepted' | 'rate_limited';
export type SmtpStage = 'connect' | 'mail' | 'rcpt' | 'data';
/** mailauth's result words (RFC 8601 §2.7); anything else is counted as "other". */
const AUTH_RESULTS = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);
export type AuthMethod = 'spf' | 'dkim' | 'dmarc' | 'arc';
export const DMARC_OUTCOMES = ['tagged', 'quarantined', 'rejected'] as const;
export type DmarcOutcome = (typeof DMARC_OUTCOMES)[number];

const connections = new Counter({
  name: 'helpdesk_smtp_connections_total',
  help: 'SMTP connections to the MX, by result: accepted, or rate_limited (answered 421 and closed)',
  labelNames: ['result'] as const,
  registers: [smtpRegistry],
});
const replies = new Counter({
  name: 'helpdesk_smtp_replies_total',
  help: 'Answers of the MX to MAIL, RCPT and the end of DATA (and refused connections), by stage and reply code',
  labelNames: ['stage', 'code'] as const,
  registers: [smtpRegistry],
});
const authResults = new Counter({
  name: 'helpdesk_smtp_auth_results_total',
  help: 'Sender authentication results of messages received whole, by method (spf, dkim, dmarc, arc) and result',
  labelNames: ['method', 'result'] as const,
  registers: [smtpRegistry],
});

const dmarcActions = new Counter({
  name: 'helpdesk_smtp_dmarc_actions_total',
  help: 'What a DMARC failure led to at the MX (SMTP_INGRESS_DMARC_ACTION): tagged, quarantined (accepted and held for an operator) or rejected (550)',
  labelNames: ['action'] as const,
  registers: [smtpRegistry],
});

/** The accept path's counters that the MX writes too (ingress="smtp"). */
const SHARED = ['helpdesk_ingress_answers_total', 'helpdesk_inbound_total'];

/** What the SMTP process serves on /metrics: its own metrics, the shared ones, Node's process metrics. */
export function servedSmtpRegistry(): Registry {
  const served = new Registry();
  for (const { name } of mainRegistry.getMetricsAsArray()) {
    const metric = mainRegistry.getSingleMetric(name);
    if (metric !== undefined && (SERVED_BY[name] === undefined || SHARED.includes(name))) served.registerMetric(metric);
  }
  return Registry.merge([served, smtpRegistry]);
}

export const smtpMetrics = {
  prime(): void {
    for (const result of ['accepted', 'rate_limited'] as const) connections.labels(result).inc(0);
    for (const action of DMARC_OUTCOMES) dmarcActions.labels(action).inc(0);
    for (const [stage, code] of [['connect', '421'], ['mail', '451'], ['rcpt', '550'], ['data', '250'], ['data', '451']] as const) replies.labels(stage, code).inc(0);
  },
  connection(result: ConnectionResult): void {
    connections.labels(result).inc();
  },
  reply(stage: SmtpStage, code: number): void {
    replies.labels(stage, String(code)).inc();
  },
  dmarcAction(action: DmarcOutcome): void {
    dmarcActions.labels(action).inc();
  },
  authResult(method: AuthMethod, result: string): void {
    authResults.labels(method, AUTH_RESULTS.has(result) ? result : 'other').inc();
  },
};
