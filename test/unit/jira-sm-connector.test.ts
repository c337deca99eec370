/**
 * The Jira Service Management connector against its stand-in (without Prism, to stay fast): how each
 * vendor answer is classified, that no request is retried underneath Temporal, the requester and
 * attachment mappings, search lag, and that the stand-in refuses what Jira refuses.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType } from '../../src/domain/errors';
import { typed } from '../stand-ins/typed-error';
import { JiraServiceManagement, memoryOriginIndex } from '../../src/adapters/helpdesks/jira-sm/connector';
import { dedupeLabel, parseBody } from '../../src/adapters/helpdesks/jira-sm/mapping';
import { cleanReport, infectedInvoice, newComment, newTicket } from '../contract/helpdesk.contract';
import { startJsmStandIn, JSM_AGENT, JSM_SERVICE_DESK_ID, type JsmStandIn } from '../stand-ins/jira-sm';
import { fakeFiles, jsmConfig } from '../stand-ins/jira-sm/harness';
import type { JiraSmConfig } from '../../src/adapters/helpdesks/jira-sm/config';

function creates(standIn: JsmStandIn): number {
  return standIn.log.filter((r) => r.method === 'POST' && r.path === '/rest/servicedeskapi/request').length;
}

describe('Jira Service Management connector', () => {
  let standIn: JsmStandIn;
  const connector = (overrides: Partial<JiraSmConfig> = {}): JiraServiceManagement =>
    new JiraServiceManagement({ config: jsmConfig(standIn, overrides), files: fakeFiles });

  before(async () => {
    standIn = await startJsmStandIn({ searchLagMs: 60_000 });
  });
  after(async () => {
    await standIn.close();
  });
  beforeEach(() => standIn.faults.clear());

  describe('error classification', () => {
    test('a 429 with Retry-After becomes RemoteRateLimited with that delay, and the request is sent once (no retries of its own)', async () => {
      standIn.faults.arm({ kind: 'status', status: 429, retryAfter: '7', body: { errorMessages: ['Rate limit exceeded.'] } }, 1, '/rest/servicedeskapi/request');
      const before = creates(standIn);
      await assert.rejects(connector().createTicket(newTicket()), typed(ErrorType.RemoteRateLimited, (e) => assert.equal(e.retryAfterMs, 7_000)));
      assert.equal(creates(standIn), before + 1);
    });

    test('a 503 with Retry-After is rate limiting too; a 503 without it is RemoteUnavailable', async () => {
      standIn.faults.arm({ kind: 'status', status: 503, retryAfter: '3' }, 1, '/rest/api/3/myself');
      await assert.rejects(connector().ping(), typed(ErrorType.RemoteRateLimited, (e) => assert.equal(e.retryAfterMs, 3_000)));
      standIn.faults.arm({ kind: 'status', status: 503 }, 1, '/rest/api/3/myself');
      await assert.rejects(connector().ping(), typed(ErrorType.RemoteUnavailable));
    });

    test('a wrong API token is RemoteCredentials, and the token appears nowhere in the error', async () => {
      const secret = 'wrong-token-that-must-not-leak';
      await assert.rejects(
        connector({ apiToken: secret }).createTicket(newTicket()),
        typed(ErrorType.RemoteCredentials, (e) => {
          assert.doesNotMatch(e.message, new RegExp(secret));
          assert.match(e.message, /Client must be authenticated/);
        }),
      );
    });

    test('a request Jira refuses as invalid is RemoteRejected carrying Jira\'s own message', async () => {
      await assert.rejects(
        connector({ requestTypeId: '99' }).createTicket(newTicket()),
        typed(ErrorType.RemoteRejected, (e) => assert.match(e.message, /HTTP 400: The request type '99' does not exist on this service desk/)),
      );
    });

    test('a request that gets no answer fails as RemoteUnavailable once the timeout passes', async () => {
      standIn.faults.arm({ kind: 'hang' }, 1, '/rest/api/3/myself');
      await assert.rejects(connector({ timeoutMs: 1_000 }).ping(), typed(ErrorType.RemoteUnavailable, (e) => assert.match(e.message, /no answer within 1000 ms/)));
    });

    test('a comment on a request that does not exist is a permanent RemoteRejected; a link to one is InvalidTicketInput', async () => {
      await assert.rejects(connector().addComment('SD-999999', newComment()), typed(ErrorType.RemoteRejected));
      await assert.rejects(connector().createTicket(newTicket({ linkedTicketId: 'SD-999999' })), typed(ErrorType.InvalidTicketInput));
    });
  });

  describe('mapping', () => {
    test('the request is raised on behalf of the requester: an existing account is found, a new one becomes a JSM customer', async () => {
      const { ticket } = await connector().createTicket(newTicket({ requester: 'carol@customer.example' }));
      const issue = standIn.state.issue(ticket.id);
      const carol = standIn.state.userByEmail('carol@customer.example');
      assert.equal(carol?.accountType, 'customer');
      assert.equal(issue?.reporterId, carol?.accountId);
      const users = standIn.state.users.size;
      const second = await connector().createTicket(newTicket({ requester: 'Carol@Customer.example' }));
      assert.equal(standIn.state.users.size, users, 'no second customer for the same address');
      assert.equal(standIn.state.issue(second.ticket.id)?.reporterId, carol?.accountId);
    });

    test('without permission to create customers the request is raised by the agent, and the footer names the sender', async () => {
      const { ticket } = await connector({ createCustomers: false }).createTicket(newTicket({ requester: 'dave@customer.example' }));
      const issue = standIn.state.issue(ticket.id);
      assert.equal(standIn.state.userByEmail('dave@customer.example'), undefined);
      assert.equal(issue?.reporterId, standIn.state.agent.accountId);
      assert.match(issue?.description ?? '', /Mailgate: from alice@customer\.example/);
    });

    test('clean files are uploaded as temporary files and attached; an infected one is only named in the footer', async () => {
      const { ticket } = await connector().createTicket(newTicket({ comment: newComment({ attachments: [cleanReport, infectedInvoice] }) }));
      const issue = standIn.state.issue(ticket.id);
      assert.deepEqual(issue?.attachments.map((a) => [a.filename, a.mimeType, a.bytes.toString()]), [['report.pdf', 'application/pdf', `bytes of ${cleanReport.storageKey}`]]);
      assert.match(issue?.description ?? '', /Mailgate: file "invoice\.zip" not attached \(infected: Win\.Test\.EICAR_HDB-1\)/);
      assert.equal(standIn.state.temporaryFiles.size, 0, 'every temporary file was used');
    });

    test('in links mode no file is uploaded: the footer links Mailgate\'s clean copy', async () => {
      const jira = connector({ attachments: 'links' });
      const { ticket } = await jira.createTicket(newTicket());
      await jira.addComment(ticket.id, newComment({ attachments: [cleanReport] }));
      const issue = standIn.state.issue(ticket.id);
      assert.equal(issue?.attachments.length, 0);
      assert.match(issue?.comments[0]?.body ?? '', /Mailgate: file "report\.pdf" at https:\/\/mailgate\.example\/files\/attachments%2Fcontract%2Freport\.pdf/);
    });

    test('an internal note is a non-public JSM comment and its files are attached non-public', async () => {
      const jira = connector();
      const { ticket } = await jira.createTicket(newTicket());
      await jira.addComment(ticket.id, newComment({ internal: true, attachments: [cleanReport] }));
      const issue = standIn.state.issue(ticket.id);
      assert.equal(issue?.comments[0]?.public, false);
      assert.equal(issue?.attachments.length, 1);
    });

    test('a file name with quotes survives the footer round trip', () => {
      const body = `Hello${'\n\n----\n'}Mailgate: Message-ID <a@b>\nMailgate: file "say \\"hi\\".txt" attached`;
      assert.deepEqual(parseBody(body), { text: 'Hello', messageId: 'a@b', filenames: ['say "hi".txt'] });
    });
  });

  describe('search lags writes: the ledger decides, the label search is the second line', () => {
    test('right after a create, the label search does not see the request yet, but the index does', async () => {
      const index = memoryOriginIndex();
      const input = newTicket();
      const first = await new JiraServiceManagement({ config: jsmConfig(standIn), files: fakeFiles, index }).createTicket(input);
      const again = await new JiraServiceManagement({ config: jsmConfig(standIn), files: fakeFiles, index }).createTicket(input);
      assert.equal(again.created, false);
      assert.equal(again.ticket.id, first.ticket.id);
      const hits = standIn.state.issue(first.ticket.id)?.labels.includes(dedupeLabel(input.originKey));
      assert.equal(hits, true);
      const search = await fetch(`${standIn.url}/rest/api/3/search/jql`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${JSM_AGENT.email}:${JSM_AGENT.token}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ jql: `labels = "${dedupeLabel(input.originKey)}"` }),
      });
      assert.deepEqual(((await search.json()) as { issues: unknown[] }).issues, [], 'the index has not caught up');
    });

    test('once the index has caught up, a worker that lost its index finds the request by label and creates nothing', async () => {
      const fresh = await startJsmStandIn({ searchLagMs: 0 });
      try {
        const input = newTicket();
        const first = await new JiraServiceManagement({ config: jsmConfig(fresh), files: fakeFiles }).createTicket(input);
        const again = await new JiraServiceManagement({ config: jsmConfig(fresh), files: fakeFiles }).createTicket(input);
        assert.deepEqual([again.created, again.ticket.id], [false, first.ticket.id]);
        assert.equal(creates(fresh), 1);
      } finally {
        await fresh.close();
      }
    });
  });

  describe('the stand-in refuses what Jira refuses', () => {
    const auth = { authorization: `Basic ${Buffer.from(`${JSM_AGENT.email}:${JSM_AGENT.token}`).toString('base64')}` };
    const post = (path: string, body: unknown): Promise<Response> =>
      fetch(`${standIn.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const request = (fields: Record<string, unknown>): Promise<Response> =>
      post('/rest/servicedeskapi/request', { serviceDeskId: JSM_SERVICE_DESK_ID, requestTypeId: '10', requestFieldValues: { summary: 'S', ...fields } });

    test('a label with a space, a field the request type lacks, a missing summary and an unknown account are 400s in JSM\'s shape', async () => {
      for (const [fields, message] of [
        [{ labels: ['two words'] }, /contains spaces/],
        [{ customfield_10010: 'x' }, /Field 'customfield_10010' is not valid/],
        [{ summary: '' }, /must specify a summary/],
      ] as const) {
        const answer = await request(fields);
        assert.equal(answer.status, 400);
        assert.match(((await answer.json()) as { errorMessage: string }).errorMessage, message);
      }
      const unknown = await post('/rest/servicedeskapi/request', { serviceDeskId: '1', requestTypeId: '10', requestFieldValues: { summary: 'S' }, raiseOnBehalfOf: 'nobody' });
      assert.equal(unknown.status, 400);
    });

    test('a temporary file upload without X-Atlassian-Token: no-check fails the XSRF check', async () => {
      const form = new FormData();
      form.append('file', new Blob(['x']), 'a.txt');
      const answer = await fetch(`${standIn.url}/rest/servicedeskapi/servicedesk/1/attachTemporaryFile`, { method: 'POST', headers: auth, body: form });
      assert.equal(answer.status, 403);
    });

    test('a customer whose email already has an account is a 400', async () => {
      const answer = await post('/rest/servicedeskapi/customer', { email: JSM_AGENT.email, displayName: 'Again' });
      assert.equal(answer.status, 400);
    });
  });

  test('queues show as mailgate-queue labels: a move swaps the label, a noted queue adds one, the rule tags stay and are not queue labels', async () => {
    const jsm = connector();
    const { ticket } = await jsm.createTicket(newTicket({ queue: 'Support@mailgate.example', tags: ['vip'] }));
    const labels = () => [...(standIn.state.issue(ticket.id)?.labels ?? [])].filter((l) => !l.startsWith('mg-')).sort();
    assert.deepEqual(labels(), ['mailgate-queue:support@mailgate.example', 'vip']);
    await jsm.noteQueue(ticket.id, 'billing@mailgate.example');
    await jsm.moveTicket(ticket.id, 'sales@mailgate.example');
    assert.deepEqual(labels(), ['mailgate-queue:billing@mailgate.example', 'mailgate-queue:sales@mailgate.example', 'vip']);
    assert.deepEqual((await jsm.getTicket(ticket.id))?.tags, ['vip'], 'queue labels are not the ticket\'s tags');
    const edits = standIn.log.filter((r) => r.method === 'PUT' && r.path === `/rest/api/3/issue/${ticket.id}`).length;
    await jsm.moveTicket(ticket.id, 'sales@mailgate.example');
    assert.equal(standIn.log.filter((r) => r.method === 'PUT' && r.path === `/rest/api/3/issue/${ticket.id}`).length, edits, 'moving again edits nothing');
  });
});
