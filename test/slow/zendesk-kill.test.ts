/**
 * Exactly once into Zendesk through outages of the worker: emails run through the real pipeline
 * (API and worker processes, the Temporal dev server) into the Zendesk stand-in, while the worker is
 * SIGKILLed in the middle of the create call, both before the stand-in created the ticket and after
 * it did (its answer never reaching the worker), and once at a random moment. Every thread must end
 * as exactly one Zendesk ticket, counted in the stand-in. Replies to those threads go through the same
 * kills around the comment call (PUT /api/v2/tickets/{id}): each must end as exactly one comment on
 * its own Zendesk ticket. In test/slow: seven worker starts make it about three minutes on two shared
 * cores.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';
import { ZendeskStandIn, type HeldRequest, type Hold } from '../stand-ins/zendesk';

const EMAILS = 12;
const TOKEN = 'zd-kill-test-token';
const QUEUE = 'support@mailgate.local';
const REPLIES = 12;

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

  /** Posts emails `first`… while the worker is SIGKILLed with a matching request held (phase before/after it took effect). */
  const killDuring = async (hold: Hold, first: number, count: number, post: (i: number) => Promise<void>): Promise<void> => {
    const held: Promise<HeldRequest> = standIn.hold(hold);
    for (let i = first; i < first + count; i++) await post(i);
    const request = await held;
    await app.killWorker('SIGKILL');
    // The worker's exit can reach this process before its socket's close does: release only once
    // the stand-in has seen the connection go, so the request is recorded as never answered.
    await Promise.race([request.closed, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    request.release();
    await app.startWorker();
  };
  const killAtRandom = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 300)));
    await app.killWorker('SIGKILL');
    await app.startWorker();
  };

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
    await killDuring({ match: 'POST /api/v2/tickets', phase: 'after' }, 0, 4, post);
    await killDuring({ match: 'POST /api/v2/tickets', phase: 'before' }, 4, 4, post);
    for (let i = 8; i < EMAILS; i++) await post(i);
    await killAtRandom();

    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 120_000)));
    assert.deepEqual(new Set(views.map((v) => v.state?.outcome)), new Set(['ticket_created']));
    const ticketIds = views.map((v) => String(v.state?.ticketId));
    assert.equal(new Set(ticketIds).size, EMAILS, 'one Mailgate ticket per thread');
    for (const id of ticketIds) assert.equal(standIn.ticketsFor(id).length, 1, `exactly one Zendesk ticket for Mailgate ticket ${id}`);
    assert.equal(standIn.tickets.size, EMAILS, 'no Zendesk ticket beyond one per thread');
    for (const t of standIn.tickets.values()) assert.deepEqual(t.comments[0]?.attachments.map((a) => a.file_name).length, 1, 'the clean file went with the ticket');
  });

  test('replies sent while the worker is killed before and after the comment landed, and at random: each is exactly one comment on its own Zendesk ticket', async () => {
    const run = unique('zdreply');
    const threads: { messageId: string; ticketId: string }[] = [];
    for (let i = 0; i < REPLIES; i++) {
      const messageId = `${run}.${i}@c.example`;
      const raw = await compose({ from: `${run}-${i}@customer.example`, to: QUEUE, subject: `Thread ${run} #${i}`, messageId: `<${messageId}>`, text: `first ${i}` });
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      const view = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
      assert.equal(view.state?.outcome, 'ticket_created');
      threads.push({ messageId, ticketId: String(view.state?.ticketId) });
    }
    const replyIds = threads.map((_, i) => `${run}.reply.${i}@c.example`);
    const workflowIds: string[] = [];
    const reply = async (i: number): Promise<void> => {
      const raw = await compose({
        from: `${run}-${i}@customer.example`,
        to: QUEUE,
        subject: `Re: Thread ${run} #${i}`,
        messageId: `<${replyIds[i]}>`,
        inReplyTo: `<${threads[i]!.messageId}>`,
        references: [`<${threads[i]!.messageId}>`],
        text: `reply ${i}`,
        attachments: [{ filename: `log-${i}.txt`, content: `reply line ${i}\n`.repeat(20) }],
      });
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      workflowIds.push(posted.body.emails![0]!.workflowId);
    };
    // The comment call is the ticket update: a reply's comment rides on PUT /api/v2/tickets/{id}.
    await killDuring({ match: 'PUT /api/v2/tickets/', phase: 'after' }, 0, 4, reply);
    await killDuring({ match: 'PUT /api/v2/tickets/', phase: 'before' }, 4, 4, reply);
    for (let i = 8; i < REPLIES; i++) await reply(i);
    await killAtRandom();

    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 180_000)));
    // The kills hit the comment call itself: answers the worker never got (status 0), one of them after the comment was made.
    const lost = standIn.requests.filter((r) => r.method === 'PUT' && /^\/api\/v2\/tickets\/\d+$/.test(r.path) && r.status === 0);
    assert.ok(lost.length >= 2, `the worker died in at least two comment calls (${lost.length})`);
    assert.deepEqual(new Set(views.map((v) => v.state?.outcome)), new Set(['comment_added']));
    threads.forEach((thread, i) => {
      const [remote, ...more] = standIn.ticketsFor(thread.ticketId);
      assert.ok(remote, `the Zendesk ticket of thread ${i} exists`);
      assert.equal(more.length, 0, `one Zendesk ticket for thread ${i}`);
      const ids = remote.comments.map((c) => String(c.metadata.custom['mailgate_message_id']));
      assert.deepEqual(ids, [thread.messageId, replyIds[i]], `thread ${i}: the first message, then its reply exactly once`);
      assert.deepEqual(remote.comments[1]?.attachments.map((a) => a.file_name), [`log-${i}.txt`], `thread ${i}: the reply's clean file went with it`);
    });
    const everyComment = [...standIn.tickets.values()].flatMap((t) => t.comments.map((c) => String(c.metadata.custom['mailgate_message_id'])));
    for (const id of replyIds) assert.equal(everyComment.filter((c) => c === id).length, 1, `reply ${id} is on exactly one Zendesk ticket`);
  });
});
