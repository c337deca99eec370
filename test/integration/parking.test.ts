/**
 * Parking and reprocessing: a step whose retries run out parks the email (visible as
 * EmailStatus="parked" with the step and error type); the operator CLI lists it, reprocesses it
 * from the failed step, or discards it with a reason; reprocessing a completed email doubles
 * nothing. Runs with test/fixtures/rules/parking.json (two attempts per step).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { operatorCli } from '../helpers/operator-cli';
import { startApp, type RunningApp } from '../helpers/app';
import { receivedMail } from '../helpers/maildev';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, ticket, type EmailView } from '../helpers/pipeline';
import { eventually, ROOT, stack, unique } from '../helpers/stack';

describe('parking and reprocessing', () => {
  let app: RunningApp;
  const cli = (...args: string[]) => operatorCli(app.url, ...args);
  const parkedState = (workflowId: string) =>
    eventually(
      `${workflowId} to park`,
      async () => {
        const { body } = await getJson<EmailView>(`${app.url}/v1/emails/${workflowId}`);
        return body.state?.outcome === 'parked' && body.searchAttributes.EmailStatus === 'parked' ? body : undefined;
      },
      60_000,
    );

  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json') } });
  });
  after(async () => {
    await stack('up', 'clamd');
    await app?.stop();
  });

  test('a step that keeps failing parks the email; the CLI lists it, reprocesses it from that step, and discards another', async () => {
    const customer = `${unique('parked')}@customer.example`;
    const email = (n: number) =>
      compose({ from: customer, to: 'support@mailgate.local', subject: `Scanner down ${n}`, messageId: `<${unique('p')}@c.example>`, text: 'x', attachments: [{ filename: 'a.txt', content: `file ${n}` }] });
    await stack('down', 'clamd');
    let first: string;
    let second: string;
    try {
      first = (await postMime(app.url, await email(1))).body.emails![0]!.workflowId;
      second = (await postMime(app.url, await email(2))).body.emails![0]!.workflowId;
      const view = await parkedState(first);
      assert.equal(view.state?.parked?.step, 'scanning');
      assert.equal(view.searchAttributes.ParkedStep, 'scanning');
      assert.equal(view.searchAttributes.ErrorType, 'ScannerUnavailable');
      assert.match(view.state?.parked?.message ?? '', /clamd/);
      await parkedState(second);
      const listed = await eventually('the parked emails in the list', async () => {
        const result = await cli('emails', 'list', '--status', 'parked');
        return result.stdout.includes(first) && result.stdout.includes(second) ? result : undefined;
      });
      assert.equal(listed.code, 0);
      assert.match(listed.stdout, /scanning\tScannerUnavailable/);
      const busy = await cli('emails', 'discard', first, '--reason', '');
      assert.equal(busy.code, 2, 'a discard needs a reason');
    } finally {
      await stack('up', 'clamd');
    }
    const reprocessed = await cli('emails', 'reprocess', first);
    assert.equal(reprocessed.code, 0, reprocessed.stdout);
    assert.match(reprocessed.stdout, /reprocess signalled/);
    const done = await settled(app.url, first);
    assert.equal(done.state?.outcome, 'ticket_created');
    assert.equal(done.state?.attachments[0]?.status, 'clean');
    assert.ok(done.state?.evidence.some((e) => e.startsWith('reprocess: admin api retried scanning')));

    const discarded = await cli('emails', 'discard', second, '--reason', 'duplicate of the first report');
    assert.equal(discarded.code, 0, discarded.stdout);
    const gone = await settled(app.url, second);
    assert.equal(gone.state?.outcome, 'discarded');
    assert.match(gone.state?.reasons.join(' ') ?? '', /duplicate of the first report/);

    const again = await cli('emails', 'discard', first, '--reason', 'too late');
    assert.equal(again.code, 1, 'only a parked email can be discarded');
  });

  test('reprocessing a completed email runs again without doubling the ticket or the acknowledgement', async () => {
    const customer = `${unique('again')}@customer.example`;
    const posted = await postMime(app.url, await compose({ from: customer, to: 'support@mailgate.local', subject: 'Once', messageId: `<${unique('o')}@c.example>`, text: 'x' }));
    const original = await settled(app.url, posted.body.emails![0]!.workflowId);
    const response = await apiFetch(`${app.url}/v1/emails/${original.workflowId}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(response.status, 202);
    const { workflowId } = (await response.json()) as { workflowId: string };
    assert.ok(workflowId.startsWith(`${original.workflowId}/reprocess-`));
    const rerun = await settled(app.url, workflowId);
    assert.equal(rerun.state?.ticketId, original.state?.ticketId);
    const t = await ticket(app.url, original.state!.ticketId!);
    assert.equal(t.comments.filter((c) => !c.internal).length, 1);
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal((await receivedMail()).filter((m) => m.to.some((to) => to.address === customer)).length, 1);
  });
});
