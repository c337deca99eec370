/**
 * Durability: the worker process is SIGKILLed while emails are in flight and started again; every
 * email still ends as exactly one ticket with exactly one acknowledgement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { getJson } from '../helpers/mail';
import { assertOneTicketAndAcknowledgementEach, postCustomerEmails, settled } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

const EMAILS = 20;

describe('a worker killed mid-flight', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('the worker killed with SIGKILL while workflows are in flight, then restarted: every email ends as exactly one ticket', async () => {
    const { customers, workflowIds } = await postCustomerEmails(app.url, {
      run: unique('kill'),
      count: EMAILS,
      subject: 'Killed',
      attachmentLines: 2000,
      after: async (i) => {
        if (i === Math.floor(EMAILS / 2)) await app.killWorker('SIGKILL');
      },
    });
    // Emails keep arriving while no worker runs: they wait in Temporal, nothing is lost.
    await new Promise((r) => setTimeout(r, 1_000));
    const beforeRestart = await Promise.all(
      workflowIds.map(async (id) => ((await getJson<{ runStatus: string }>(`${app.url}/v1/emails/${id}`)).body.runStatus)),
    );
    const inFlight = beforeRestart.filter((s) => s === 'RUNNING').length;
    assert.ok(inFlight > EMAILS / 2, `most emails are in flight while the worker is dead (${inFlight} running)`);
    await app.startWorker();

    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 180_000)));
    assert.deepEqual(new Set(views.map((v) => v.state?.outcome)), new Set(['ticket_created']));
    const ticketIds = views.map((v) => v.state?.ticketId);
    assert.equal(new Set(ticketIds).size, EMAILS, 'one ticket per email');
    const found = await assertOneTicketAndAcknowledgementEach(app.url, customers);
    assert.deepEqual(found, ticketIds, "each email's ticket is its customer's only one");
  });
});

describe('an email asked about while no worker runs', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('a completed email still shows its state (read from its result, no replay); a running one says why it has none', async () => {
    const run = unique('noworker');
    const first = await postCustomerEmails(app.url, { run, count: 1, subject: 'Done before the worker went away', attachmentLines: 0 });
    const done = await settled(app.url, first.workflowIds[0]!);
    assert.equal(done.state?.outcome, 'ticket_created');

    await app.killWorker('SIGKILL');
    try {
      const view = await getJson<{ runStatus: string; state: { outcome?: string; ticketId?: string } | null; stateError?: string }>(
        `${app.url}/v1/emails/${first.workflowIds[0]}`,
      );
      assert.equal(view.body.runStatus, 'COMPLETED');
      assert.equal(view.body.state?.outcome, 'ticket_created', JSON.stringify(view.body));
      assert.equal(view.body.state?.ticketId, done.state?.ticketId);
      assert.equal(view.body.stateError, undefined);

      const pending = await postCustomerEmails(app.url, { run: `${run}-late`, count: 1, subject: 'Arrives while no worker runs', attachmentLines: 0 });
      const waiting = await getJson<{ runStatus: string; state: unknown; stateError?: string }>(`${app.url}/v1/emails/${pending.workflowIds[0]}`);
      assert.equal(waiting.body.runStatus, 'RUNNING');
      assert.equal(waiting.body.state, null);
      assert.match(waiting.body.stateError ?? '', /no worker answered the query/);
    } finally {
      await app.startWorker();
    }
  });
});
