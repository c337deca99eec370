/**
 * Issue 19: when the built-in helpdesk closes a ticket, the pages it raised are resolved and its
 * alerts closed, by a workflow (retried on its own, never holding up the status change). Only when
 * the rules have a paging target: otherwise a close starts nothing.
 */
import type { Client } from '@temporalio/client';
import { isPagingKind } from '../domain/notify-routes';
import type { Logger } from '../logger';
import type { Rules } from '../rules';
import { resolveTicketPages } from '../workflows';
import { resolvePagesWorkflowId } from '../workflows/ids';

export type TicketClosed = (ticket: { id: string; number: number }) => Promise<void>;

export function resolvePagesOnClose(deps: { temporal: Client; taskQueue: string; rules: Rules; log: Logger }): TicketClosed {
  return async (ticket) => {
    if (!deps.rules.notifications.targets.some((t) => isPagingKind(t.kind))) return;
    const workflowId = resolvePagesWorkflowId(ticket.id, new Date().toISOString());
    try {
      await deps.temporal.workflow.start(resolveTicketPages, { workflowId, taskQueue: deps.taskQueue, args: [{ ticketId: ticket.id, ticketNumber: ticket.number }] });
    } catch (error) {
      // The ticket is closed either way; the log names the ticket so an operator can close the page.
      deps.log.error('resolving the pages of a closed ticket could not start', { ticketId: ticket.id, error: error instanceof Error ? error.message : String(error) });
    }
  };
}
