/**
 * The acknowledgement is sent once even when the database fails right after the SMTP send: the
 * activity answers "sent, not recorded" instead of failing, and the workflow records it in a step of
 * its own that retries without sending again. The real processInboundEmail workflow on an in-process
 * worker with the real adapters (Temporal dev server, SeaweedFS, clamd, MailDev, SQLite); only the
 * failing database calls are injected, since a database cannot be made to fail at exactly that
 * moment otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createActivities } from '../../src/activities';
import { openTicketStore, TicketStoreUnavailableError } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { activityDeps } from '../../src/worker';
import type { EmailState, ProcessInboundEmailInput } from '../../src/workflows/types';
import { processInboundEmail } from '../../src/workflows';
import { receivedMail } from '../helpers/maildev';
import { compose } from '../helpers/mail';
import { withInProcessWorker } from '../helpers/pipeline';
import { config, eventually, unique } from '../helpers/stack';

test('the database fails right after the acknowledgement is sent: the workflow records it later and it is sent exactly once', async () => {
  const tickets = openTicketStore(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'mailgate-ack-')), 'tickets.sqlite')}`);
  await tickets.migrate();
  // The first two attempts to record the send fail: the one inside the acknowledgement activity and
  // the first try of the workflow's own step.
  let markCalls = 0;
  const markSent = async (workflowId: string): Promise<void> => {
    markCalls += 1;
    if (markCalls <= 2) throw new TicketStoreUnavailableError('the database went away', { cause: new Error('ECONNRESET') });
    return tickets.markAcknowledgementSent(workflowId);
  };
  const failing = new Proxy(tickets, {
    get(target, property) {
      if (property === 'markAcknowledgementSent') return markSent;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as TicketStore;

  const id = unique('ack-retry');
  const requester = `${id}@customer.example`;
  const raw = await compose({ from: requester, to: 'support@mailgate.local', subject: 'Printer on fire', messageId: `<${id}@customer.example>`, text: 'It burns.' });
  const sha256 = createHash('sha256').update(raw).digest('hex');
  const deps = activityDeps(config, failing);
  await deps.store.put({ key: `raw/${sha256}`, body: raw, contentType: 'message/rfc822', contentLength: raw.length });

  try {
    const workflowId = `inbound-email/${id}`;
    const input: ProcessInboundEmailInput = {
      rawKey: `raw/${sha256}`,
      rawSha256: sha256,
      rawSize: raw.length,
      recipient: 'support@mailgate.local',
      queue: 'support@mailgate.local',
      idempotencyKey: id,
      envelopeFrom: requester,
      receivedAt: new Date().toISOString(),
      policy: { waitForParentSeconds: 0, maxAttempts: 3 },
    };
    const state = (await withInProcessWorker({ workflowsPath: require.resolve('../../src/workflows'), activities: createActivities(deps), prefix: 'ack-retry' }, (client, taskQueue) =>
      client.workflow.execute(processInboundEmail, { taskQueue, workflowId, args: [input] }),
    )) as EmailState;
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.acknowledgement?.sent, true);
    assert.equal(state.acknowledgement?.recorded, true, 'recorded by the workflow after the failures');
    assert.equal(markCalls, 3, 'one failure in the activity, one in the workflow step, then recorded');
    // Give a second send, if there were one, time to arrive before counting.
    await new Promise((r) => setTimeout(r, 1_000));
    const mail = await eventually('the acknowledgement', async () => {
      const found = (await receivedMail()).filter((m) => m.to.some((t) => t.address === requester));
      return found.length > 0 ? found : undefined;
    });
    assert.equal(mail.length, 1, 'sent exactly once');
    const again = await tickets.reserveAcknowledgement({ workflowId, ticketId: state.ticketId!, messageId: 'x@y', recipient: requester });
    assert.equal(again.state, 'sent', 'the store records it as sent');
  } finally {
    await tickets.close();
  }
});
