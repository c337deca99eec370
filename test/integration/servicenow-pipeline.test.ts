/**
 * ServiceNow through the whole pipeline (API and worker processes, the Temporal dev server, the
 * object store): the ticket step reads each email's header block from its raw message and the
 * connector keeps it in `u_mailgate_headers` (cut at the limit with a note, a card number in a header
 * redacted as the queue redacts), a reply's block appended; an operator's reprocess with another
 * queue moves the incident to that queue's assignment group, with Mailgate's work note.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readServiceNowMeta } from '../../src/adapters/helpdesks/servicenow/connector';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';
import { SERVICENOW_USER, startServiceNowStandIn, type ServiceNowStandIn } from '../stand-ins/servicenow';

const SUPPORT = 'support@mailgate.local';
const BILLING = 'billing@mailgate.local';

describe('ServiceNow through the pipeline', () => {
  let app: RunningApp;
  let standIn: ServiceNowStandIn;

  before(async () => {
    standIn = await startServiceNowStandIn();
    const dir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'test-apps', unique('snow-pipeline'));
    mkdirSync(dir, { recursive: true });
    const rulesFile = path.join(dir, 'rules.json');
    writeFileSync(rulesFile, JSON.stringify({ queues: [{ address: SUPPORT, helpdesk: 'snow' }, { address: BILLING, helpdesk: 'snow' }], defaultQueue: SUPPORT }));
    app = await startApp({
      env: {
        MAILGATE_RULES_FILE: rulesFile,
        HELPDESK_CONNECTORS: JSON.stringify([
          { name: 'snow', kind: 'servicenow', baseUrl: standIn.url, user: SERVICENOW_USER.name, passwordEnv: 'SNOW_PIPELINE_PASSWORD', timeoutMs: 5000, assignmentGroups: { [BILLING]: 'Billing' } },
        ]),
        SNOW_PIPELINE_PASSWORD: SERVICENOW_USER.password,
      },
    });
  });
  after(async () => {
    await app?.stop();
    await standIn?.close();
  });

  const incidentOf = (correlation: (r: Record<string, string>) => boolean) => [...(standIn.tables.get('incident')?.values() ?? [])].find(correlation);

  test('each email\'s header block reaches the incident: cut at the limit with a note, redacted, a reply appended', async () => {
    const run = unique('snowh');
    const firstId = `${run}.1@customer.example`;
    const trace = Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`X-Trace-${i}`, `hop ${i} ${'t'.repeat(40)}`]));
    const raw = await compose({
      from: `${run}@customer.example`,
      to: SUPPORT,
      subject: `Headers ${run}`,
      messageId: `<${firstId}>`,
      text: 'first',
      headers: { 'X-Order-Card': '4111 1111 1111 1111', ...trace },
    });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202);
    const first = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
    assert.equal(first.state?.outcome, 'ticket_created', first.state?.reasons.join('; '));
    const incident = incidentOf((r) => (r.u_mailgate_headers ?? '').includes(`<${firstId}>`));
    assert.ok(incident, 'an incident keeps the first message\'s headers');
    const kept = incident.u_mailgate_headers ?? '';
    assert.match(kept, new RegExp(`^==== Message-ID <${firstId.replace(/\./g, '\\.')}> ====\n`));
    // As received: the fields in the message's order (this client writes the custom ones first).
    assert.match(kept, /^==== Message-ID <[^>]+> ====\nX-Order-Card: .*\nX-Trace-0: hop 0 t{40}\nX-Trace-1: hop 1 t{40}\n/);
    assert.doesNotMatch(kept, /4111 1111 1111 1111/, 'redacted as the queue redacts');
    assert.match(kept, /\n\[Mailgate: header block truncated: first \d+ bytes kept, limit 16384\]$/);
    assert.doesNotMatch(kept, /^first$/m, 'no body');

    const replyId = `${run}.2@customer.example`;
    const reply = await postMime(
      app.url,
      await compose({ from: `${run}@customer.example`, to: SUPPORT, subject: `Re: Headers ${run}`, messageId: `<${replyId}>`, inReplyTo: `<${firstId}>`, references: [`<${firstId}>`], text: 'second', headers: { 'X-Reply-Trace': 'r1' } }),
    );
    const second = await settled(app.url, reply.body.emails![0]!.workflowId, 120_000);
    assert.equal(second.state?.outcome, 'comment_added', second.state?.reasons.join('; '));
    const after = standIn.tables.get('incident')?.get(incident.sys_id ?? '')?.u_mailgate_headers ?? '';
    const replySection = after.slice(after.indexOf(`==== Message-ID <${replyId}> ====`));
    assert.ok(after.startsWith(kept), 'the first block stays');
    assert.match(replySection, /^X-Reply-Trace: r1$/m);
    assert.equal(after.split(`==== Message-ID <${replyId}> ====`).length, 2, 'the reply\'s block once');
  });

  test('reprocess with another queue moves the incident to that queue\'s assignment group, with Mailgate\'s work note', async () => {
    const run = unique('snowm');
    const posted = await postMime(app.url, await compose({ from: `${run}@customer.example`, to: SUPPORT, subject: `Invoice ${run}`, messageId: `<${run}@customer.example>`, text: 'which invoice?' }));
    const first = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
    assert.equal(first.state?.outcome, 'ticket_created');
    const answer = await apiFetch(`${app.url}/v1/emails/${first.workflowId}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ queue: BILLING, by: 'ops-ann' }) });
    assert.equal(answer.status, 202, await answer.clone().text());
    const { workflowId } = (await answer.json()) as { workflowId: string };
    const rerun = await settled(app.url, workflowId, 120_000);
    assert.equal(rerun.state?.ticketId, first.state?.ticketId);
    const incident = incidentOf((r) => (r.u_mailgate_headers ?? '').includes(`<${run}@customer.example>`));
    assert.ok(incident);
    assert.equal(incident.assignment_group, 'Billing');
    assert.equal(readServiceNowMeta(incident.u_mailgate_meta)?.queue, BILLING);
    const notes = [...(standIn.tables.get('sys_journal_field')?.values() ?? [])].filter((j) => j.element_id === incident.sys_id && j.element === 'work_notes').map((j) => j.value ?? '');
    assert.equal(notes.filter((n) => n.startsWith(`Moved from queue ${SUPPORT} to ${BILLING} by ops-ann via admin api (reprocess).`)).length, 1, notes.join('\n---\n'));
  });
});
