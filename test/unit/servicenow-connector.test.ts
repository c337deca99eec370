/**
 * The ServiceNow connector against its stand-in: error classes (429 + Retry-After, 401, a data-policy
 * 403 as a refusal rather than a credentials alert, 400), the incident mapping, the missing custom
 * field, the consistent correlation_id lookup, settings, and the stand-in's own refusals.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType } from '../../src/domain/errors';
import { typed } from '../stand-ins/typed-error';
import { serviceNowConfigFromEnv, type ServiceNowConfig } from '../../src/adapters/helpdesks/servicenow/config';
import { correlationId, ServiceNow } from '../../src/adapters/helpdesks/servicenow/connector';
import { cleanReport, newComment, newTicket } from '../contract/helpdesk.contract';
import { SERVICENOW_USER, startServiceNowStandIn, type ServiceNowStandIn } from '../stand-ins/servicenow';
import { serviceNowConfig } from '../stand-ins/servicenow/harness';
import { fakeFiles } from '../stand-ins/jira-sm/harness';

describe('ServiceNow connector', () => {
  let standIn: ServiceNowStandIn;
  const connector = (overrides: Partial<ServiceNowConfig> = {}): ServiceNow => new ServiceNow({ config: serviceNowConfig(standIn, overrides), files: fakeFiles });
  const incidents = () => standIn.tables.get('incident') ?? new Map<string, Record<string, string>>();

  before(async () => {
    standIn = await startServiceNowStandIn();
  });
  after(async () => {
    await standIn.close();
  });
  beforeEach(() => standIn.faults.clear());

  test('a 429 with Retry-After in ServiceNow\'s shape becomes RemoteRateLimited with that delay, sent once', async () => {
    standIn.faults.arm(
      { kind: 'status', status: 429, retryAfter: '30', headers: { 'x-ratelimit-limit': '100', 'x-ratelimit-reset': '1767225600' }, body: { error: { message: 'Rate limit exceeded', detail: 'Too many requests' }, status: 'failure' } },
      1,
      '/api/now/table/incident',
      'POST',
    );
    const before = standIn.log.filter((r) => r.method === 'POST').length;
    await assert.rejects(connector().createTicket(newTicket()), typed(ErrorType.RemoteRateLimited, (e) => assert.equal(e.retryAfterMs, 30_000)));
    assert.equal(standIn.log.filter((r) => r.method === 'POST').length, before + 1);
  });

  test('a wrong password is RemoteCredentials, without the password in the error', async () => {
    await assert.rejects(
      connector({ password: 'wrong-password-9999' }).ping(),
      typed(ErrorType.RemoteCredentials, (e) => {
        assert.doesNotMatch(e.message, /wrong-password-9999/);
        assert.match(e.message, /User Not Authenticated/);
      }),
    );
  });

  test('a data-policy 403 is a RemoteRejected with ServiceNow\'s message, not a credentials alert', async () => {
    const sn = connector({ closeCode: '' });
    const { ticket } = await sn.createTicket(newTicket());
    // An empty close code is what a misconfigured instance would get: the data policy refuses the close.
    await assert.rejects(sn.setStatus(ticket.id, 'closed'), typed(ErrorType.RemoteRejected, (e) => assert.match(e.message, /HTTP 403: Operation Failed; Data Policy Exception/)));
  });

  test('a table the instance does not have is RemoteRejected with ServiceNow\'s message', async () => {
    await assert.rejects(connector({ table: 'u_no_such_table' }).ping(), typed(ErrorType.RemoteRejected, (e) => assert.match(e.message, /HTTP 400: Invalid table/)));
  });

  test('without the custom field (the Table API drops unknown fields) the create is refused, naming the field', async () => {
    await assert.rejects(connector({ metaField: 'u_not_there' }).createTicket(newTicket()), typed(ErrorType.RemoteRejected, (e) => assert.match(e.message, /did not keep u_not_there/)));
  });

  test('an incident carries the email contact type, correlation id, the caller found by email, impact and urgency', async () => {
    standIn.tables.get('sys_user')?.set('a'.repeat(32), { sys_id: 'a'.repeat(32), email: 'erin@customer.example', name: 'Erin' });
    const input = newTicket({ requester: 'erin@customer.example', priority: 'high', comment: newComment({ attachments: [cleanReport] }) });
    const { ticket } = await connector().createTicket(input);
    const row = incidents().get(ticket.id);
    assert.equal(row?.contact_type, 'email');
    assert.equal(row?.correlation_id, correlationId(input.originKey));
    assert.equal(row?.caller_id, 'a'.repeat(32));
    assert.deepEqual([row?.impact, row?.urgency, row?.priority], ['1', '2', '2']);
    assert.match(String(row?.number), /^INC\d{7}$/);
    assert.equal(ticket.number, Number(String(row?.number).slice(3)));
    assert.deepEqual(standIn.attachments.filter((a) => a.table_sys_id === ticket.id).map((a) => [a.file_name, a.content_type, a.bytes.toString()]), [
      ['report.pdf', 'application/pdf', `bytes of ${cleanReport.storageKey}`],
    ]);
  });

  test('a worker that lost its index finds the incident by correlation_id at once (a consistent query), and creates nothing', async () => {
    const input = newTicket();
    const first = await connector().createTicket(input);
    const size = incidents().size;
    const again = await connector().createTicket(input);
    assert.deepEqual([again.created, again.ticket.id], [false, first.ticket.id]);
    assert.equal(incidents().size, size);
  });

  test('a reply is a customer-visible comment, an internal note a work note; pending is On Hold', async () => {
    const sn = connector();
    const { ticket } = await sn.createTicket(newTicket());
    await sn.addComment(ticket.id, newComment());
    await sn.addComment(ticket.id, newComment({ internal: true }));
    const journal = [...(standIn.tables.get('sys_journal_field')?.values() ?? [])].filter((j) => j.element_id === ticket.id);
    assert.deepEqual(journal.map((j) => j.element), ['comments', 'work_notes']);
    assert.equal((await sn.setStatus(ticket.id, 'pending')).status, 'pending');
    assert.equal(incidents().get(ticket.id)?.state, '3');
  });

  test('settings: defaults, and a bad value named without the password or the groups\' text', () => {
    const env = { SERVICENOW_BASE_URL: 'https://acme.service-now.com', SERVICENOW_USER: 'mailgate', SERVICENOW_PASSWORD: 'pw-secret-1' };
    assert.deepEqual(serviceNowConfigFromEnv(env), {
      baseUrl: 'https://acme.service-now.com',
      user: 'mailgate',
      password: 'pw-secret-1',
      table: 'incident',
      numberPrefix: 'INC',
      metaField: 'u_mailgate_meta',
      headersField: 'u_mailgate_headers',
      assignmentGroups: {},
      closeCode: 'Solved (Permanently)',
      attachments: 'upload',
      timeoutMs: 30_000,
    });
    assert.equal(serviceNowConfigFromEnv({ ...env, SERVICENOW_HEADERS_FIELD: 'none' }).headersField, null);
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_HEADERS_FIELD: 'headers' }), /SERVICENOW_HEADERS_FIELD must be a custom field \(u_…, lower case\) or none/);
    assert.deepEqual(serviceNowConfigFromEnv({ ...env, SERVICENOW_ASSIGNMENT_GROUPS: '{"Billing@Acme.example":" Billing "}' }).assignmentGroups, { 'billing@acme.example': 'Billing' });
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_ASSIGNMENT_GROUPS: '["Billing"]' }), /SERVICENOW_ASSIGNMENT_GROUPS must be a JSON object/);
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_ASSIGNMENT_GROUPS: '{"a@b.example":""}' }), /SERVICENOW_ASSIGNMENT_GROUPS must be a JSON object/);
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_META_FIELD: 'mailgate' }), /SERVICENOW_META_FIELD must be a custom field/);
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_TABLE: 'Incident' }), /SERVICENOW_TABLE must be a table name/);
    assert.throws(() => serviceNowConfigFromEnv({ ...env, SERVICENOW_PASSWORD: '' }), (e: Error) => /SERVICENOW_PASSWORD is required/.test(e.message) && !/pw-secret/.test(e.message));
  });

  test('the stand-in refuses what ServiceNow refuses: no auth, a body that is not JSON, an unknown record, an invalid query', async () => {
    const auth = `Basic ${Buffer.from(`${SERVICENOW_USER.name}:${SERVICENOW_USER.password}`).toString('base64')}`;
    assert.equal((await fetch(`${standIn.url}/api/now/table/incident`)).status, 401);
    const notJson = await fetch(`${standIn.url}/api/now/table/incident`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: '{' });
    assert.equal(notJson.status, 400);
    const unknown = await fetch(`${standIn.url}/api/now/table/incident/${'f'.repeat(32)}`, { headers: { authorization: auth } });
    assert.equal(unknown.status, 404);
    assert.deepEqual(((await unknown.json()) as { status: string }).status, 'failure');
    const query = await fetch(`${standIn.url}/api/now/table/incident?sysparm_query=${encodeURIComponent('number>5')}`, { headers: { authorization: auth } });
    assert.equal(query.status, 400);
  });
});
