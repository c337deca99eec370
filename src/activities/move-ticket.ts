/**
 * moveTicket: an operator reprocessed an email with another queue (`mailgate emails reprocess
 * --queue`), so the ticket the email opened or landed on moves to that queue. The ticket step moves
 * it when it runs after the decision; this activity moves it when the ticket already exists (the
 * email parked at acknowledging). The ledger records every move; the ticket gets an internal note.
 */
import { createHash } from 'node:crypto';
import { ErrorType, TypedError } from '../domain/errors';
import type { Helpdesk } from '../ports/helpdesk';
import type { Ledger } from '../ports/ledger';
import { rethrowAsFailure } from './failures';
import { activityLog } from './log';

type Deps = { helpdesk: Helpdesk; ledger: Ledger };

export interface MoveTicketInput {
  ticketId: string;
  queue: string;
  /** Who asked (the admin API's name for the operator). */
  by: string;
  /** The run that moves it: the ledger keys the move by it. */
  runWorkflowId: string;
}

export interface MoveTicketResult {
  moved: boolean;
  from: string;
  to: string;
  by: string;
}

/**
 * Moves a ticket to the operator's queue: the ledger records the move before the ticket changes (a
 * retry after a crash finds the record and completes the move), and the ticket gets an internal note
 * saying from where, by whom. Idempotent: a ticket already in the queue is left alone.
 */
export async function moveTicket(deps: Deps, input: MoveTicketInput): Promise<MoveTicketResult> {
  const ticket = await deps.helpdesk.getTicket(input.ticketId);
  if (!ticket) throw new TypedError(ErrorType.InvalidTicketInput, `ticket ${input.ticketId} does not exist: it cannot be moved`);
  const to = input.queue.toLowerCase();
  const moves = await deps.ledger.ticketMoves(input.ticketId);
  const recorded = moves.find((m) => m.workflowId === input.runWorkflowId && m.toQueue === to);
  if (ticket.queue === to && !recorded) return { moved: false, from: ticket.queue, to, by: input.by };
  const from = recorded?.fromQueue ?? ticket.queue;
  if (!recorded) await deps.ledger.recordTicketMove({ ticketId: input.ticketId, fromQueue: from, toQueue: to, workflowId: input.runWorkflowId, by: input.by });
  await deps.helpdesk.moveTicket(input.ticketId, to);
  await deps.helpdesk.addComment(input.ticketId, {
    messageId: `move.${createHash('sha256').update(`${input.runWorkflowId}|${to}`).digest('hex').slice(0, 32)}@mailgate.invalid`,
    author: 'mailgate',
    internal: true,
    text: `Moved from queue ${from} to ${to} by ${input.by} (reprocess).`,
    html: null,
    attachments: [],
  });
  activityLog().info('ticket moved', { ticketId: input.ticketId, from, to, by: input.by });
  return { moved: true, from, to, by: input.by };
}

/** moveTicket: an operator's queue for an email whose ticket already exists (parked at acknowledging). */
export function createMoveTicket(deps: Deps) {
  return async function moveTicketActivity(input: MoveTicketInput): Promise<MoveTicketResult> {
    try {
      return await moveTicket(deps, input);
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
