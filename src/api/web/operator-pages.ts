/**
 * Operators' pages: parked emails (step, reason, age, a link to the workflow in the Temporal UI,
 * reprocess and discard: the admin API's own operations, recorded as "<user> via web" in the
 * email's reasons and in the web audit), and pipeline health read from the same Prometheus
 * counters that are scraped (the API's own registry and the worker's endpoint, WORKER_METRICS_URL).
 */
import express, { type Response, type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { TicketStore } from '../../adapters/ticket-store/types';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { servedRegistry } from '../../metrics';
import { statusQuery, type EmailState } from '../../workflows/types';
import { discardEmail, listEmails, reprocessEmail, type ActionAnswer } from '../email-admin';
import { html, query, type Html } from './html';
import { sendPage, sendProblem, WEB } from './layout';
import { parsePrometheusText, sumSamples, type Sample } from './prometheus-text';
import { signedIn, type SignedIn } from './session';
import { temporalWorkflowUrl } from './ticket-pages';

export interface OperatorPagesDeps {
  config: Config;
  tickets: TicketStore;
  temporal: Client;
  log: Logger;
}

const PARKED_SHOWN = 50;
const DEADLINE_MS = 5_000;
const NOTICES: Record<string, string> = {
  reprocessed: 'Reprocess requested: the email retries from the step that failed.',
  discarded: 'Discard requested: the email ends with your reason recorded.',
};

function age(since: string | undefined, now: number): string {
  if (!since) return 'unknown';
  const minutes = Math.max(0, Math.round((now - Date.parse(since)) / 60_000));
  return minutes < 60 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.round(minutes / 60)} h` : `${Math.round(minutes / 1440)} days`;
}

interface ParkedRow {
  workflowId: string;
  subject: string;
  sender: string;
  queue: string;
  state: EmailState['parked'] | undefined;
}

function parkedBody(user: SignedIn, config: Config, rows: ParkedRow[]): Html {
  const now = Date.now();
  const csrf = html`<input type="hidden" name="_csrf" value="${user.csrfToken}">`;
  return html`<h1>Parked emails</h1>
<p class="meta">Emails whose step kept failing wait here for an operator. Reprocess retries from the failed step; discard ends the email with your reason.</p>
${
  rows.length === 0
    ? html`<p>No parked emails.</p>`
    : html`<table>
<thead><tr><th scope="col">Email</th><th scope="col">Step</th><th scope="col">Reason</th><th scope="col">Age</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows.map(
        (r, i) => html`<tr>
  <td><strong>${r.subject || '(no subject)'}</strong><br><span class="meta">from ${r.sender || 'unknown'} to ${r.queue}</span><br>
    <a href="${temporalWorkflowUrl(config, r.workflowId)}" rel="noreferrer">${r.workflowId}</a></td>
  <td>${r.state?.step ?? 'unknown'}</td>
  <td>${r.state ? `${r.state.errorType}: ${r.state.message}` : 'not parked any more'}</td>
  <td>${age(r.state?.since, now)}</td>
  <td>
    <form method="post" action="${WEB}/emails/reprocess">${csrf}<input type="hidden" name="workflowId" value="${r.workflowId}">
      <button type="submit" aria-label="Reprocess ${r.subject || r.workflowId}">Reprocess</button></form>
    <form method="post" action="${WEB}/emails/discard" class="inline">${csrf}<input type="hidden" name="workflowId" value="${r.workflowId}">
      <label for="discard-reason-${i}">Reason to discard</label>
      <input id="discard-reason-${i}" name="reason" required maxlength="500">
      <button type="submit" class="secondary">Discard</button></form>
  </td>
</tr>`,
      )}</tbody></table>`
}`;
}

function card(label: string, value: string, detail: string): Html {
  return html`<div class="card"><div class="meta">${label}</div><div class="value">${value}</div><div class="meta">${detail}</div></div>`;
}

const percent = (part: number, whole: number): string => (whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : 'no data');

/** The histogram's q-quantile, as Prometheus's histogram_quantile estimates it (linear in a bucket). */
export function bucketQuantile(samples: Sample[], name: string, q: number): number | null {
  const buckets = samples
    .filter((s) => s.name === `${name}_bucket`)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) return b.le === Infinity ? lower : lower + ((b.le - lower) * (rank - below)) / Math.max(b.count - below, 1);
    lower = b.le;
    below = b.count;
  }
  return lower;
}

function healthBody(api: Sample[], worker: Sample[], workerError: string | null, parked: number | null): Html {
  const answers = (answer: string): number => sumSamples(api, 'helpdesk_ingress_answers_total', { answer });
  const accepted = answers('accepted') + answers('duplicate');
  const all = accepted + answers('refused') + answers('retry-later');
  const tickets = sumSamples(worker, 'helpdesk_ticket_created_total');
  const p95 = bucketQuantile(worker, 'helpdesk_time_to_ticket_seconds', 0.95);
  const count = sumSamples(worker, 'helpdesk_time_to_ticket_seconds_count');
  const mean = count > 0 ? sumSamples(worker, 'helpdesk_time_to_ticket_seconds_sum') / count : null;
  const reasons = [...new Set(worker.filter((s) => s.name === 'helpdesk_suppressed_total').map((s) => s.labels.reason ?? ''))].sort();
  return html`<h1>Pipeline health</h1>
<p class="meta">Since each process started, from the counters Prometheus scrapes (this API process and the worker's endpoint).</p>
${workerError ? html`<p class="error" role="alert">The worker's metrics could not be read: ${workerError}</p>` : ''}
<div class="cards">
  ${card('Accept rate', percent(accepted, all), `${accepted} of ${all} deliveries accepted at this API`)}
  ${card('Time to ticket (p95)', p95 === null ? 'no data' : `${p95.toFixed(2)} s`, mean === null ? 'no tickets yet' : `mean ${mean.toFixed(2)} s over ${count} tickets`)}
  ${card('Tickets created', String(tickets), 'by the worker')}
  ${card('Parked', parked === null ? 'unknown' : String(parked), 'emails waiting for an operator')}
</div>
<h2>Suppressed by reason</h2>
${
  reasons.length === 0
    ? html`<p>None recorded.</p>`
    : html`<table><thead><tr><th scope="col">Reason</th><th scope="col">Emails</th></tr></thead><tbody>${reasons.map(
        (r) => html`<tr><td>${r}</td><td>${sumSamples(worker, 'helpdesk_suppressed_total', { reason: r })}</td></tr>`,
      )}</tbody></table>`
}`;
}

export function operatorPagesRouter(deps: OperatorPagesDeps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });
  const admin = { temporal: deps.temporal, taskQueue: deps.config.temporal.taskQueue, log: deps.log, tickets: deps.tickets };
  const operatorOnly = (res: Response): SignedIn | undefined => {
    const user = signedIn(res);
    if (user?.role === 'operator') return user;
    sendProblem(res, user, 403, 'Operators only', 'This page is for operators. Ask an administrator to give your user the operator role.');
    return undefined;
  };
  const answered = async (res: Response, user: SignedIn, action: string, workflowId: string, answer: ActionAnswer, notice: string): Promise<void> => {
    await deps.tickets.recordAudit({ at: new Date().toISOString(), username: user.username, action, target: workflowId, detail: `${answer.status} ${String(answer.json.action ?? answer.json.reason ?? '')}` });
    if (answer.status >= 400) {
      sendProblem(res, user, answer.status, `Could not ${action}`, String(answer.json.reason ?? answer.json.error ?? 'refused'));
      return;
    }
    res.redirect(303, `${WEB}/emails${query({ notice })}`);
  };
  const workflowIdOf = (body: unknown): string | undefined => {
    const id = (body as { workflowId?: unknown }).workflowId;
    return typeof id === 'string' && /^inbound-email\/[\x21-\x7e]{1,400}$/.test(id) ? id : undefined;
  };

  router.get(`${WEB}/emails`, async (req, res) => {
    const user = operatorOnly(res);
    if (!user) return;
    const listed = await listEmails(deps, 'parked', PARKED_SHOWN);
    const rows = await Promise.all(
      listed.map(async (e): Promise<ParkedRow> => {
        const handle = deps.temporal.workflow.getHandle(e.workflowId);
        const state = await deps.temporal.connection.withDeadline(Date.now() + DEADLINE_MS, () => handle.query(statusQuery)).catch(() => undefined);
        return {
          workflowId: e.workflowId,
          subject: String(e.EmailSubject ?? ''),
          sender: String(e.EmailSender ?? ''),
          queue: String(e.RecipientQueue ?? ''),
          state: state?.parked ?? undefined,
        };
      }),
    );
    sendPage(res, { title: 'Parked emails', user, current: `${WEB}/emails`, notice: NOTICES[String(req.query.notice)], body: parkedBody(user, deps.config, rows) });
  });

  router.post(`${WEB}/emails/reprocess`, form, async (req, res) => {
    const user = operatorOnly(res);
    if (!user) return;
    const workflowId = workflowIdOf(req.body);
    if (!workflowId) {
      sendProblem(res, user, 400, 'Could not reprocess', 'The form names no email.');
      return;
    }
    await answered(res, user, 'reprocess', workflowId, await reprocessEmail(admin, workflowId, {}, `${user.username} via web`), 'reprocessed');
  });

  router.post(`${WEB}/emails/discard`, form, async (req, res) => {
    const user = operatorOnly(res);
    if (!user) return;
    const workflowId = workflowIdOf(req.body);
    const reason = (req.body as { reason?: unknown }).reason;
    if (!workflowId || typeof reason !== 'string' || reason.trim() === '' || reason.length > 500) {
      sendProblem(res, user, 400, 'Could not discard', 'Say why the email is discarded (1-500 characters).');
      return;
    }
    await answered(res, user, 'discard', workflowId, await discardEmail(admin, workflowId, reason.trim(), `${user.username} via web`), 'discarded');
  });

  router.get(`${WEB}/health`, async (_req, res) => {
    const user = operatorOnly(res);
    if (!user) return;
    const api = parsePrometheusText(await servedRegistry('api').metrics());
    let worker: Sample[] = [];
    let workerError: string | null = null;
    try {
      const answer = await fetch(deps.config.web.workerMetricsUrl, { signal: AbortSignal.timeout(DEADLINE_MS) });
      if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
      worker = parsePrometheusText(await answer.text());
    } catch (error) {
      workerError = error instanceof Error ? error.message : String(error);
    }
    const parked = await deps.temporal.connection
      .withDeadline(Date.now() + DEADLINE_MS, () => deps.temporal.workflow.count('WorkflowType = "processInboundEmail" AND EmailStatus = "parked"'))
      .then((c) => c.count)
      .catch(() => null);
    sendPage(res, { title: 'Pipeline health', user, current: `${WEB}/health`, body: healthBody(api, worker, workerError, parked) });
  });
  return router;
}
