/**
 * The notify step (issue 19) with recording fake activities on the time-skipping server: an email no
 * route matches runs nothing more; a matched one starts an abandoned child after the ticket, and its
 * failing target parks the child only; a parked email tells the operator once.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import { describe, test } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/client';
import { ErrorType } from '../../src/domain/errors';
import type { NotifyPolicy } from '../../src/domain/notify-routes';
import { notifyWorkflowId } from '../../src/workflows/ids';
import { notifyEmail, notifyStatusQuery, type NotifyState } from '../../src/workflows/notify';
import { discardSignal, reprocessSignal, statusQuery } from '../../src/workflows/types';
import { email, finished, run, testServer, useTimeSkippingServer, whenParked, type Handle } from './email-harness';
import { attachment, RecordedActivities, summary, verdict } from './process-inbound-email-fakes';

useTimeSkippingServer();

const SEV1 = 'sev1@mailgate.test';
const notify: NotifyPolicy = {
  routes: [{ name: 'sev1', match: { recipients: [SEV1] }, targets: ['pd', 'slack'] }],
  operatorTargets: ['ops'],
  maxAttempts: 1,
  parkTimeoutSeconds: 3600,
};

async function poll<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function childEvents(handle: Handle): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
}

describe('notify step', () => {
  test('an email that no route matches runs no notification activity and starts no child workflow', async () => {
    const fakes = new RecordedActivities();
    let children = -1;
    const result = await run(fakes, email({ policy: { notify } }), undefined, async (handle) => {
      children = await childEvents(handle);
    });
    assert.equal(finished(result).outcome, 'ticket_created');
    assert.equal(children, 0);
    assert.ok(!fakes.names().includes('sendNotification'));
  });

  test('a sev1@ email finishes with its ticket and acknowledgement while a failing target parks only its notification, which a reprocess retries', async () => {
    const fakes = new RecordedActivities({
      sendNotification: ({ delivery }, call) => {
        if (call === 1) throw ApplicationFailure.retryable('notification target pd answered 503', ErrorType.RemoteUnavailable);
        return { sent: true, key: `${delivery.route}/${delivery.target}` };
      },
    });
    let child: NotifyState | undefined;
    const result = await run(fakes, email({ recipient: SEV1, policy: { notify } }), async (handle) => {
      // The email ends on its own while the notification is parked.
      await poll('the email to finish', async () => ((await handle.query(statusQuery)).step === 'done' ? true : undefined));
      const notification = testServer().client.workflow.getHandle<typeof notifyEmail>(notifyWorkflowId(handle.workflowId, 'ticket_created'));
      const parked = await poll('the notification to park', async () => (await notification.query(notifyStatusQuery)).parked ?? undefined);
      assert.equal(parked.step, 'notify');
      assert.equal(parked.errorType, ErrorType.RemoteUnavailable);
      assert.equal(parked.target, 'pd');
      await notification.signal(reprocessSignal, { by: 'ops' });
      child = await notification.result();
    });
    const state = finished(result);
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.acknowledgement?.sent, true);
    assert.deepEqual(child?.deliveries.map((d) => [d.target, d.status]), [['pd', 'sent'], ['slack', 'sent']]);
    const [first] = fakes.inputs('sendNotification');
    assert.deepEqual([first?.outcome, first?.ticket, first?.delivery], ['ticket_created', { id: 'ticket-1', number: 1 }, { route: 'sev1', target: 'pd' }]);
    assert.equal(fakes.count('sendNotification'), 3);
  });

  test('a parked email tells the operator once, with its step and error, however often it parks at that step', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'a.pdf')] }),
      scanAttachments: () => {
        throw ApplicationFailure.retryable('clamd: connect ECONNREFUSED', ErrorType.ScannerUnavailable);
      },
    });
    let children = 0;
    const result = await run(
      fakes,
      email({ policy: { notify } }),
      async (handle) => {
        await whenParked(handle);
        await handle.signal(reprocessSignal, { by: 'ops' });
        await poll('the second park', async () => (fakes.count('scanAttachments') >= 2 && (await handle.query(statusQuery)).parked ? true : undefined));
        await handle.signal(discardSignal, { reason: 'scanner is gone', by: 'ops' });
      },
      async (handle) => {
        children = await childEvents(handle);
        await testServer().client.workflow.getHandle(notifyWorkflowId(handle.workflowId, 'parked', 'scanning')).result();
      },
    );
    assert.equal(finished(result).outcome, 'discarded');
    assert.equal(children, 2, 'the second park tries to start the same notification, which already exists');
    const sent = fakes.inputs('sendNotification');
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]?.delivery, { route: 'operator', target: 'ops' });
    assert.equal(sent[0]?.parked?.step, 'scanning');
    assert.equal(sent[0]?.parked?.errorType, ErrorType.ScannerUnavailable);
  });

  test('a suppressed email goes to a route that asks for suppressed mail of its class, with the reason', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ subject: 'Out of office', inReplyTo: ['ack-7@mailgate.test'], classification: verdict({ emailClass: 'auto_reply', evidence: ['rfc3834:auto-submitted'] }) }),
    });
    const loops: NotifyPolicy = { ...notify, routes: [...notify.routes, { name: 'loops', match: { outcomes: ['suppressed'], classes: ['auto_reply'] }, targets: ['ops'] }] };
    const result = await run(fakes, email({ policy: { notify: loops } }), undefined, async (handle) => {
      await testServer().client.workflow.getHandle(notifyWorkflowId(handle.workflowId, 'suppressed')).result();
    });
    assert.equal(finished(result).outcome, 'suppressed');
    const [sent] = fakes.inputs('sendNotification');
    assert.deepEqual([sent?.outcome, sent?.delivery, sent?.reason, sent?.ticket], ['suppressed', { route: 'loops', target: 'ops' }, 'auto_reply that refers to no known ticket', null]);
  });
});
