/**
 * Erasure of one requester's data (admin token required, see auth.ts):
 *   POST /v1/erasures        {"address", "requestedBy", "dryRun"?, "requestId"?, "wait"?}
 *                            starts the eraseRequester workflow (one per request id: a repeated
 *                            request is the same erasure); with "wait" answers with its result
 *   GET  /v1/erasures/<id>   the erasure's state and, once done, its audit record
 * The address is never logged nor put in a workflow id; the audit keeps a keyed digest of it.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { isAddress, normalizeAddress } from '../domain/addresses';
import type { Logger } from '../logger';
import type { RetentionStore } from '../ports/retention';
import { eraseRequester } from '../workflows';
import { erasureWorkflowId } from '../workflows/ids';
import { erasureSummary } from '../workflows/user-metadata';

/** How long `wait` holds the request: an erasure of a few hundred emails takes seconds. */
const WAIT_MS = 120_000;
const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

interface ErasureRequest {
  address: string;
  requestedBy: string;
  dryRun: boolean;
  requestId: string;
  wait: boolean;
}

function requestOf(body: unknown): ErasureRequest | string {
  const o = (body ?? {}) as Record<string, unknown>;
  if (typeof o.address !== 'string' || !isAddress(normalizeAddress(o.address))) return 'address must be an email address';
  if (typeof o.requestedBy !== 'string' || o.requestedBy.trim().length === 0 || o.requestedBy.length > 200) {
    return 'requestedBy must name who asked (1-200 characters)';
  }
  for (const flag of ['dryRun', 'wait'] as const) if (o[flag] !== undefined && typeof o[flag] !== 'boolean') return `${flag} must be true or false`;
  if (o.requestId !== undefined && (typeof o.requestId !== 'string' || !REQUEST_ID.test(o.requestId))) {
    return 'requestId must be 1-100 letters, digits, dots, dashes or underscores';
  }
  return {
    address: o.address.trim(),
    requestedBy: o.requestedBy.trim(),
    dryRun: o.dryRun === true,
    requestId: typeof o.requestId === 'string' ? o.requestId : randomUUID(),
    wait: o.wait === true,
  };
}

export function erasureAdminRouter(deps: { temporal: Client; taskQueue: string; tickets: RetentionStore; log: Logger }): Router {
  const router = express.Router();

  router.post('/v1/erasures', express.json({ limit: '4kb' }), async (req: Request, res: Response) => {
    const request = requestOf(req.body);
    if (typeof request === 'string') {
      res.status(400).json({ error: 'bad_request', reason: request });
      return;
    }
    const workflowId = erasureWorkflowId(request.requestId);
    try {
      await deps.temporal.workflow.start(eraseRequester, {
        workflowId,
        taskQueue: deps.taskQueue,
        args: [{ address: request.address, requestedBy: request.requestedBy, requestedAt: new Date().toISOString(), dryRun: request.dryRun }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        staticSummary: erasureSummary(request),
      });
      deps.log.info('erasure started', { workflowId, dryRun: request.dryRun, requestedBy: request.requestedBy });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    }
    if (!request.wait) {
      res.status(202).json({ id: workflowId, dryRun: request.dryRun, status: 'started' });
      return;
    }
    const result = await deps.temporal.connection.withDeadline(Date.now() + WAIT_MS, () => deps.temporal.workflow.getHandle(workflowId).result());
    res.status(200).json({ ...(result as object), status: 'completed', audit: await deps.tickets.getErasure(workflowId) });
  });

  router.get('/v1/erasures/*requestId', async (req: Request, res: Response) => {
    const raw = (req.params as { requestId: string[] | string }).requestId;
    const id = Array.isArray(raw) ? raw.join('/') : raw;
    const workflowId = id.startsWith('erasure/') ? id : erasureWorkflowId(id);
    try {
      const description = await deps.temporal.workflow.getHandle(workflowId).describe();
      res.json({ id: workflowId, status: description.status.name.toLowerCase(), audit: await deps.tickets.getErasure(workflowId) });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      const audit = await deps.tickets.getErasure(workflowId);
      if (!audit) {
        res.status(404).json({ error: 'not_found', reason: `no erasure ${workflowId}` });
        return;
      }
      res.json({ id: workflowId, status: 'completed', audit });
    }
  });
  return router;
}
