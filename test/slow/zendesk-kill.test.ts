/**
 * Exactly once into Zendesk through outages of the worker: emails run through the real pipeline
 * (API and worker processes, the Temporal dev server) into the Zendesk stand-in, while the worker is
 * SIGKILLed in the middle of the create call, both before the stand-in created the ticket and after
 * it did (its answer never reaching the worker), and once at a random moment. Every thread must end
 * as exactly one Zendesk ticket, counted in the stand-in. In test/slow: four worker starts make it
 * about 100 s on two shared cores.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';
import { ZendeskStandIn } from '../stand-ins/zendesk';

const EMAILS = 12;
const TOKEN = 'zd-kill-test-token';
const QUEUE = 'support@mailgate.local';

describe('Zendesk delivery while the worker is killed', () => {
  let app: RunningApp;
  const standIn = new ZendeskStandIn({ bearer: TOKEN });

  before(async () => {
    const baseUrl = await standIn.start();
    const dir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'test-apps', unique('zendesk-kill'));
    mkdirSync(dir, { recursive: true });
    const rulesFile = path.join(dir, 'rules.json');
    writeFileSync(rulesFile, JSON.stringify({ queues: [{ address: QUEUE, helpdesk: 'zendesk-kill' }], defaultQueue: QUEUE }));
    app = await startApp({
      env: {
        MAILGATE_RULES_FILE: rulesFile,
        HELPDESK_CONNECTORS: JSON.stringify([{ name: 'zendesk-kill', kind: 'zendesk', baseUrl, auth: 'oauth', tokenEnv: 'ZD_KILL_TOKEN', timeoutMs: 2000 }]),
        ZD_KILL_TOKEN: TOKEN,
      },
    });
  });
  after(async () => {
    await app?.stop();
    await standIn.stop();
  });

  test('killed before and after the create landed, and at random: every thread is exactly one Zendesk ticket', async () => {
    const run = unique('zdkill');
    const workflowIds: string[] = [];
    const post = async (i: number): Promise<void> => {
      const raw = await compose({
        from: `${run}-${i}@customer.example`,
        to: QUEUE,
        subject: `Kill ${run} #${i}`,
        messageId: `<${run}.${i}@c.example>`,
        text: `email ${i}`,
        attachments: [{ filename: `notes-${i}.txt`, content: `line ${i}\n`.repeat(20) }],
      });
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      workflowIds.push(posted.body.emails![0]!.workflowId);
    };
    const killDuring = async (phase: 'before' | 'after', first: number, count: number): Promise<void> => {
      const held = standIn.hold({ match: 'POST /api/v2/tickets', phase });
      for (let i = first; i < first + count; i++) await post(i);
      const request = await held;
      await app.killWorker('SIGKILL');
      request.release();
      await app.startWorker();
    };
    await killDuring('after', 0, 4);
    await killDuring('before', 4, 4);
    for (let i = 8; i < EMAILS; i++) await post(i);
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
    await app.killWorker('SIGKILL');
    await app.startWorker();

    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 120_000)));
    assert.deepEqual(new Set(views.map((v) => v.state?.outcome)), new Set(['ticket_created']));
    const ticketIds = views.map((v) => String(v.state?.ticketId));
    assert.equal(new Set(ticketIds).size, EMAILS, 'one Mailgate ticket per thread');
    for (const id of ticketIds) assert.equal(standIn.ticketsFor(id).length, 1, `exactly one Zendesk ticket for Mailgate ticket ${id}`);
    assert.equal(standIn.tickets.size, EMAILS, 'no Zendesk ticket beyond one per thread');
    for (const t of standIn.tickets.values()) assert.deepEqual(t.comments[0]?.attachments.map((a) => a.file_name).length, 1, 'the clean file went with the ticket');
  });
});
