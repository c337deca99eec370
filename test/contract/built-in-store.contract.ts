/**
 * What the built-in store promises as Helpdesk and Ledger in one database, beyond each port alone:
 * the Ledger learns a ticket's participants from the helpdesk's own records (the requester, the
 * comment authors), and every comment the helpdesk stores is in the thread index. A vendor helpdesk
 * paired with a ledger gets neither for free, which is why these are not in the port contracts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TicketStore } from '../../src/adapters/ticket-store';
import type { FreshStore } from './built-in-store';
import { newComment, newTicket } from './helpdesk.contract';

export function builtInStoreContract(name: string, openFresh: () => Promise<FreshStore>): void {
  describe(`built-in store as Helpdesk and Ledger: ${name}`, () => {
    let fresh: FreshStore;
    let store: TicketStore;

    before(async () => {
      fresh = await openFresh();
      store = fresh.store;
      await store.migrate();
    });

    after(async () => {
      await store?.close();
      await fresh?.drop();
    });

    test('the requester of a ticket takes part in it, whatever the case of the address', async () => {
      const { ticket } = await store.createTicket(newTicket({ requester: 'Dana.Requester@Customer.Example' }));
      assert.equal(await store.isParticipant(ticket.id, 'dana.requester@customer.example'), true);
      assert.equal(await store.isParticipant(ticket.id, 'DANA.REQUESTER@CUSTOMER.EXAMPLE'), true);
      assert.equal(await store.isParticipant(ticket.id, 'erin@customer.example'), false);
    });

    test('the author of a comment takes part in its ticket, also when stored with a display name', async () => {
      const { ticket } = await store.createTicket(newTicket());
      await store.addComment(ticket.id, newComment({ author: 'frank@customer.example' }));
      await store.addComment(ticket.id, newComment({ author: 'Grace Hopper <Grace@Customer.Example>' }));
      assert.equal(await store.isParticipant(ticket.id, 'Frank@Customer.Example'), true);
      assert.equal(await store.isParticipant(ticket.id, 'grace@customer.example'), true);
      assert.equal(await store.isParticipant(ticket.id, 'Grace Hopper'), false);
    });

    test('the author of an internal note does not take part: a stranger kept as a note stays a stranger', async () => {
      const { ticket } = await store.createTicket(newTicket({ requester: 'kim@customer.example' }));
      await store.addComment(ticket.id, newComment({ author: 'mallory@elsewhere.example', internal: true }));
      assert.equal(await store.isParticipant(ticket.id, 'mallory@elsewhere.example'), false);
    });

    test('the requester and comment authors take part by mailbox: a plus-tag or another case is the same person', async () => {
      const { ticket } = await store.createTicket(newTicket({ requester: 'leo@customer.example' }));
      await store.addComment(ticket.id, newComment({ author: 'Mia <mia@customer.example>' }));
      assert.equal(await store.isParticipant(ticket.id, 'Leo+support@Customer.Example'), true);
      assert.equal(await store.isParticipant(ticket.id, 'MIA+x@customer.example'), true);
      assert.equal(await store.isParticipant(ticket.id, 'leon@customer.example'), false);
    });

    test('a participant of one ticket takes no part in another', async () => {
      const { ticket: first } = await store.createTicket(newTicket({ requester: 'heidi@customer.example' }));
      await store.addComment(first.id, newComment({ author: 'ivan@customer.example' }));
      const { ticket: second } = await store.createTicket(newTicket({ requester: 'judy@customer.example' }));
      assert.equal(await store.isParticipant(second.id, 'heidi@customer.example'), false);
      assert.equal(await store.isParticipant(second.id, 'ivan@customer.example'), false);
    });

    test('the Message-IDs of a ticket\'s first message and of every later comment thread to it', async () => {
      const input = newTicket();
      const { ticket } = await store.createTicket(input);
      const reply = newComment();
      await store.addComment(ticket.id, reply);
      for (const messageId of [input.comment.messageId, reply.messageId]) {
        assert.deepEqual(await store.findThread([messageId], input.queue), { ticketId: ticket.id, ticketNumber: ticket.number, messageId });
      }
    });

    test('a comment is indexed under its ticket\'s queue, so one Message-ID on two tickets threads by queue', async () => {
      const { ticket: support } = await store.createTicket(newTicket({ queue: 'support@mailgate.example' }));
      const { ticket: billing } = await store.createTicket(newTicket({ queue: 'billing@mailgate.example' }));
      const shared = newComment();
      await store.addComment(support.id, shared);
      await store.addComment(billing.id, shared);
      assert.equal((await store.findThread([shared.messageId], 'billing@mailgate.example'))?.ticketId, billing.id);
      assert.equal((await store.findThread([shared.messageId], 'support@mailgate.example'))?.ticketId, support.id);
    });
  });
}
