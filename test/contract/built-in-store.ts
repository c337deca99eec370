/**
 * The built-in store as the contracts' harnesses see it: one TicketStore is both the Helpdesk and
 * the Ledger, and its own reads serve as the helpdesk inspector. Backends differ only in how they
 * open new, empty storage (`openFresh`).
 */
import { after, before } from 'node:test';
import type { TicketStore } from '../../src/adapters/ticket-store';
import type { HelpdeskInspector, HelpdeskUnderTest } from './helpdesk.contract';
import { newTicket } from './helpdesk.contract';
import type { LedgerUnderTest } from './ledger.contract';

/** A store on new, empty storage (not migrated), and how to remove that storage afterwards. */
export interface FreshStore {
  store: TicketStore;
  /** Removes the storage; the store is closed first. */
  drop(): Promise<void>;
}

function inspectorOf(store: TicketStore): HelpdeskInspector {
  return {
    comments: async (ticketId) =>
      (await store.getTicket(ticketId))?.comments.map((c) => ({
        messageId: c.messageId,
        text: c.text,
        internal: c.internal,
        attachments: c.attachments.map(({ id: _id, ...attachment }) => attachment),
      })) ?? [],
    queues: async (ticketId) => {
      const ticket = await store.getTicket(ticketId);
      return ticket ? [ticket.queue, ...ticket.extraQueues] : [];
    },
  };
}

async function closeAndDrop(fresh: FreshStore): Promise<void> {
  await fresh.store.close();
  await fresh.drop();
}

export function builtInHelpdesk(openFresh: () => Promise<FreshStore>): () => Promise<HelpdeskUnderTest> {
  return async () => {
    const fresh = await openFresh();
    await fresh.store.migrate();
    return { helpdesk: fresh.store, inspect: inspectorOf(fresh.store), cleanup: () => closeAndDrop(fresh) };
  };
}

export function builtInLedger(openFresh: () => Promise<FreshStore>): () => Promise<LedgerUnderTest> {
  return async () => {
    const fresh = await openFresh();
    return {
      ledger: fresh.store,
      openTicket: async () => (await fresh.store.createTicket(newTicket())).ticket,
      cleanup: () => closeAndDrop(fresh),
    };
  };
}

/** Registers hooks that open fresh storage, migrate it before the suite and drop it after; returns the store's getter. */
export function freshMigratedStore(openFresh: () => Promise<FreshStore>): () => TicketStore {
  let fresh: FreshStore | undefined;
  before(async () => {
    fresh = await openFresh();
    await fresh.store.migrate();
  });
  after(async () => fresh?.drop());
  return () => fresh!.store;
}
