/**
 * The Helpdesk contract against the Zendesk connector, through DeliveringHelpdesk (the conversation
 * recorded in a SQLite built-in store, delivered to the Zendesk stand-in). The inspector reads the
 * comments from the stand-in's state, so what the suite checks is what reached "Zendesk"; the
 * Zendesk-only cases (rate limits, an interrupted create, files) follow the suite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { queueTag, ZendeskConnector } from '../../src/adapters/helpdesks/zendesk/zendesk';
import { ErrorType, TypedError } from '../../src/domain/errors';
import { ZendeskStandIn } from '../stand-ins/zendesk';
import { deliveringHarness, type DeliveringHarness } from './delivering-harness';
import { cleanReport, helpdeskContract, infectedInvoice, newComment, newTicket } from './helpdesk.contract';

const TOKEN = 'zd-oauth-token-for-tests';

type Harness = DeliveringHarness & { standIn: ZendeskStandIn };

async function harness(options: { leaseMs?: number; timeoutMs?: number } = {}): Promise<Harness> {
  const standIn = new ZendeskStandIn({ bearer: TOKEN });
  const baseUrl = await standIn.start();
  const under = await deliveringHarness({
    name: 'zendesk-test',
    connector: new ZendeskConnector({ name: 'zendesk-test', baseUrl, auth: { kind: 'oauth', token: TOKEN }, timeoutMs: options.timeoutMs ?? 5000 }),
    remoteComments: (externalId) =>
      (standIn.tickets.get(Number(externalId))?.comments ?? []).map((c) => ({
        messageId: String(c.metadata.custom['mailgate_message_id']),
        text: c.body,
        internal: !c.public,
        filenames: c.attachments.map((a) => a.file_name),
      })),
    remoteShowsQueue: (externalId, queue) => standIn.tickets.get(Number(externalId))?.tags.includes(queueTag(queue)) === true,
    leaseMs: options.leaseMs,
    stop: () => standIn.stop(),
  });
  return { ...under, standIn };
}

helpdeskContract('Zendesk connector against the Zendesk stand-in', () => harness());

describe('Zendesk connector', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ leaseMs: 200, timeoutMs: 1000 });
  });
  after(() => h.cleanup());

  test('a 429 with Retry-After surfaces as RemoteRateLimited with that delay, and a retry then creates one ticket', async () => {
    h.standIn.faults.push({ match: 'POST /api/v2/tickets', status: 429, retryAfter: '3', times: 1 });
    const input = newTicket();
    await assert.rejects(h.helpdesk.createTicket(input), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteRateLimited && e.retryAfterMs === 3000);
    const { ticket } = await h.helpdesk.createTicket(input);
    assert.equal(h.standIn.ticketsFor(ticket.id).length, 1);
  });

  test('a create that landed while the worker died is found by its external id, never made twice', async () => {
    const input = newTicket();
    const held = h.standIn.hold({ match: 'POST /api/v2/tickets', phase: 'after' });
    const first = h.helpdesk.createTicket(input);
    await held; // the ticket exists in Zendesk; the answer never comes (the client times out)
    await assert.rejects(first, (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteUnavailable);
    await new Promise((resolve) => setTimeout(resolve, 250)); // the 200 ms lease of the "dead" attempt runs out
    const { ticket } = await h.helpdesk.createTicket(input);
    assert.equal(h.standIn.ticketsFor(ticket.id).length, 1);
    assert.equal(await h.store.deliveredId({ connector: 'zendesk-test', ticketId: ticket.id, messageId: null }), String(h.standIn.ticketsFor(ticket.id)[0]?.id));
  });

  test('clean files are uploaded and attached by token; an infected one never leaves Mailgate', async () => {
    const { ticket } = await h.helpdesk.createTicket(newTicket({ comment: newComment({ attachments: [cleanReport, infectedInvoice] }) }));
    const [remote] = h.standIn.ticketsFor(ticket.id);
    assert.deepEqual(remote?.comments[0]?.attachments.map((a) => a.file_name), ['report.pdf']);
    assert.ok(![...h.standIn.uploads.values()].some((u) => u.file_name === 'invoice.zip'));
  });

  test('a reply is a comment by the requester\'s Zendesk user; a closed ticket there reads as closed here', async () => {
    const { ticket } = await h.helpdesk.createTicket(newTicket());
    await h.helpdesk.addComment(ticket.id, newComment({ author: 'bob@customer.example' }));
    const remote = h.standIn.ticketsFor(ticket.id)[0]!;
    assert.equal(h.standIn.userEmail(remote.comments[1]!.author_id), 'bob@customer.example');
    remote.status = 'closed';
    assert.equal((await h.helpdesk.getTicket(ticket.id))?.status, 'closed');
    h.standIn.tickets.delete(remote.id);
    assert.equal((await h.helpdesk.getTicket(ticket.id))?.status, 'closed', 'a deleted ticket reads as closed');
  });

  test('a refused token is a credentials error; a field Zendesk refuses is a refusal with its message', async () => {
    const wrong = new ZendeskConnector({ name: 'zd-wrong', baseUrl: h.standIn.baseUrl, auth: { kind: 'api_token', email: 'a@b.example', token: 'nope-nope' } });
    await assert.rejects(wrong.ping(), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteCredentials && !e.message.includes('nope-nope'));
    const bad = newTicket({ requester: 'not-an-address' });
    await assert.rejects(h.helpdesk.createTicket(bad), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteRejected && /Email is invalid/.test(e.message));
  });
  test('queues show as tags: a move swaps mailgate_queue tags and keeps the rest; a retry after the record moved still drops the old tag', async () => {
    const { ticket } = await h.helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example', tags: ['vip'] }));
    const tags = () => [...(h.standIn.ticketsFor(ticket.id)[0]?.tags ?? [])].sort();
    await h.helpdesk.noteQueue(ticket.id, 'billing@mailgate.example');
    await h.helpdesk.moveTicket(ticket.id, 'sales@mailgate.example');
    assert.deepEqual(tags(), ['mailgate', queueTag('billing@mailgate.example'), queueTag('sales@mailgate.example'), 'vip'].sort());
    // The worker died after Mailgate's record moved and before Zendesk heard of it: the retry finds from = to.
    await h.store.moveTicket(ticket.id, 'legal@mailgate.example');
    await h.helpdesk.moveTicket(ticket.id, 'legal@mailgate.example');
    assert.deepEqual(tags(), ['mailgate', queueTag('billing@mailgate.example'), queueTag('legal@mailgate.example'), 'vip'].sort());
  });
});
