/**
 * The Helpdesk contract against the ServiceNow connector and its loopback stand-in (Table and
 * Attachment APIs), then what only ServiceNow does: each message's header block kept for audit in
 * `u_mailgate_headers` (on create, appended per reply, cut with a note, exactly once through
 * DeliveringHelpdesk's retries), and queue moves shown by assignment group or work note.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DeliveringHelpdesk } from '../../src/adapters/helpdesks/delivering-helpdesk';
import { serviceNowKind } from '../../src/adapters/helpdesks/vendor-kinds';
import { parseConnectors } from '../../src/adapters/helpdesks/settings';
import type { ServiceNowConfig } from '../../src/adapters/helpdesks/servicenow/config';
import { ServiceNow } from '../../src/adapters/helpdesks/servicenow/connector';
import { createSqliteTicketStore, type TicketStore } from '../../src/adapters/ticket-store';
import { auditHeaderBlock } from '../../src/domain/audit-headers';
import { helpdeskContract, newComment, newTicket } from './helpdesk.contract';
import { serviceNowConfig, serviceNowUnderTest } from '../stand-ins/servicenow/harness';
import { fakeFiles } from '../stand-ins/jira-sm/harness';
import { SERVICENOW_USER, startServiceNowStandIn, type ServiceNowStandIn } from '../stand-ins/servicenow';

helpdeskContract('ServiceNow (stand-in)', serviceNowUnderTest);

const BLOCK_A = 'Received: from mx.customer.example by mx.acme.example;\n\tMon, 7 Dec 2026 10:00:00 +0000\nFrom: ann@customer.example\nSubject: Printer';
const BLOCK_B = 'Received: from mx2.customer.example by mx.acme.example\nFrom: ann@customer.example\nIn-Reply-To: <a@customer.example>';

describe('ServiceNow headers field and queue moves', () => {
  let standIn: ServiceNowStandIn;
  const connector = (overrides: Partial<ServiceNowConfig> = {}): ServiceNow => new ServiceNow({ config: serviceNowConfig(standIn, overrides), files: fakeFiles });
  const incident = (id: string) => standIn.tables.get('incident')?.get(id);
  const workNotes = (id: string) => [...(standIn.tables.get('sys_journal_field')?.values() ?? [])].filter((j) => j.element_id === id && j.element === 'work_notes').map((j) => j.value ?? '');

  before(async () => {
    standIn = await startServiceNowStandIn();
  });
  after(() => standIn.close());

  test('the first message\'s header block is kept on create and each reply\'s is appended, each under its Message-ID', async () => {
    const sn = connector();
    assert.equal(await sn.keepsHeaders(), true);
    const first = newComment({ headers: BLOCK_A });
    const { ticket } = await sn.createTicket(newTicket({ comment: first }));
    assert.equal(incident(ticket.id)?.u_mailgate_headers, `==== Message-ID <${first.messageId}> ====\n${BLOCK_A}`);
    const reply = newComment({ headers: BLOCK_B });
    await sn.addComment(ticket.id, reply);
    await sn.addComment(ticket.id, reply);
    await sn.addComment(ticket.id, newComment({ author: 'mailgate', internal: true, text: 'a note of Mailgate\'s own' }));
    assert.equal(incident(ticket.id)?.u_mailgate_headers, `==== Message-ID <${first.messageId}> ====\n${BLOCK_A}\n\n==== Message-ID <${reply.messageId}> ====\n${BLOCK_B}`, 'once per reply; a note without headers adds none');
  });

  test('a header block cut at its limit arrives with the line that says so', async () => {
    const lines = Array.from({ length: 1500 }, (_, i) => `X-Trace-${i}: ${'t'.repeat(30)}`).join('\r\n');
    const headers = auditHeaderBlock(Buffer.from(`From: ann@customer.example\r\n${lines}\r\n\r\nbody`), { complete: true, policy: { kinds: [] } });
    const { ticket } = await connector().createTicket(newTicket({ comment: newComment({ headers }) }));
    const kept = incident(ticket.id)?.u_mailgate_headers ?? '';
    assert.match(kept, /\n\[Mailgate: header block truncated: first \d+ bytes kept, limit 16384\]$/);
    assert.match(kept, /^==== Message-ID <[^>]+> ====\nFrom: ann@customer\.example\nX-Trace-0: t{30}\n/);
  });

  test('with the headers field turned off nothing is written to it and the ticket step is told not to load headers', async () => {
    const sn = connector({ headersField: null });
    assert.equal(await sn.keepsHeaders(), false);
    const { ticket } = await sn.createTicket(newTicket({ comment: newComment({ headers: BLOCK_A }) }));
    assert.equal(incident(ticket.id)?.u_mailgate_headers ?? '', '');
  });

  test('a move sets the target queue\'s assignment group; without one configured a work note says where it went', async () => {
    const sn = connector({ assignmentGroups: { 'billing@mailgate.example': 'Billing' } });
    const { ticket } = await sn.createTicket(newTicket({ queue: 'support@mailgate.example' }));
    await sn.moveTicket(ticket.id, 'Billing@mailgate.example');
    assert.equal(incident(ticket.id)?.assignment_group, 'Billing');
    assert.deepEqual(workNotes(ticket.id), [], 'the group change is the visible record');
    await sn.moveTicket(ticket.id, 'sales@mailgate.example');
    await sn.moveTicket(ticket.id, 'sales@mailgate.example');
    assert.deepEqual(workNotes(ticket.id), ['Mailgate: moved from queue billing@mailgate.example to sales@mailgate.example.'], 'one note, however often it is moved there');
    await sn.noteQueue(ticket.id, 'legal@mailgate.example');
    await sn.noteQueue(ticket.id, 'legal@mailgate.example');
    assert.equal(workNotes(ticket.id).filter((n) => n.includes('also serves queue legal@mailgate.example')).length, 1);
  });

  test('a new ticket of a queue with an assignment group goes to that group', async () => {
    const { ticket } = await connector({ assignmentGroups: { 'support@mailgate.example': 'Service Desk' } }).createTicket(newTicket({ queue: 'support@mailgate.example' }));
    assert.equal(incident(ticket.id)?.assignment_group, 'Service Desk');
  });

  describe('through the registry and DeliveringHelpdesk', () => {
    let dir: string;
    let store: TicketStore;
    let helpdesk: DeliveringHelpdesk;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'mailgate-snow-headers-'));
      store = createSqliteTicketStore(join(dir, 'tickets.sqlite'));
      await store.migrate();
      const [settings] = parseConnectors(
        JSON.stringify([{ name: 'snow-h', kind: 'servicenow', baseUrl: standIn.url, user: SERVICENOW_USER.name, passwordEnv: 'SNOW_PW', timeoutMs: 5_000, assignmentGroups: { 'billing@mailgate.example': 'Billing' } }]),
        { SNOW_PW: SERVICENOW_USER.password },
      );
      helpdesk = new DeliveringHelpdesk({
        name: 'snow-h',
        connector: serviceNowKind(settings!, { request: () => undefined, rateLimited: () => undefined }),
        record: store,
        ledger: store,
        attachments: 'upload',
        readFile: async (key) => Buffer.from(`bytes of ${key}`),
        leaseMs: 30_000,
      });
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the headers travel with the create and each reply, once however often the step is retried', async () => {
      assert.equal(await helpdesk.keepsHeaders(), true);
      const first = newComment({ headers: BLOCK_A });
      const input = newTicket({ comment: first });
      const { ticket } = await helpdesk.createTicket(input);
      await helpdesk.createTicket(input);
      const reply = newComment({ headers: BLOCK_B });
      await helpdesk.addComment(ticket.id, reply);
      await helpdesk.addComment(ticket.id, reply);
      const externalId = await store.deliveredId({ connector: 'snow-h', ticketId: ticket.id, messageId: null });
      assert.equal(incident(externalId!)?.u_mailgate_headers, `==== Message-ID <${first.messageId}> ====\n${BLOCK_A}\n\n==== Message-ID <${reply.messageId}> ====\n${BLOCK_B}`);
    });

    test('an operator\'s move reaches ServiceNow: the record, the assignment group', async () => {
      const { ticket } = await helpdesk.createTicket(newTicket({ queue: 'support@mailgate.example' }));
      const moved = await helpdesk.moveTicket(ticket.id, 'billing@mailgate.example');
      assert.equal(moved.queue, 'billing@mailgate.example');
      const externalId = await store.deliveredId({ connector: 'snow-h', ticketId: ticket.id, messageId: null });
      assert.equal(incident(externalId!)?.assignment_group, 'Billing');
      assert.equal(JSON.parse(incident(externalId!)?.u_mailgate_meta ?? '{}').queue, 'billing@mailgate.example');
    });
  });
});
