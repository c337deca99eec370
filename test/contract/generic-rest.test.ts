/**
 * The Helpdesk contract against the generic REST connector and its reference receiver, which checks
 * every request's signature and validates bodies and answers against docs/generic-rest-helpdesk.openapi.yaml.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GenericRestConnector, genericRestSignature } from '../../src/adapters/helpdesks/generic-rest/generic-rest';
import { ErrorType, TypedError } from '../../src/domain/errors';
import { GenericRestReceiver } from '../stand-ins/generic-rest-receiver';
import { deliveringHarness, type DeliveringHarness } from './delivering-harness';
import { cleanReport, helpdeskContract, infectedInvoice, newComment, newTicket } from './helpdesk.contract';

const SECRET = 'generic-rest-shared-secret-of-32-chars!';

async function harness(): Promise<DeliveringHarness & { receiver: GenericRestReceiver }> {
  const receiver = new GenericRestReceiver(SECRET);
  const baseUrl = await receiver.start();
  const under = await deliveringHarness({
    name: 'rest-test',
    connector: new GenericRestConnector({ name: 'rest-test', baseUrl, secret: SECRET, timeoutMs: 5000 }),
    remoteComments: (externalId) =>
      (receiver.tickets.get(externalId)?.comments ?? []).map((c) => ({
        messageId: c.messageId,
        text: String(c.body.text),
        internal: c.body.internal === true,
        filenames: ((c.body.files ?? []) as { filename: string }[]).map((f) => f.filename),
      })),
    remoteShowsQueue: (externalId, queue) => {
      const t = receiver.tickets.get(externalId);
      return t !== undefined && (t.queue === queue || t.extraQueues.includes(queue));
    },
    stop: () => receiver.stop(),
  });
  return { ...under, receiver };
}

helpdeskContract('generic REST connector against the reference receiver', harness);

describe('generic REST connector', () => {
  let h: DeliveringHarness & { receiver: GenericRestReceiver };
  before(async () => {
    h = await harness();
  });
  after(() => h.cleanup());

  test('the receiver refused nothing Mailgate sent in the contract suite or here, and files arrive whole', async () => {
    const { ticket } = await h.helpdesk.createTicket(newTicket({ comment: newComment({ attachments: [cleanReport, infectedInvoice] }) }));
    const [remote] = h.receiver.ticketsFor(ticket.id);
    assert.ok(remote);
    assert.equal(h.receiver.fileHash(remote.id, 'report.pdf') !== undefined, true);
    assert.equal(h.receiver.fileHash(remote.id, 'invoice.zip'), undefined, 'an infected file never leaves Mailgate');
    assert.deepEqual(h.receiver.refused, []);
  });

  test('a wrong secret or a stale timestamp is refused as a credentials error; the secret never shows', async () => {
    const wrong = new GenericRestConnector({ name: 'rest-wrong', baseUrl: h.receiver.baseUrl, secret: 'another-secret-that-is-long-enough!!' });
    await assert.rejects(wrong.ping(), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteCredentials && !e.message.includes('another-secret'));
    const stale = new GenericRestConnector({ name: 'rest-stale', baseUrl: h.receiver.baseUrl, secret: SECRET, now: () => Date.now() - 600_000 });
    await assert.rejects(stale.ping(), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteCredentials);
  });

  test('the signature covers method, path, query and body: any change breaks it', () => {
    const base = { timestamp: 1_700_000_000, method: 'POST', pathAndQuery: '/mailgate/tickets', body: Buffer.from('{"a":1}') };
    const signature = genericRestSignature(SECRET, base);
    assert.match(signature, /^v1=[0-9a-f]{64}$/);
    for (const changed of [{ ...base, timestamp: 1_700_000_001 }, { ...base, method: 'PUT' }, { ...base, pathAndQuery: '/mailgate/tickets?x=1' }, { ...base, body: Buffer.from('{"a":2}') }]) {
      assert.notEqual(genericRestSignature(SECRET, changed), signature);
    }
  });

  test('a 503 with Retry-After is rate limited with that delay', async () => {
    h.receiver.faults.push({ match: 'POST /mailgate/tickets', status: 503, retryAfter: '4', times: 1 });
    await assert.rejects(h.helpdesk.createTicket(newTicket()), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteRateLimited && e.retryAfterMs === 4000);
  });
});
