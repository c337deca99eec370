/**
 * Durability: the worker process is SIGKILLed while emails are in flight and started again; every
 * email still ends as exactly one ticket with exactly one acknowledgement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, getJson, postMime } from '../helpers/mail';
import { assertOneTicketAndAcknowledgementEach, settled } from '../helpers/pipeline';
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
    const run = unique('kill');
    // One customer per email: the per-recipient acknowledgement limit must not be what is tested.
    const customerOf = (i: number): string => `${run}-${i}@customer.example`;
    const workflowIds: string[] = [];
    for (let i = 0; i < EMAILS; i++) {
      const raw = await compose({
        from: customerOf(i),
        to: 'support@mailgate.local',
        subject: `Killed ${run} #${i}`,
        messageId: `<${run}.${i}@c.example>`,
        text: `email ${i}`,
        attachments: [{ filename: `log-${i}.txt`, content: `line ${i}\n`.repeat(2000) }],
      });
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      workflowIds.push(posted.body.emails![0]!.workflowId);
      if (i === Math.floor(EMAILS / 2)) await app.killWorker('SIGKILL');
    }
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
    const found = await assertOneTicketAndAcknowledgementEach(app.url, Array.from({ length: EMAILS }, (_, i) => customerOf(i)));
    assert.deepEqual(found, ticketIds, "each email's ticket is its customer's only one");
  });
});
