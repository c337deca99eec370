/**
 * The Helpdesk contract's harness for a vendor connector: the conversation recorded in a SQLite
 * built-in store, delivered through DeliveringHelpdesk to a stand-in. The inspector reads each
 * comment from the stand-in (so the suite checks what reached the vendor) and checks that only
 * clean, stored files did; the attachment records come from Mailgate's side, which keeps them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VendorConnector } from '../../src/adapters/helpdesks/connector';
import { DeliveringHelpdesk } from '../../src/adapters/helpdesks/delivering-helpdesk';
import { createSqliteTicketStore, type TicketStore } from '../../src/adapters/ticket-store';
import type { HelpdeskUnderTest } from './helpdesk.contract';

/** A comment as the stand-in holds it. */
export interface RemoteComment {
  messageId: string;
  text: string;
  internal: boolean;
  filenames: string[];
}

export interface DeliveringHarness extends HelpdeskUnderTest {
  helpdesk: DeliveringHelpdesk;
  store: TicketStore;
}

export async function deliveringHarness(options: {
  name: string;
  connector: VendorConnector;
  /** The stand-in's comments of the vendor ticket `externalId`, oldest first (empty when none). */
  remoteComments(externalId: string): RemoteComment[];
  /** Whether the vendor ticket `externalId` shows it serves `queue` (the stand-in's state). */
  remoteShowsQueue?(externalId: string, queue: string): boolean;
  leaseMs?: number;
  stop(): Promise<void>;
}): Promise<DeliveringHarness> {
  const dir = mkdtempSync(join(tmpdir(), `mailgate-${options.name}-`));
  const store = createSqliteTicketStore(join(dir, 'tickets.sqlite'));
  await store.migrate();
  const helpdesk = new DeliveringHelpdesk({
    name: options.name,
    connector: options.connector,
    record: store,
    ledger: store,
    attachments: 'upload',
    readFile: async (key) => Buffer.from(`bytes of ${key}`),
    leaseMs: options.leaseMs ?? 30_000,
  });
  return {
    helpdesk,
    store,
    inspect: {
      comments: async (ticketId) => {
        const local = await store.getTicket(ticketId);
        const externalId = await store.deliveredId({ connector: options.name, ticketId, messageId: null });
        if (!local || externalId === null) return [];
        return options.remoteComments(externalId).map((c) => {
          const attachments = local.comments.find((l) => l.messageId === c.messageId)?.attachments.map(({ id: _id, ...a }) => a) ?? [];
          // Only clean, stored files reach the vendor: anything else would be a leak.
          assert.deepEqual(c.filenames, attachments.filter((a) => a.scanStatus === 'clean' && a.storageKey).map((a) => a.filename));
          return { messageId: c.messageId, text: c.text, internal: c.internal, attachments };
        });
      },
      queues: async (ticketId) => {
        const ticket = await store.getTicket(ticketId);
        return ticket ? [ticket.queue, ...ticket.extraQueues] : [];
      },
      ...(options.remoteShowsQueue
        ? {
            showsQueue: async (ticketId: string, queue: string) => {
              const externalId = await store.deliveredId({ connector: options.name, ticketId, messageId: null });
              return externalId !== null && options.remoteShowsQueue!(externalId, queue);
            },
          }
        : {}),
    },
    cleanup: async () => {
      await options.stop();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
