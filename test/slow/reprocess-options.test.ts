/**
 * Every reprocess option on every step an email can park at, against the real stack, through the
 * operator CLI (issue 13). Each step is made to fail by its real service: the object store stopped
 * (parsing), the thread index taken away (threading), clamd stopped (scanning), the object store's
 * attachments/ folder made read-only (storing), the database refusing comments (ticketing) or
 * acknowledgement reservations (acknowledging). Per step a batch of emails parks, one per option
 * (--skip-ack, --queue, --force-new-ticket, discard); the service comes back and the operator decides.
 * The classifying step runs only for emails parsed by an older version (the parse step classifies
 * now), so it is covered on the time-skipping server (test/workflows/reprocess-options.test.ts).
 * Runs with test/fixtures/rules/parking.json (two attempts per step).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { operatorCli } from '../helpers/operator-cli';
import { startApp, type RunningApp } from '../helpers/app';
import { receivedMail } from '../helpers/maildev';
import { apiFetch, compose, getJson, postMime } from '../helpers/mail';
import { settled, ticket, type EmailView } from '../helpers/pipeline';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { config, eventually, ROOT, stack, unique } from '../helpers/stack';
import { readOnlyPrefix } from '../helpers/seaweed';

const SUPPORT = 'support@mailgate.local';
const BILLING = 'billing@mailgate.local';

type Step = 'parsing' | 'threading' | 'scanning' | 'storing' | 'ticketing' | 'acknowledging';
type Option = 'skip-ack' | 'queue' | 'force-new-ticket' | 'discard';
const OPTIONS: Option[] = ['skip-ack', 'queue', 'force-new-ticket', 'discard'];

describe('reprocess options on every step, against the real stack', () => {
  let app: RunningApp;
  let db: DatabaseSync;
  const objects = createS3ObjectStore(config.s3);
  /** The raw message last sent: one the object store had stored before it was stopped. */
  let rawOfParent = '';
  const restores: (() => Promise<void>)[] = [];

  const cli = (...args: string[]) => operatorCli(app.url, ...args);
  const view = async (workflowId: string): Promise<EmailView> => (await getJson<EmailView>(`${app.url}/v1/emails/${workflowId}`)).body;
  const parked = (workflowId: string, step: Step) =>
    eventually(
      `${workflowId} to park at ${step}`,
      async () => {
        const body = await view(workflowId);
        assert.notEqual(body.state?.step, 'done', `${workflowId} ended as ${body.state?.outcome} instead of parking: ${body.state?.reasons.join('; ')}`);
        return body.state?.outcome === 'parked' && body.searchAttributes.EmailStatus === 'parked' ? body : undefined;
      },
      60_000,
    );
  const acksTo = async (address: string): Promise<number> => (await receivedMail()).filter((m) => m.to.some((to) => to.address === address)).length;
  const send = async (options: { from: string; subject: string; messageId: string; inReplyTo?: string; attachment?: boolean }): Promise<string> => {
    const raw = await compose({
      from: options.from,
      to: SUPPORT,
      subject: options.subject,
      messageId: `<${options.messageId}>`,
      ...(options.inReplyTo ? { inReplyTo: `<${options.inReplyTo}>`, references: [`<${options.inReplyTo}>`] } : {}),
      text: `${options.subject}\n`,
      // Unique content: attachments are stored by content hash, and a copy stored earlier is only refreshed.
      ...(options.attachment ? { attachments: [{ filename: 'notes.txt', content: `notes for ${options.messageId}` }] } : {}),
    });
    // The ingress stores the bytes as raw/<sha256>.
    rawOfParent = createHash('sha256').update(raw).digest('hex');
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    return posted.body.emails![0]!.workflowId;
  };

  /** How each step is made to fail by its real service, and put right again. */
  const breakers: Record<Step, { down(): Promise<void>; up(): Promise<void>; workerDownWhilePosting?: boolean }> = {
    parsing: {
      // The raw bytes must be stored first (the ingress writes them): the worker waits until then.
      workerDownWhilePosting: true,
      down: () => stack('down', 's3'),
      up: async () => {
        await stack('up', 's3');
        // The gateway answers before its volume server is back: a reprocess then would park again.
        await eventually('the restarted object store to read what it stored', () => objects.getBuffer(`raw/${rawOfParent}`).then(() => true), 60_000);
      },
    },
    threading: {
      down: async () => void db.exec('ALTER TABLE thread_index RENAME TO thread_index_taken_away'),
      up: async () => void db.exec('ALTER TABLE thread_index_taken_away RENAME TO thread_index'),
    },
    scanning: { down: () => stack('down', 'clamd'), up: () => stack('up', 'clamd') },
    storing: { down: () => readOnlyPrefix('attachments/', true), up: () => readOnlyPrefix('attachments/', false) },
    ticketing: {
      down: async () => void db.exec(`CREATE TRIGGER test_refuses_comments BEFORE INSERT ON comments BEGIN SELECT RAISE(ABORT, 'the database refuses comments (test)'); END`),
      up: async () => void db.exec('DROP TRIGGER test_refuses_comments'),
    },
    acknowledging: {
      down: async () =>
        void db.exec(`CREATE TRIGGER test_refuses_acks BEFORE INSERT ON acknowledgements BEGIN SELECT RAISE(ABORT, 'the database refuses acknowledgements (test)'); END`),
      up: async () => void db.exec('DROP TRIGGER test_refuses_acks'),
    },
  };

  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/parking.json') } });
    db = new DatabaseSync(app.env.DATABASE_URL!.slice('sqlite:'.length), { timeout: 5_000 });
  });
  after(async () => {
    for (const restore of restores.splice(0)) await restore().catch(() => undefined);
    await stack('up', 's3');
    await stack('up', 'clamd');
    db?.close();
    await app?.stop();
  });

  for (const step of Object.keys(breakers) as Step[]) {
    test(`parked at ${step}: --skip-ack, --queue, --force-new-ticket and discard each do what they say`, async () => {
      const breaker = breakers[step];
      const tag = unique(step);
      // A conversation for the forced reply to leave: its first message opened a ticket.
      const parentId = `${tag}-parent@customer.example`;
      const parentFlow = await send({ from: `${tag}-force@customer.example`, subject: `${step} parent`, messageId: parentId });
      const parent = await settled(app.url, parentFlow);
      assert.equal(parent.state?.outcome, 'ticket_created');

      const customers = Object.fromEntries(OPTIONS.map((o) => [o, `${tag}-${o}@customer.example`])) as Record<Option, string>;
      const flows = {} as Record<Option, string>;
      const attachment = step === 'scanning' || step === 'storing';
      if (breaker.workerDownWhilePosting) await app.killWorker();
      else await breaker.down();
      restores.push(breaker.up);
      try {
        for (const option of OPTIONS) {
          // Once the email has its own ticket (acknowledging), there is no thread to leave.
          const reply = option === 'force-new-ticket' && step !== 'acknowledging';
          flows[option] = await send({
            from: customers[option],
            subject: `${step} ${option}`,
            messageId: `${tag}-${option}@customer.example`,
            attachment,
            // The thread lookup asks the index only for mail that names earlier messages.
            ...(reply ? { inReplyTo: parentId } : step === 'threading' ? { inReplyTo: `${tag}-unknown-${option}@customer.example` } : {}),
          });
        }
        if (breaker.workerDownWhilePosting) {
          await breaker.down();
          await app.startWorker();
        }
        for (const option of OPTIONS) {
          const body = await parked(flows[option], step);
          assert.equal(body.searchAttributes.ParkedStep, step);
        }
      } finally {
        restores.pop();
        await breaker.up();
      }

      // --skip-ack, with the operator's name.
      const skipped = await cli('emails', 'reprocess', flows['skip-ack'], '--skip-ack', '--by', 'Ann Operator');
      assert.equal(skipped.code, 0, skipped.stdout);
      // --queue
      const queued = await cli('emails', 'reprocess', flows.queue, '--queue', BILLING);
      assert.equal(queued.code, 0, queued.stdout);
      // --force-new-ticket: refused once the email opened its own ticket.
      const forced = await cli('emails', 'reprocess', flows['force-new-ticket'], '--force-new-ticket');
      if (step === 'acknowledging') {
        assert.equal(forced.code, 1, forced.stdout);
        assert.match(forced.stdout, /already opened ticket MG-\d+ \(.+\) of its own/);
        assert.equal((await view(flows['force-new-ticket'])).state?.outcome, 'parked', 'a refused reprocess leaves the email parked');
        const plain = await cli('emails', 'reprocess', flows['force-new-ticket']);
        assert.equal(plain.code, 0, plain.stdout);
      } else {
        assert.equal(forced.code, 0, forced.stdout);
      }
      // discard
      const discarded = await cli('emails', 'discard', flows.discard, '--reason', 'sent twice');
      assert.equal(discarded.code, 0, discarded.stdout);

      const skip = await settled(app.url, flows['skip-ack']);
      assert.equal(skip.state?.outcome, 'ticket_created');
      assert.ok(skip.state?.reasons.includes('not acknowledged: skipped on reprocess by Ann Operator via admin api'), skip.state?.reasons.join('; '));
      assert.equal(skip.state?.acknowledgement, null);

      const moved = await settled(app.url, flows.queue);
      assert.equal(moved.state?.outcome, 'ticket_created');
      assert.equal(moved.searchAttributes.RecipientQueue, BILLING);
      const movedTicket = await ticket(app.url, moved.state!.ticketId!);
      assert.equal(movedTicket.queue, BILLING);
      if (step === 'acknowledging') {
        assert.ok(movedTicket.comments.some((c) => c.internal && c.text === `Moved from queue ${SUPPORT} to ${BILLING} by admin api (reprocess).`));
        const rows = db.prepare('SELECT from_queue, to_queue, moved_by FROM ticket_moves WHERE ticket_id = ?').all(movedTicket.id);
        assert.deepEqual(rows.map((r) => [r['from_queue'], r['to_queue'], r['moved_by']]), [[SUPPORT, BILLING, 'admin api']]);
      }

      const own = await settled(app.url, flows['force-new-ticket']);
      assert.equal(own.state?.outcome, 'ticket_created');
      if (step !== 'acknowledging') {
        assert.notEqual(own.state?.ticketId, parent.state?.ticketId, 'the forced reply has a ticket of its own');
        assert.equal(own.state?.threadedOn, null);
        const parentTicket = await ticket(app.url, parent.state!.ticketId!);
        assert.equal(parentTicket.comments.filter((c) => !c.internal).length, 1, 'nothing was added to the thread it left');
      }

      const gone = await settled(app.url, flows.discard);
      if (step === 'acknowledging') {
        assert.equal(gone.state?.outcome, 'ticket_created', 'never "discarded" beside a live ticket');
        assert.ok(gone.state?.reasons.includes('acknowledgement discarded by admin api: sent twice'), gone.state?.reasons.join('; '));
        assert.equal((await ticket(app.url, gone.state!.ticketId!)).status, 'open');
      } else {
        assert.equal(gone.state?.outcome, 'discarded');
        assert.equal(gone.state?.ticketId, null);
        assert.ok(gone.state?.reasons.includes(`discarded by admin api while parked at ${step}: sent twice`), gone.state?.reasons.join('; '));
      }

      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(await acksTo(customers['skip-ack']), 0, '--skip-ack sends nothing');
      assert.equal(await acksTo(customers.discard), 0, 'a discarded email is not acknowledged');
      assert.equal(await acksTo(customers.queue), 1);
    });
  }

  test('reprocess --queue on a finished email moves its ticket, lists the run under the new queue, and sends nothing again', async () => {
    const customer = `${unique('finished')}@customer.example`;
    const first = await settled(app.url, await send({ from: customer, subject: 'Invoice question', messageId: `${unique('f')}@customer.example` }));
    assert.equal((await ticket(app.url, first.state!.ticketId!)).queue, SUPPORT);
    const again = await cli('emails', 'reprocess', first.workflowId, '--queue', BILLING);
    assert.equal(again.code, 0, again.stdout);
    const { workflowId } = JSON.parse(again.stdout) as { workflowId: string };
    const rerun = await settled(app.url, workflowId);
    assert.equal(rerun.state?.ticketId, first.state?.ticketId);
    assert.equal(rerun.searchAttributes.RecipientQueue, BILLING);
    const moved = await ticket(app.url, first.state!.ticketId!);
    assert.equal(moved.queue, BILLING);
    const rows = db.prepare('SELECT from_queue, to_queue, workflow_id FROM ticket_moves WHERE ticket_id = ?').all(moved.id);
    assert.deepEqual(rows.map((r) => [r['from_queue'], r['to_queue'], r['workflow_id']]), [[SUPPORT, BILLING, workflowId]]);
    assert.ok(rerun.state?.reasons.includes(`ticket moved from ${SUPPORT} to ${BILLING} by admin api`), rerun.state?.reasons.join('; '));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(await acksTo(customer), 1, 'the acknowledgement is never doubled');
  });

  test('reprocess --force-new-ticket on a finished email: refused for its own ticket; a reply gets one ticket however often it is forced', async () => {
    const customer = `${unique('forced')}@customer.example`;
    const parentId = `${unique('fp')}@customer.example`;
    const parent = await settled(app.url, await send({ from: customer, subject: 'Printer', messageId: parentId }));
    const refused = await apiFetch(`${app.url}/v1/emails/${parent.workflowId}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"forceNewTicket":true}' });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { reason: string }).reason, /already opened ticket .+ of its own/);

    const badName = await apiFetch(`${app.url}/v1/emails/${parent.workflowId}/reprocess`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ skipAck: true, by: 'ops\u0007\u202e' }) });
    assert.equal(badName.status, 400, 'an operator name with control characters is refused');

    const reply = await settled(app.url, await send({ from: customer, subject: 'Re: Printer', messageId: `${unique('fr')}@customer.example`, inReplyTo: parentId }));
    assert.equal(reply.state?.outcome, 'comment_added');
    const once = await cli('emails', 'reprocess', reply.workflowId, '--force-new-ticket');
    assert.equal(once.code, 0, once.stdout);
    const forced = await settled(app.url, (JSON.parse(once.stdout) as { workflowId: string }).workflowId);
    assert.equal(forced.state?.outcome, 'ticket_created');
    assert.notEqual(forced.state?.ticketId, parent.state?.ticketId);
    const twice = await cli('emails', 'reprocess', reply.workflowId, '--force-new-ticket');
    assert.equal(twice.code, 1, 'the email now has its own ticket: forcing again is refused');
    assert.match(twice.stdout, /already opened ticket/);
  });
});
