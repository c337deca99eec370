/**
 * thread lookup: the candidate Message-IDs (In-Reply-To, then References newest-first) against every
 * Message-ID Mailgate has stored or sent, acknowledgements included.
 */
import type { ThreadMatch, TicketStore } from '../adapters/ticket-store/types';
import { rethrowAsFailure } from './failures';

export interface FindThreadInput {
  candidates: string[];
  queue: string;
}

export function createFindThread(deps: { tickets: TicketStore }) {
  return async function findThread(input: FindThreadInput): Promise<ThreadMatch | null> {
    try {
      return await deps.tickets.findThread(input.candidates, input.queue);
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
