/**
 * The web view's store methods (src/adapters/ticket-store/web-store.ts), run against each backend:
 * sessions expire and end, the ticket list filters and pages, assignee and priority change, the
 * audit keeps what signed-in users did.
 */
import { beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TicketStore } from '../../src/adapters/ticket-store';
import { freshMigratedStore, type FreshStore } from './built-in-store';
import { newTicket } from './helpdesk.contract';

export function webStoreContract(name: string, openFresh: () => Promise<FreshStore>): void {
  describe(`${name}: the web view's store`, () => {
    const opened = freshMigratedStore(openFresh);
    let store: TicketStore;
    beforeEach(() => {
      store = opened();
    });

    test('a session is found by its digest until it expires or ends', async () => {
      const now = Date.now();
      const at = (ms: number): string => new Date(now + ms).toISOString();
      await store.createSession({ idSha256: 'a'.repeat(64), username: 'ann', csrfToken: 'tok', created: at(0), expires: at(60_000) });
      await store.createSession({ idSha256: 'b'.repeat(64), username: 'bob', csrfToken: 'tok2', created: at(-120_000), expires: at(-60_000) });
      assert.deepEqual(await store.getSession('a'.repeat(64), at(0)), { username: 'ann', csrfToken: 'tok', expires: at(60_000) });
      assert.equal(await store.getSession('b'.repeat(64), at(0)), null, 'expired');
      assert.equal(await store.getSession('c'.repeat(64), at(0)), null, 'unknown');
      assert.equal(await store.deleteExpiredSessions(at(0)), 1);
      await store.deleteSession('a'.repeat(64));
      assert.equal(await store.getSession('a'.repeat(64), at(0)), null, 'ended');
    });

    test('tickets filter by queue, status, priority and text (wildcards literal), newest first, in pages', async () => {
      const made = [];
      for (const [i, subject] of ['Printer 100% broken', 'Printer_jam', 'VPN down'].entries()) {
        made.push((await store.createTicket(newTicket({ originKey: `web-${i}`, subject, requester: `c${i}@customer.example`, priority: i === 2 ? 'urgent' : 'normal' }))).ticket);
      }
      const subjects = async (filter: Parameters<TicketStore['findTickets']>[0]): Promise<string[]> => (await store.findTickets(filter)).tickets.map((t) => t.subject).sort();
      assert.deepEqual(await subjects({ text: 'printer', limit: 10, offset: 0 }), ['Printer 100% broken', 'Printer_jam']);
      assert.deepEqual(await subjects({ text: '100%', limit: 10, offset: 0 }), ['Printer 100% broken']);
      assert.deepEqual(await subjects({ text: 'r_j', limit: 10, offset: 0 }), ['Printer_jam']);
      assert.deepEqual(await subjects({ text: 'C2@CUSTOMER', limit: 10, offset: 0 }), ['VPN down']);
      assert.deepEqual(await subjects({ priority: 'urgent', limit: 10, offset: 0 }), ['VPN down']);
      await store.setStatus(made[0]!.id, 'closed');
      assert.deepEqual(await subjects({ status: 'closed', limit: 10, offset: 0 }), ['Printer 100% broken']);
      const first = await store.findTickets({ limit: 2, offset: 0 });
      const second = await store.findTickets({ limit: 2, offset: 2 });
      assert.equal(first.tickets.length, 2);
      assert.equal(first.more, true);
      assert.equal(second.more, false);
      assert.equal(new Set([...first.tickets, ...second.tickets].map((t) => t.id)).size, 3);
      assert.deepEqual(await subjects({ queue: 'nobody@mailgate.local', limit: 10, offset: 0 }), []);
    });

    test('assignee and priority change; an unknown ticket says so', async () => {
      const { ticket } = await store.createTicket(newTicket({ originKey: 'web-assign' }));
      assert.equal(await store.ticketAssignee(ticket.id), null);
      assert.equal(await store.setAssignee(ticket.id, 'ann', new Date().toISOString()), true);
      assert.equal(await store.ticketAssignee(ticket.id), 'ann');
      assert.equal(await store.setPriority(ticket.id, 'high', new Date().toISOString()), true);
      assert.equal((await store.getTicket(ticket.id))?.priority, 'high');
      assert.equal(await store.ticketAssignee('no-such-ticket'), undefined);
      assert.equal(await store.setAssignee('no-such-ticket', 'ann', new Date().toISOString()), false);
    });

    test('the audit lists the newest first', async () => {
      await store.recordAudit({ at: new Date(1000).toISOString(), username: 'ann', action: 'reply', target: 'MG-1', detail: 'x' });
      await store.recordAudit({ at: new Date(2000).toISOString(), username: 'ola', action: 'reprocess', target: 'inbound-email/1', detail: '202' });
      assert.deepEqual(
        (await store.listAudit(2)).map((a) => [a.username, a.action, a.at]),
        [
          ['ola', 'reprocess', new Date(2000).toISOString()],
          ['ann', 'reply', new Date(1000).toISOString()],
        ],
      );
    });
  });
}
