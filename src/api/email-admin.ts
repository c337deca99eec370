/**
 * Operator actions on emails (admin token required, see auth.ts):
 *   GET  /v1/emails?status=parked            emails by EmailStatus, newest first (Temporal visibility)
 *   POST /v1/emails/<id>/reprocess           parked: retry from the failed step (signal); completed:
 *                                            a new run keyed by the original, so nothing doubles
 *   POST /v1/emails/<id>/discard             parked: end with {"reason"} recorded; once the email
 *                                            opened its ticket, only the acknowledgement is given up
 * Body overrides for reprocess: {"queue", "skipAck", "forceNewTicket"}; both take an optional "by"
 * (the operator's name, shown as "<by> via admin api" in the email's reasons). forceNewTicket on an
 * email that opened a ticket of its own is refused with 409: a second ticket would double it.
 */
import express, { type Request, type Response, type Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { isAddress, normalizeAddress } from '../domain/addresses';
import { forceNewTicketRefusal } from '../domain/decisions';
import type { Logger } from '../logger';
import type { Ledger } from '../ports/ledger';
import { processInboundEmail } from '../workflows';
import { INBOUND_EMAIL_PREFIX } from '../workflows/ids';
import { discardSignal, reprocessSignal, statusQuery, type ProcessInboundEmailInput, type ReprocessOverrides } from '../workflows/types';
import { reprocessSummary } from '../workflows/user-metadata';

const DEADLINE_MS = 5_000;
const STATUSES = ['parked', 'failed', 'received', 'ticket_created', 'comment_added', 'note_added', 'suppressed', 'rejected', 'discarded'];

function idOf(req: Request): string {
  const raw = (req.params as { workflowId: string[] | string }).workflowId;
  return Array.isArray(raw) ? raw.join('/') : raw;
}

function overridesOf(body: unknown): ReprocessOverrides | string {
  const o = (body ?? {}) as Record<string, unknown>;
  const out: ReprocessOverrides = {};
  if (o.queue !== undefined) {
    if (typeof o.queue !== 'string' || !isAddress(normalizeAddress(o.queue))) return 'queue must be an email address';
    out.queue = normalizeAddress(o.queue);
  }
  for (const flag of ['skipAck', 'forceNewTicket'] as const) {
    if (o[flag] !== undefined) {
      if (typeof o[flag] !== 'boolean') return `${flag} must be true or false`;
      out[flag] = o[flag];
    }
  }
  return out;
}

const MAX_BY_CHARS = 100;

/** Who asks: the admin API, and the operator's name when the request gives one. */
function requesterOf(body: unknown): string | { error: string } {
  const by = (body as { by?: unknown } | undefined)?.by;
  if (by === undefined) return 'admin api';
  // Printable text only: the name lands in reasons, logs and the ticket's notes.
  if (typeof by !== 'string' || by.trim() === '' || by.length > MAX_BY_CHARS || /[\p{Cc}\p{Cf}]/u.test(by)) {
    return { error: `by must be the operator's name (1-${MAX_BY_CHARS} printable characters)` };
  }
  return `${by.trim()} via admin api`;
}

export interface EmailAdminDeps {
  temporal: Client;
  taskQueue: string;
  log: Logger;
  tickets: Pick<Ledger, 'getEmail'>;
}

/** An operator action's answer: the HTTP status and body the admin API sends (the web view words it). */
export interface ActionAnswer {
  status: number;
  json: Record<string, unknown>;
}

const deadlineOf =
  (deps: Pick<EmailAdminDeps, 'temporal'>) =>
  <T>(fn: () => Promise<T>): Promise<T> =>
    deps.temporal.connection.withDeadline(Date.now() + DEADLINE_MS, fn);

export interface ListedEmail {
  workflowId: string;
  runStatus: string;
  startTime: string;
  [attribute: string]: unknown;
}

/** Emails by EmailStatus, newest first (Temporal visibility). */
export async function listEmails(deps: Pick<EmailAdminDeps, 'temporal'>, status: string, limit: number): Promise<ListedEmail[]> {
  const emails: ListedEmail[] = [];
  // Notifications that park themselves (issue 19) are listed with the emails: one worklist.
  const query = `(WorkflowType = "processInboundEmail" OR WorkflowType = "notifyEmail") AND EmailStatus = "${status}"`;
  for await (const execution of deps.temporal.workflow.list({ query })) {
    const attributes = Object.fromEntries(execution.typedSearchAttributes.getAll().map((p) => [p.key.name, p.value]));
    emails.push({ workflowId: execution.workflowId, runStatus: execution.status.name, startTime: execution.startTime.toISOString(), ...attributes });
    if (emails.length >= limit) break;
  }
  return emails;
}

/** Reprocess one email: signal a parked one, or start a new run of a completed one (see the header). */
export async function reprocessEmail(deps: EmailAdminDeps, workflowId: string, overrides: ReprocessOverrides, by: string): Promise<ActionAnswer> {
  const deadline = deadlineOf(deps);
  const handle = deps.temporal.workflow.getHandle(workflowId);
  try {
    const description = await deadline(() => handle.describe());
    if (description.status.name === 'RUNNING') {
      const state = await deadline(() => handle.query(statusQuery));
      if (!state.parked) return { status: 409, json: { error: 'not_parked', reason: `the email is running (step ${state.step}), not parked` } };
      const refused = overrides.forceNewTicket ? forceNewTicketRefusal({ ownTicket: state.ticketId ? { id: state.ticketId, number: state.ticketNumber } : null }) : null;
      if (refused) return { status: 409, json: { error: 'conflict', reason: refused } };
      await deadline(() => handle.signal(reprocessSignal, { ...overrides, by }));
      return { status: 202, json: { workflowId, action: 'reprocess signalled', from: state.parked.step } };
    }
    // A completed email: a new run, keyed by the original for everything that must not double.
    const history = await deadline(() => handle.fetchHistory());
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error('the original input is not in the history');
    const original = defaultPayloadConverter.fromPayload<ProcessInboundEmailInput>(payload);
    const origin = original.reprocessOf ?? workflowId;
    if (!origin.startsWith(INBOUND_EMAIL_PREFIX)) throw new Error('not an inbound email workflow');
    if (overrides.forceNewTicket) {
      // The email record holds the latest outcome of every run; a failed email with a ticket failed
      // at acknowledging, after opening its own.
      const record = await deps.tickets.getEmail(origin);
      const own = record?.ticketId && (record.outcome === 'ticket_created' || record.outcome === 'failed') ? { id: record.ticketId, number: null } : null;
      const refused = forceNewTicketRefusal({ ownTicket: own });
      if (refused) return { status: 409, json: { error: 'conflict', reason: refused } };
    }
    const runId = `${origin}/reprocess-${Date.now()}`;
    const staticSummary = reprocessSummary(await description.staticSummary(), origin);
    await deadline(() =>
      deps.temporal.workflow.start(processInboundEmail, {
        workflowId: runId,
        taskQueue: deps.taskQueue,
        args: [{ ...original, leanPath: true, reprocessOf: origin, overrides: { ...original.overrides, ...overrides }, reprocessedBy: by }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary,
      }),
    );
    return { status: 202, json: { workflowId: runId, action: 'reprocess started', reprocessOf: origin } };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { status: 404, json: { error: 'not_found', reason: `no email workflow ${workflowId}` } };
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { status: 409, json: { error: 'conflict', reason: 'a reprocess run was just started; try again' } };
    throw error;
  }
}

/** Discard one parked email with a recorded reason. */
export async function discardEmail(deps: Pick<EmailAdminDeps, 'temporal'>, workflowId: string, reason: string, by: string): Promise<ActionAnswer> {
  const deadline = deadlineOf(deps);
  const handle = deps.temporal.workflow.getHandle(workflowId);
  try {
    const state = await deadline(() => handle.query(statusQuery));
    if (!state.parked) return { status: 409, json: { error: 'not_parked', reason: `only a parked email can be discarded (this one is ${state.outcome})` } };
    await deadline(() => handle.signal(discardSignal, { reason, by }));
    // Once the email opened its ticket, the ticket stays: only the acknowledgement is given up.
    const effect = state.ticketId
      ? `the email keeps its ticket ${state.ticketNumber === null ? state.ticketId : `MG-${state.ticketNumber}`} (ticket_created); only the acknowledgement is given up`
      : 'the email ends as discarded (recorded as rejected)';
    return { status: 202, json: { workflowId, action: 'discard signalled', effect } };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return { status: 404, json: { error: 'not_found', reason: `no email workflow ${workflowId}` } };
    throw error;
  }
}

export function emailAdminRouter(deps: EmailAdminDeps): Router {
  const router = express.Router();

  router.get('/v1/emails', async (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : 'parked';
    if (!STATUSES.includes(status)) {
      res.status(400).json({ error: 'bad_request', reason: `status must be one of ${STATUSES.join(', ')}` });
      return;
    }
    const limit = Math.min(Number(req.query.limit ?? 100) || 100, 1000);
    res.json({ status, emails: await listEmails(deps, status, limit) });
  });

  router.post('/v1/emails/*workflowId/reprocess', express.json({ limit: '4kb', inflate: false }), async (req: Request, res: Response) => {
    const overrides = overridesOf(req.body);
    if (typeof overrides === 'string') {
      res.status(400).json({ error: 'bad_request', reason: overrides });
      return;
    }
    const by = requesterOf(req.body);
    if (typeof by !== 'string') {
      res.status(400).json({ error: 'bad_request', reason: by.error });
      return;
    }
    const answer = await reprocessEmail(deps, idOf(req), overrides, by);
    res.status(answer.status).json(answer.json);
  });

  router.post('/v1/emails/*workflowId/discard', express.json({ limit: '4kb', inflate: false }), async (req: Request, res: Response) => {
    const reason = (req.body as { reason?: unknown } | undefined)?.reason;
    if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 500) {
      res.status(400).json({ error: 'bad_request', reason: 'body must be {"reason": "why"} (1-500 characters)' });
      return;
    }
    const by = requesterOf(req.body);
    if (typeof by !== 'string') {
      res.status(400).json({ error: 'bad_request', reason: by.error });
      return;
    }
    const answer = await discardEmail(deps, idOf(req), reason.trim(), by);
    res.status(answer.status).json(answer.json);
  });
  return router;
}
