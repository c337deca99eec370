/**
 * GET /v1/emails/:workflowId — an email's processing state. A completed email's state is its
 * workflow's result, read from Temporal's history: no worker has to replay the run to answer, so the
 * answer does not depend on a busy or absent worker. A running (or failed) email's state comes from
 * the workflow itself (the `status` query) while a worker is up; without one, Temporal's record of
 * the execution is still returned, with `stateError` saying why the state is missing.
 * The workflow id contains a slash (inbound-email/<key>); it may be given as is or URL-encoded.
 * `messageIdClashes` lists the other emails that used this one's Message-ID with different content.
 */
import express, { type Router } from 'express';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from '../logger';
import type { Ledger } from '../ports/ledger';
import { statusQuery } from '../workflows/types';

const DEADLINE_MS = 5_000;

export function emailsRouter(deps: { temporal: Client; tickets: Pick<Ledger, 'messageIdClashes'>; log: Logger }): Router {
  const router = express.Router();
  router.get('/v1/emails/*workflowId', async (req, res) => {
    const raw = (req.params as { workflowId: string[] | string }).workflowId;
    const workflowId = Array.isArray(raw) ? raw.join('/') : raw;
    const handle = deps.temporal.workflow.getHandle(workflowId);
    try {
      const description = await deps.temporal.connection.withDeadline(Date.now() + DEADLINE_MS, () => handle.describe());
      const searchAttributes = Object.fromEntries(
        description.typedSearchAttributes.getAll().map((pair) => [pair.key.name, pair.value]),
      );
      let state: unknown = null;
      let stateError: string | null = null;
      if (description.status.name === 'COMPLETED') {
        try {
          state = await deps.temporal.connection.withDeadline(Date.now() + DEADLINE_MS, () => deps.temporal.workflow.getHandle(workflowId, description.runId).result());
        } catch (error) {
          deps.log.warn('email result unavailable', { error, workflowId });
        }
      }
      if (state === null) {
        try {
          state = await deps.temporal.connection.withDeadline(Date.now() + DEADLINE_MS, () => handle.query(statusQuery));
        } catch (error) {
          stateError = `state unavailable (no worker answered the query): ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      // Noted in the ledger on both emails when two different messages used one Message-ID. A ledger
      // outage leaves the rest of the answer useful, and says so.
      let clashes: unknown[] | null = null;
      try {
        clashes = (await deps.tickets.messageIdClashes(workflowId)).map(({ otherWorkflowId, messageId, created }) => ({ otherWorkflowId, messageId, recorded: created }));
      } catch (error) {
        deps.log.warn('message id clashes unavailable', { error, workflowId });
      }
      res.json({
        workflowId,
        runId: description.runId,
        runStatus: description.status.name,
        startTime: description.startTime.toISOString(),
        closeTime: description.closeTime?.toISOString() ?? null,
        searchAttributes,
        state,
        messageIdClashes: clashes,
        ...(clashes === null ? { messageIdClashesError: 'the ledger did not answer' } : {}),
        ...(stateError ? { stateError } : {}),
      });
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        res.status(404).json({ error: 'not_found', reason: `no email workflow ${workflowId}` });
        return;
      }
      deps.log.warn('email state unavailable', { error, workflowId });
      res.set('Retry-After', '5').status(503).json({ error: 'unavailable', reason: 'the workflow engine did not answer' });
    }
  });
  return router;
}
