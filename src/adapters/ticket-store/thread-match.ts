/**
 * Picks the thread a new message belongs to from the index entries of the Message-IDs it refers to.
 * One Message-ID can belong to tickets in several queues (an email sent to two support addresses
 * opens one ticket per queue), so a reply arriving on a queue prefers that queue's ticket.
 */
import type { ThreadMatch } from './types';

export interface ThreadEntry {
  messageId: string;
  ticketId: string;
  ticketNumber: number;
  queue: string;
}

/**
 * `entries` must be oldest first. The first of `messageIds` with any entry wins; among its entries,
 * the one in `queue`, else the oldest.
 */
export function pickThread(messageIds: string[], entries: ThreadEntry[], queue: string): ThreadMatch | null {
  for (const messageId of messageIds) {
    const candidates = entries.filter((e) => e.messageId === messageId);
    const chosen = candidates.find((e) => e.queue === queue) ?? candidates[0];
    if (chosen) return { ticketId: chosen.ticketId, ticketNumber: chosen.ticketNumber, messageId };
  }
  return null;
}
