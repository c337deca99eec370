/**
 * The Freshdesk connector against its stand-in: error classes (429 + Retry-After, 401, 400 with
 * Freshdesk's field errors), the ticket and note mappings, multipart uploads, search lag, settings,
 * and that the stand-in refuses what Freshdesk refuses.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType } from '../../src/domain/errors';
import { typed } from '../stand-ins/typed-error';
import { freshdeskConfigFromEnv } from '../../src/adapters/helpdesks/freshdesk/config';
import { Freshdesk } from '../../src/adapters/helpdesks/freshdesk/connector';
import type { FreshdeskConfig } from '../../src/adapters/helpdesks/freshdesk/config';
import { cleanReport, infectedInvoice, newComment, newTicket } from '../contract/helpdesk.contract';
import { FRESHDESK_API_KEY, startFreshdeskStandIn, type FreshdeskStandIn } from '../stand-ins/freshdesk';
import { freshdeskConfig } from '../stand-ins/freshdesk/harness';
import { fakeFiles } from '../stand-ins/jira-sm/harness';

describe('Freshdesk connector', () => {
  let standIn: FreshdeskStandIn;
  const connector = (overrides: Partial<FreshdeskConfig> = {}): Freshdesk => new Freshdesk({ config: freshdeskConfig(standIn, overrides), files: fakeFiles });
  const posts = (): number => standIn.log.filter((r) => r.method === 'POST' && r.path === '/api/v2/tickets').length;

  before(async () => {
    standIn = await startFreshdeskStandIn({ searchLagMs: 60_000 });
  });
  after(async () => {
    await standIn.close();
  });
  beforeEach(() => standIn.faults.clear());

  test('a 429 with Retry-After (and Freshdesk\'s X-RateLimit headers) becomes RemoteRateLimited with that delay, sent once', async () => {
    standIn.faults.arm(
      { kind: 'status', status: 429, retryAfter: '42', headers: { 'x-ratelimit-total': '200', 'x-ratelimit-remaining': '0', 'x-ratelimit-used-currentrequest': '1' }, body: { message: 'You have exceeded the limit of requests per hour' } },
      1,
      '/api/v2/tickets',
    );
    const before = posts();
    await assert.rejects(connector().createTicket(newTicket()), typed(ErrorType.RemoteRateLimited, (e) => assert.equal(e.retryAfterMs, 42_000)));
    assert.equal(posts(), before + 1);
  });

  test('a wrong API key is RemoteCredentials, and the key appears nowhere in the error', async () => {
    await assert.rejects(
      connector({ apiKey: 'not-the-key-0000' }).ping(),
      typed(ErrorType.RemoteCredentials, (e) => {
        assert.doesNotMatch(e.message, /not-the-key-0000/);
        assert.match(e.message, /You have to be logged in/);
      }),
    );
  });

  test('a field Freshdesk refuses is RemoteRejected carrying its field errors', async () => {
    await assert.rejects(
      connector({ idField: 'cf_not_configured' }).createTicket(newTicket()),
      typed(ErrorType.RemoteRejected, (e) => assert.match(e.message, /HTTP 400: Validation failed.*cf_not_configured.*Unexpected\/invalid field in request/)),
    );
  });

  test('5xx and a hang are RemoteUnavailable', async () => {
    standIn.faults.arm({ kind: 'status', status: 500 }, 1, '/api/v2/agents/me');
    await assert.rejects(connector().ping(), typed(ErrorType.RemoteUnavailable));
    standIn.faults.arm({ kind: 'hang' }, 1, '/api/v2/agents/me');
    await assert.rejects(connector({ timeoutMs: 1_000 }).ping(), typed(ErrorType.RemoteUnavailable));
  });

  test('a ticket is an email-sourced ticket with Mailgate\'s id field, clean files uploaded multipart, infected ones only named', async () => {
    const input = newTicket({ priority: 'urgent', comment: newComment({ attachments: [cleanReport, infectedInvoice] }) });
    const { ticket } = await connector().createTicket(input);
    const stored = standIn.tickets.get(Number(ticket.id));
    assert.equal(stored?.source, 1);
    assert.equal(stored?.priority, 4);
    assert.equal(stored?.email, input.requester);
    assert.match(stored?.custom_fields.cf_mailgate_id ?? '', /^[0-9a-f]{40}$/);
    assert.deepEqual(stored?.attachments.map((a) => [a.name, a.content_type, a.bytes.toString()]), [['report.pdf', 'application/pdf', `bytes of ${cleanReport.storageKey}`]]);
    assert.match(stored?.description_text ?? '', /Mailgate: file "invoice\.zip" not attached \(infected: Win\.Test\.EICAR_HDB-1\)/);
  });

  test('a reply is an incoming public note; an internal note is private and not incoming', async () => {
    const fd = connector();
    const { ticket } = await fd.createTicket(newTicket());
    await fd.addComment(ticket.id, newComment());
    await fd.addComment(ticket.id, newComment({ internal: true }));
    const notes = standIn.tickets.get(Number(ticket.id))?.notes ?? [];
    assert.deepEqual(notes.map((n) => [n.private, n.incoming]), [[false, true], [true, false]]);
  });

  test('a note that reached Freshdesk before its worker died is found by its footer, not posted again', async () => {
    const fd = connector();
    const { ticket } = await fd.createTicket(newTicket());
    const reply = newComment();
    standIn.faults.arm({ kind: 'status', status: 503 }, 1, `/api/v2/tickets/${ticket.id}`, 'PUT');
    // The note is posted, then the meta update (PUT /tickets/{id}) fails: the retry must not post twice.
    await assert.rejects(fd.addComment(ticket.id, reply), typed(ErrorType.RemoteUnavailable));
    assert.equal(standIn.tickets.get(Number(ticket.id))?.notes.length, 1);
    const again = await fd.addComment(ticket.id, reply);
    assert.equal(standIn.tickets.get(Number(ticket.id))?.notes.length, 1);
    assert.equal(again.created, false);
    assert.deepEqual(await fd.attachmentNames(ticket.id), [], 'the message is recorded in the meta field now');
  });

  test('status: closed is 5, pending 3, open 2; resolved (4) reads as closed', async () => {
    const fd = connector();
    const { ticket } = await fd.createTicket(newTicket());
    assert.equal((await fd.setStatus(ticket.id, 'pending')).status, 'pending');
    assert.equal(standIn.tickets.get(Number(ticket.id))?.status, 3);
    const stored = standIn.tickets.get(Number(ticket.id));
    if (stored) stored.status = 4;
    assert.equal((await fd.getTicket(ticket.id))?.status, 'closed');
  });

  test('search lags: a worker that lost its index finds the ticket by Mailgate\'s id only once Freshdesk has indexed it', async () => {
    const fresh = await startFreshdeskStandIn({ searchLagMs: 0 });
    try {
      const input = newTicket();
      const first = await new Freshdesk({ config: freshdeskConfig(fresh), files: fakeFiles }).createTicket(input);
      const again = await new Freshdesk({ config: freshdeskConfig(fresh), files: fakeFiles }).createTicket(input);
      assert.deepEqual([again.created, again.ticket.id], [false, first.ticket.id]);
      assert.equal(fresh.tickets.size, 1);
    } finally {
      await fresh.close();
    }
  });

  test('the stand-in refuses a ticket without a requester, with an unknown field or a bad source, in Freshdesk\'s shape', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`${FRESHDESK_API_KEY}:X`).toString('base64')}`, 'content-type': 'application/json' };
    for (const [body, field] of [
      [{ subject: 's', description: 'd' }, 'requester_id'],
      [{ email: 'a@b.example', subject: 's', description: 'd', colour: 'red' }, 'colour'],
      [{ email: 'a@b.example', subject: 's', description: 'd', source: 4 }, 'source'],
      [{ email: 'not-an-email', subject: 's', description: 'd' }, 'email'],
    ] as const) {
      const answer = await fetch(`${standIn.url}/api/v2/tickets`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
      assert.equal(answer.status, 400);
      const problem = (await answer.json()) as { description: string; errors: { field: string }[] };
      assert.equal(problem.description, 'Validation failed');
      assert.ok(problem.errors.some((e) => e.field === field), `an error names ${field}`);
    }
  });

  test('settings: defaults, and a bad value named without the key', () => {
    const env = { FRESHDESK_BASE_URL: 'https://acme.freshdesk.com', FRESHDESK_API_KEY: 'key-secret-123' };
    assert.deepEqual(freshdeskConfigFromEnv(env), {
      baseUrl: 'https://acme.freshdesk.com',
      apiKey: 'key-secret-123',
      idField: 'cf_mailgate_id',
      metaField: 'cf_mailgate_meta',
      attachments: 'upload',
      timeoutMs: 30_000,
    });
    assert.throws(() => freshdeskConfigFromEnv({ ...env, FRESHDESK_ID_FIELD: 'mailgate' }), /FRESHDESK_ID_FIELD must be a custom field/);
    assert.throws(() => freshdeskConfigFromEnv({ ...env, FRESHDESK_BASE_URL: 'http://acme.freshdesk.com' }), /must use https/);
    assert.throws(() => freshdeskConfigFromEnv({ FRESHDESK_BASE_URL: env.FRESHDESK_BASE_URL }), (e: Error) => /FRESHDESK_API_KEY is required/.test(e.message));
  });

  test('queues show as mailgate-queue tags: a move swaps the tag, a noted queue adds one, the rule tags stay and are not queue tags', async () => {
    const fd = connector();
    const { ticket } = await fd.createTicket(newTicket({ queue: 'Support@mailgate.example', tags: ['vip'] }));
    const tags = () => [...(standIn.tickets.get(Number(ticket.id))?.tags ?? [])].sort();
    assert.deepEqual(tags(), ['mailgate-queue:support@mailgate.example', 'vip']);
    await fd.noteQueue(ticket.id, 'billing@mailgate.example');
    await fd.moveTicket(ticket.id, 'sales@mailgate.example');
    assert.deepEqual(tags(), ['mailgate-queue:billing@mailgate.example', 'mailgate-queue:sales@mailgate.example', 'vip']);
    assert.deepEqual((await fd.getTicket(ticket.id))?.tags, ['vip'], 'queue tags are not the ticket\'s tags');
  });
});
