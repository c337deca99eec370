/**
 * processInboundEmail on Temporal's time-skipping test server, its activities replaced by recording
 * fakes (process-inbound-email-fakes.ts): every outcome, parking and the operator's two answers,
 * the wait for a parent that has not arrived yet. A real Worker runs the code of src/workflows;
 * each test has a task queue of its own. Timers pass as soon as the workflow only waits, so a 7-day
 * park timeout or a minute's wait for a parent takes seconds of wall time.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import { describe, test } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import assert from 'node:assert/strict';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { ErrorType } from '../../src/domain/errors';
import {
  EmailClassKey,
  EmailStatusKey,
  ErrorTypeKey,
  ParkedStepKey,
  RecipientQueueKey,
  TicketIdKey,
} from '../../src/workflows/search-attributes';
import { discardSignal, reprocessSignal, type EmailState } from '../../src/workflows/types';
import type { TypedSearchAttributes } from '@temporalio/common';
import { email, finished, run, useTimeSkippingServer, whenParked } from './email-harness';
import { attachment, created, CUSTOMER, RecordedActivities, summary, SUPPORT, verdict, type ActivityOutput } from './process-inbound-email-fakes';

const DAY_MS = 24 * 3600 * 1000;
const OPERATOR = 'ops@mailgate.test';
const BILLING = 'billing@mailgate.test';
const QUESTION = 'question-1@customer.example';
const REPLY = 'reply-1@customer.example';
const threaded = { ticketId: 'ticket-1', ticketNumber: 1, messageId: QUESTION, rule: 'message-id' as const };

useTimeSkippingServer();

function unavailable(type: ErrorType, message: string): never {
  throw ApplicationFailure.retryable(message, type);
}

describe('processInboundEmail outcomes', () => {
  test('a human email opens a ticket, its attachments are scanned and stored, and the sender is acknowledged once', async () => {
    const input = email();
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'invoice.pdf'), attachment(1, 'setup.exe')] }),
      scanAttachments: ({ parts }) =>
        parts.map((p) => (p.index === 1 ? { index: 1, status: 'infected', detail: 'Win.Test.EICAR_HDB-1' } : { index: p.index, status: 'clean', detail: null })),
    });
    const result = await run(fakes, input);
    const state = finished(result);

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.ticketId, 'ticket-1');
    assert.equal(state.ticketNumber, 1);
    assert.deepEqual(state.acknowledgement, { messageId: 'ack-1@mailgate.test', sent: true, recorded: true, reason: 'sent' });
    assert.deepEqual(
      state.attachments.map((a) => [a.filename, a.status, a.detail]),
      [
        ['invoice.pdf', 'clean', null],
        ['setup.exe', 'infected', 'Win.Test.EICAR_HDB-1'],
      ],
    );
    assert.deepEqual(fakes.names(), [
      'parseEmail',
      'findThread',
      'scanAttachments',
      'storeAttachments',
      'recordTicket',
      'sendAcknowledgement',
      'recordEmail',
    ]);
    const [ticket] = fakes.inputs('recordTicket');
    assert.equal(ticket?.idempotencyKey, input.idempotencyKey);
    assert.equal(ticket?.queue, SUPPORT);
    assert.equal(ticket?.requester, CUSTOMER);
    assert.equal(ticket?.thread, null);
    assert.equal(ticket?.automated, false);
    assert.deepEqual(
      ticket?.attachments.map((a) => [a.filename, a.scan?.status, a.storageKey]),
      [
        ['invoice.pdf', 'clean', 'attachments/sha-0'],
        ['setup.exe', 'infected', null],
      ],
      'one record per attachment: the part, its verdict and its stored copy',
    );
    const [ack] = fakes.inputs('sendAcknowledgement');
    assert.equal(ack?.to, CUSTOMER);
    assert.equal(ack?.ticketNumber, 1);
    assert.equal(ack?.originalMessageId, QUESTION);
    const [record] = fakes.inputs('recordEmail');
    assert.equal(record?.outcome, 'ticket_created');
    assert.equal(record?.ticketId, 'ticket-1');

    assert.equal(result.searchAttributes.get(EmailStatusKey), 'ticket_created');
    assert.equal(result.searchAttributes.get(TicketIdKey), 'ticket-1');
    assert.equal(result.searchAttributes.get(EmailClassKey), 'human');
    assert.equal(result.searchAttributes.get(RecipientQueueKey), SUPPORT);
  });

  test('a small email is parsed in a local activity, a large one in an activity of its own; scanning is never local', async () => {
    const small = new RecordedActivities({ parseEmail: () => summary({ attachments: [attachment(0, 'a.pdf')] }) });
    finished(await run(small, email({ rawSize: 10_000 })));
    const large = new RecordedActivities();
    finished(await run(large, email({ rawSize: 300 * 1024 })));

    assert.equal(small.calls.find((c) => c.name === 'parseEmail')?.local, true);
    assert.equal(small.calls.find((c) => c.name === 'scanAttachments')?.local, false);
    assert.equal(large.calls.find((c) => c.name === 'parseEmail')?.local, false);
    assert.equal(large.count('scanAttachments'), 0, 'no attachment: no scanning step');
  });

  test('the parse step verdict and body marker go to the thread lookup; no classify step, no document read for them', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ bodyMarker: 42, classification: verdict({ evidence: ['class:human', 'priority:urgent'], priority: { priority: 'urgent', tags: ['vip'], untrusted: false } }) }),
    });
    const state = finished(await run(fakes, email()));

    assert.equal(fakes.count('classifyEmail'), 0);
    const [lookup] = fakes.inputs('findThread');
    assert.equal(lookup?.bodyMarker, 42);
    assert.equal(lookup?.returnedMessageId, null);
    assert.equal(state.priority, 'urgent');
    assert.deepEqual(state.tags, ['vip']);
    assert.deepEqual([fakes.inputs('recordTicket')[0]?.priority, fakes.inputs('recordTicket')[0]?.tags], ['urgent', ['vip']]);
  });

  test('a parse result without a verdict (recorded before the parse step classified) is classified in a step of its own', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => ({ ...summary(), classification: undefined, bodyMarker: undefined }),
      classifyEmail: () => verdict({ emailClass: 'human', evidence: ['class:human', 'from-classify'] }),
    });
    const state = finished(await run(fakes, email()));

    assert.deepEqual(fakes.names().slice(0, 3), ['parseEmail', 'classifyEmail', 'findThread']);
    assert.deepEqual(fakes.inputs('classifyEmail'), [{ documentKey: 'parsed/0f0f/unredacted.json' }]);
    assert.ok(state.evidence.includes('from-classify'));
    const [lookup] = fakes.inputs('findThread');
    assert.equal(lookup?.documentKey, 'parsed/0f0f/unredacted.json');
    assert.equal('bodyMarker' in (lookup ?? {}), false, 'the lookup reads the marker from the document');
    assert.equal(state.outcome, 'ticket_created');
  });

  test('a reply whose parent is known becomes a comment on that ticket, without waiting and without an acknowledgement', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ messageId: REPLY, subject: 'Re: Printer on fire', inReplyTo: [QUESTION], references: [QUESTION] }),
      findThread: () => ({ match: threaded, refused: [] }),
      recordTicket: () => ({ ...created, outcome: 'comment_added', ticketCreated: false }),
    });
    const state = finished(await run(fakes, email({ policy: { waitForParentSeconds: 120 } })));

    assert.equal(state.outcome, 'comment_added');
    assert.equal(state.threadedOn, QUESTION);
    assert.equal(state.threadRule, 'message-id');
    assert.equal(state.waitedForParentSeconds, 0);
    assert.equal(state.acknowledgement, null);
    assert.ok(state.reasons.includes(`threaded on <${QUESTION}> by message-id`), state.reasons.join('; '));
    assert.deepEqual(fakes.inputs('findThread')[0]?.candidates, [QUESTION]);
    assert.deepEqual(fakes.inputs('recordTicket')[0]?.thread, threaded);
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'comment_added');
  });

  test('a reply the ticket store files as an internal note ends as note_added, unacknowledged', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ messageId: REPLY, from: 'bob@elsewhere.example', inReplyTo: [QUESTION] }),
      findThread: () => ({ match: threaded, refused: [] }),
      recordTicket: () => ({ ...created, outcome: 'note_added', ticketCreated: false }),
    });
    const state = finished(await run(fakes, email()));

    assert.equal(state.outcome, 'note_added');
    assert.equal(state.requester, 'bob@elsewhere.example');
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'note_added');
  });

  test('our own mail coming back is suppressed right after classification', async () => {
    const fakes = new RecordedActivities({ parseEmail: () => summary({ classification: verdict({ emailClass: 'own_loop', evidence: ['own:loop-header'] }) }) });
    const result = await run(fakes, email());
    const state = finished(result);

    assert.equal(state.outcome, 'suppressed');
    assert.deepEqual(state.reasons, ['own loop: our own mail came back, dropped']);
    assert.deepEqual(fakes.names(), ['parseEmail', 'recordEmail']);
    assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'suppressed');
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'suppressed');
    assert.equal(result.searchAttributes.get(EmailClassKey), 'own_loop');
  });

  test('an auto-reply that refers to no known ticket is suppressed, and does not wait for a parent', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () =>
        summary({ subject: 'Out of office', inReplyTo: ['ack-7@mailgate.test'], classification: verdict({ emailClass: 'auto_reply', evidence: ['rfc3834:auto-submitted'] }) }),
    });
    const state = finished(await run(fakes, email({ policy: { waitForParentSeconds: 120 } })));

    assert.equal(state.outcome, 'suppressed');
    assert.deepEqual(state.reasons, ['auto_reply that refers to no known ticket']);
    assert.equal(state.waitedForParentSeconds, 0);
    assert.equal(fakes.count('findThread'), 1);
    assert.equal(fakes.count('recordTicket'), 0);
    assert.equal(fakes.count('sendAcknowledgement'), 0);
  });

  test('an email the ticket store suppresses (rate limit) ends as suppressed with the store reason, unacknowledged', async () => {
    const reason = 'rate limit: 20 new tickets an hour from alice@customer.example';
    const fakes = new RecordedActivities({
      recordTicket: () => ({ ...created, outcome: 'suppressed', ticketId: null, ticketNumber: null, ticketCreated: false, reason }),
    });
    const state = finished(await run(fakes, email()));

    assert.equal(state.outcome, 'suppressed');
    assert.deepEqual(state.reasons, [reason]);
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.deepEqual(
      [fakes.inputs('recordEmail')[0]?.outcome, fakes.inputs('recordEmail')[0]?.reason],
      ['suppressed', reason],
    );
  });

  test('an email that is not MIME is rejected at parsing: not retried, not parked', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => {
        throw ApplicationFailure.nonRetryable('no header/body separator in the first 64 KiB', ErrorType.MalformedEmail);
      },
    });
    const result = await run(fakes, email({ policy: { maxAttempts: 3 } }));
    const state = finished(result);

    assert.equal(state.outcome, 'rejected');
    assert.deepEqual(state.reasons, ['no header/body separator in the first 64 KiB']);
    assert.equal(state.parked, null);
    assert.deepEqual(fakes.names(), ['parseEmail'], 'one attempt of three, and no record without a class');
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'rejected');
  });
});

describe('acknowledgements', () => {
  test('an allowlisted automated sender opens a ticket but is not acknowledged', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ classification: verdict({ emailClass: 'auto_generated', evidence: ['sender:noreply'], allowlisted: true }) }),
    });
    const state = finished(await run(fakes, email()));

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.equal(fakes.inputs('recordTicket')[0]?.automated, false);
    assert.ok(state.evidence.includes('allowlist: sender may open tickets'));
    assert.ok(state.reasons.includes('not acknowledged: only human mail is (class auto_generated)'), state.reasons.join('; '));
  });

  test('a human email the classifier suspects of being another helpdesk\'s acknowledgement opens a ticket but is not acknowledged', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ classification: verdict({ emailClass: 'human', evidence: ['helpdesk:subject=request received', 'suspect:not-acknowledged'], suspectedAutomated: true }) }),
    });
    const state = finished(await run(fakes, email()));

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.equal(fakes.inputs('recordTicket')[0]?.automated, false);
    assert.equal(fakes.inputs('findThread')[0]?.human, true, 'human mail may thread by subject');
    assert.ok(state.evidence.includes('suspect:not-acknowledged'));
    assert.ok(state.reasons.some((r) => /reads like a challenge or another helpdesk's acknowledgement/.test(r)), state.reasons.join('; '));
  });

  test('a reprocess of a completed email with skipAck opens the ticket under the original id, unacknowledged', async () => {
    const original = 'inbound-email/original-key';
    const fakes = new RecordedActivities();
    const state = finished(await run(fakes, email({ reprocessOf: original, overrides: { skipAck: true } })));

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.ok(state.reasons.includes('not acknowledged: skipped on reprocess by an operator'), state.reasons.join('; '));
    assert.equal(fakes.inputs('recordTicket')[0]?.workflowId, original);
    assert.equal(fakes.inputs('recordEmail')[0]?.workflowId, original);
  });

  test('an acknowledgement the store did not hear of is marked sent afterwards, never sent again', async () => {
    const fakes = new RecordedActivities({
      sendAcknowledgement: () => ({ messageId: 'ack-1@mailgate.test', sent: true, recorded: false, reason: 'sent' }),
    });
    const input = email({ policy: { maxAttempts: 2 } });
    const state = finished(await run(fakes, input));

    assert.equal(fakes.count('sendAcknowledgement'), 1);
    assert.equal(fakes.count('markAcknowledgementSent'), 1);
    assert.equal(fakes.inputs('markAcknowledgementSent')[0], fakes.inputs('sendAcknowledgement')[0]?.workflowId);
    assert.deepEqual(state.acknowledgement, { messageId: 'ack-1@mailgate.test', sent: true, recorded: true, reason: 'sent' });
  });
});

describe('parking and the operator', () => {
  test('a step whose retries run out parks the email: the status query and search attributes show the step and the error', async () => {
    const fakes = new RecordedActivities({
      sendAcknowledgement: (input, call) =>
        call === 1
          ? unavailable(ErrorType.SmtpUnavailable, '421 4.3.2 Service not available')
          : { messageId: `ack-${input.ticketNumber}@mailgate.test`, sent: true, recorded: true, reason: 'sent' },
    });
    let parked: EmailState | undefined;
    let parkedAttributes: TypedSearchAttributes | undefined;
    const result = await run(fakes, email(), async (handle) => {
      parked = await whenParked(handle);
      parkedAttributes = (await handle.describe()).typedSearchAttributes;
      await handle.signal(reprocessSignal, { by: OPERATOR });
    });
    const state = finished(result);

    assert.equal(parked?.step, 'acknowledging');
    assert.equal(parked?.parked?.step, 'acknowledging');
    assert.equal(parked?.parked?.errorType, 'SmtpUnavailable');
    assert.match(parked?.parked?.message ?? '', /421 4\.3\.2/);
    assert.equal(parked?.ticketId, 'ticket-1', 'what finished before the failure is already in the state');
    assert.equal(parkedAttributes?.get(EmailStatusKey), 'parked');
    assert.equal(parkedAttributes?.get(ParkedStepKey), 'acknowledging');
    assert.equal(parkedAttributes?.get(ErrorTypeKey), 'SmtpUnavailable');

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.parked, null);
    assert.equal(state.acknowledgement?.sent, true);
    assert.deepEqual(fakes.names(), [
      'parseEmail',
      'findThread',
      'recordTicket',
      'sendAcknowledgement',
      'sendAcknowledgement',
      'recordEmail',
    ]);
    assert.deepEqual(fakes.inputs('sendAcknowledgement')[1], fakes.inputs('sendAcknowledgement')[0], 'the same acknowledgement, Message-ID key included');
    assert.ok(state.evidence.includes(`reprocess: ${OPERATOR} retried acknowledging`), state.evidence.join('; '));
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'ticket_created');
    assert.equal(result.searchAttributes.get(ParkedStepKey), undefined);
    assert.equal(result.searchAttributes.get(ErrorTypeKey), undefined);
  });

  test('reprocess with a queue and skipAck runs the failed step again; finished steps are not rerun, later ones use the overrides', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'log.txt')] }),
      scanAttachments: ({ parts }, call) =>
        call <= 2 ? unavailable(ErrorType.ScannerUnavailable, 'clamd: connect ECONNREFUSED') : parts.map((p) => ({ index: p.index, status: 'clean', detail: null })),
    });
    let attemptsBeforeParking = 0;
    const result = await run(fakes, email({ policy: { maxAttempts: 2 } }), async (handle) => {
      await whenParked(handle);
      attemptsBeforeParking = fakes.count('scanAttachments');
      await handle.signal(reprocessSignal, { queue: BILLING, skipAck: true, by: OPERATOR });
    });
    const state = finished(result);

    assert.equal(attemptsBeforeParking, 2, 'maxAttempts 2: parked after the second attempt');
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.queue, BILLING);
    assert.deepEqual(fakes.names(), [
      'parseEmail',
      'findThread',
      'scanAttachments',
      'scanAttachments',
      'scanAttachments',
      'storeAttachments',
      'recordTicket',
      'recordEmail',
    ]);
    assert.equal(fakes.inputs('recordTicket')[0]?.queue, BILLING);
    assert.ok(state.reasons.includes(`not acknowledged: skipped on reprocess by ${OPERATOR}`), state.reasons.join('; '));
    assert.equal(fakes.inputs('recordEmail')[0]?.queue, BILLING);
    assert.equal(result.searchAttributes.get(RecipientQueueKey), BILLING);
  });

  test('reprocess with forceNewTicket opens a ticket of its own for a reply that threads, under a key of its own', async () => {
    // A large email parses in a normal activity (a small one in a local activity).
    const input = email({ rawSize: 300 * 1024 });
    const fakes = new RecordedActivities({
      parseEmail: (_input, call) =>
        call === 1 ? unavailable(ErrorType.ObjectStoreUnavailable, 'S3 answered 503') : summary({ messageId: REPLY, inReplyTo: [QUESTION] }),
      findThread: () => ({ match: threaded, refused: [] }),
    });
    const result = await run(fakes, input, async (handle) => {
      await whenParked(handle);
      await handle.signal(reprocessSignal, { forceNewTicket: true, by: OPERATOR });
    });
    const state = finished(result);

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('parseEmail'), 2);
    const [ticket] = fakes.inputs('recordTicket');
    assert.equal(ticket?.thread, null);
    assert.equal(ticket?.idempotencyKey, `${input.idempotencyKey}:forced`);
    assert.ok(state.evidence.includes('reprocess: a new ticket was forced'), state.evidence.join('; '));
    assert.equal(fakes.count('sendAcknowledgement'), 1);
  });

  test('discard while parked ends the email as discarded with the operator reason, and records it', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'scan.pdf')] }),
      storeAttachments: () => unavailable(ErrorType.ObjectStoreUnavailable, 'S3 answered 503 SlowDown'),
    });
    const result = await run(fakes, email(), async (handle) => {
      await whenParked(handle);
      await handle.signal(discardSignal, { reason: 'the customer sent it again', by: OPERATOR });
    });
    const state = finished(result);

    const reason = `discarded by ${OPERATOR} while parked at storing: the customer sent it again`;
    assert.equal(state.outcome, 'discarded');
    assert.deepEqual(state.reasons, [reason]);
    assert.equal(fakes.count('storeAttachments'), 1);
    assert.equal(fakes.count('recordTicket'), 0);
    assert.deepEqual([fakes.inputs('recordEmail')[0]?.outcome, fakes.inputs('recordEmail')[0]?.reason], ['rejected', reason]);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'discarded');
  });

  test('a parked email nobody answers fails when the default 7-day park timeout passes, in seconds of wall time', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'a.pdf')] }),
      scanAttachments: () => unavailable(ErrorType.ScannerUnavailable, 'clamd: connect ECONNREFUSED'),
    });
    const input = email();
    assert.equal(input.policy?.parkTimeoutSeconds, undefined, 'the default park timeout applies');
    const result = await run(fakes, input);

    assert.ok(result.error instanceof WorkflowFailedError, String(result.error));
    const cause = result.error.cause;
    assert.ok(cause instanceof ActivityFailure, String(cause));
    assert.ok(cause.cause instanceof ApplicationFailure);
    assert.equal(cause.cause.type, ErrorType.ScannerUnavailable);
    assert.ok(result.workflowMs >= 7 * DAY_MS && result.workflowMs < 8 * DAY_MS, `${result.workflowMs} ms passed for the workflow`);
    assert.ok(result.wallMs < 30_000, `${result.wallMs} ms of wall time`);
    assert.equal(fakes.count('scanAttachments'), 1);
    const [record] = fakes.inputs('recordEmail');
    assert.equal(record?.outcome, 'failed');
    assert.match(record?.reason ?? '', /scanning failed: clamd: connect ECONNREFUSED/);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'failed');
  });

  test('a local-activity step whose retries run out parks the email like any other step; the rerun gets the new queue', async () => {
    const fakes = new RecordedActivities({
      findThread: (_input, call) => (call === 1 ? unavailable(ErrorType.DatabaseUnavailable, 'too many clients already') : { match: null, refused: [] }),
    });
    const result = await run(fakes, email(), async (handle) => {
      const parked = await whenParked(handle);
      assert.equal(parked.parked?.step, 'threading');
      assert.equal(parked.parked?.errorType, ErrorType.DatabaseUnavailable);
      await handle.signal(reprocessSignal, { queue: BILLING, by: OPERATOR });
    });
    const state = finished(result);
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('findThread'), 2, 'the failed lookup and its rerun');
    assert.equal(fakes.inputs('findThread')[1]?.queue, BILLING, 'the rerun looks up in the queue the operator chose');
    assert.equal(fakes.inputs('recordTicket')[0]?.queue, BILLING);
    assert.equal(fakes.inputs('sendAcknowledgement')[0]?.queue, BILLING);
  });

  test('forceNewTicket given while parked after threading still opens a ticket of its own', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ messageId: REPLY, inReplyTo: [QUESTION], attachments: [attachment(0, 'a.pdf')] }),
      findThread: () => ({ match: threaded, refused: [] }),
      scanAttachments: ({ parts }, call) =>
        call === 1 ? unavailable(ErrorType.ScannerUnavailable, 'clamd down') : parts.map((p) => ({ index: p.index, status: 'clean', detail: null })),
    });
    const result = await run(fakes, email(), async (handle) => {
      await whenParked(handle);
      await handle.signal(reprocessSignal, { forceNewTicket: true, by: OPERATOR });
    });
    const state = finished(result);
    const [ticketInput] = fakes.inputs('recordTicket');
    assert.equal(ticketInput?.thread, null);
    assert.match(ticketInput?.idempotencyKey ?? '', /:forced$/);
    assert.equal(state.threadedOn, null);
    assert.ok(state.evidence.includes('reprocess: a new ticket was forced'), state.evidence.join('; '));
  });
});

describe('waiting for a parent', () => {
  test('a reply whose parent is not known yet waits for it: found after 60 s of workflow time, in far less wall time', async () => {
    // Polls back off 1, 2, 4, 8, 15, 15, 15 s: the eighth lookup, 60 s in, finds the parent.
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ messageId: REPLY, inReplyTo: [QUESTION] }),
      findThread: (_input, call) => ({ match: call >= 8 ? threaded : null, refused: [] }),
      recordTicket: () => ({ ...created, outcome: 'comment_added', ticketCreated: false }),
    });
    const result = await run(fakes, email({ policy: { waitForParentSeconds: 120 } }));
    const state = finished(result);

    assert.equal(state.outcome, 'comment_added');
    assert.equal(state.waitedForParentSeconds, 60);
    assert.equal(fakes.count('findThread'), 8);
    assert.ok(state.evidence.includes('thread:waited 60s for the parent'), state.evidence.join('; '));
    assert.equal(fakes.inputs('recordTicket')[0]?.waitedSeconds, 60);
    assert.ok(result.workflowMs >= 60_000 && result.workflowMs < 70_000, `${result.workflowMs} ms passed for the workflow`);
    assert.ok(result.wallMs < 30_000, `${result.wallMs} ms of wall time`);
  });

  test('a reply whose parent never arrives waits the policy limit, then opens a ticket of its own', async () => {
    const fakes = new RecordedActivities({ parseEmail: () => summary({ messageId: REPLY, inReplyTo: [QUESTION] }) });
    const state = finished(await run(fakes, email({ policy: { waitForParentSeconds: 30 } })));

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.waitedForParentSeconds, 30);
    assert.equal(fakes.count('findThread'), 6, 'lookups at 0, 1, 3, 7, 15 and 30 s');
    assert.ok(state.evidence.includes('thread:parent not seen within 30s'), state.evidence.join('; '));
    assert.equal(fakes.count('sendAcknowledgement'), 1);
  });

  test('a hard bounce the ledger refuses marks nothing and records why (issue 12: a forged report)', async () => {
    const bounce: ActivityOutput<'classifyEmail'>['bounce'] = { kind: 'hard', recipients: ['ceo@victim.example'], status: '5.1.1' };
    const refusal = 'the report returns no message Mailgate sent: nothing marked undeliverable';
    const fakes = new RecordedActivities({
      parseEmail: () =>
        summary({
          from: 'mailer-daemon@evil.example',
          subject: 'Undelivered Mail',
          classification: verdict({ emailClass: 'bounce', evidence: ['dsn:failed'], bounce, returnedMessageId: 'customer-1@customer.example' }),
        }),
      findThread: () => ({ match: { ...threaded, messageId: 'customer-1@customer.example', rule: 'bounce-original' }, refused: [] }),
      recordTicket: () => ({ ...created, outcome: 'note_added', ticketCreated: false }),
      recordHardBounce: () => ({ marked: [], refused: [refusal] }),
    });
    const state = finished(await run(fakes, email()));
    assert.equal(state.outcome, 'note_added');
    assert.ok(state.reasons.includes(refusal), state.reasons.join('; '));
    assert.ok(!state.reasons.some((r) => r.startsWith('marked undeliverable')), state.reasons.join('; '));
  });

  test('a hard bounce that names no returned message at all does not ask the ledger, and says so', async () => {
    const bounce: ActivityOutput<'classifyEmail'>['bounce'] = { kind: 'hard', recipients: ['ceo@victim.example'], status: '5.1.1' };
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ from: 'mailer-daemon@evil.example', subject: 'Undelivered Mail', classification: verdict({ emailClass: 'bounce', evidence: ['dsn:failed'], bounce, returnedMessageId: null }) }),
    });
    const state = finished(await run(fakes, email()));
    assert.equal(fakes.count('recordHardBounce'), 0);
    assert.ok(state.reasons.includes('hard bounce that names no returned message: nothing marked undeliverable'), state.reasons.join('; '));
  });

  test('a hard bounce of our acknowledgement marks the recipient undeliverable', async () => {
    const bounce: ActivityOutput<'classifyEmail'>['bounce'] = { kind: 'hard', recipients: [CUSTOMER], status: '5.1.1' };
    const fakes = new RecordedActivities({
      parseEmail: () =>
        summary({
          from: 'mailer-daemon@customer.example',
          subject: 'Undelivered Mail',
          references: ['ack-1@mailgate.test'],
          classification: verdict({ emailClass: 'bounce', evidence: ['dsn:failed'], bounce, returnedMessageId: 'ack-1@mailgate.test' }),
        }),
      findThread: () => ({ match: { ...threaded, messageId: 'ack-1@mailgate.test', rule: 'own-message-id' }, refused: [] }),
      recordTicket: () => ({ ...created, outcome: 'note_added', ticketCreated: false }),
    });
    const state = finished(await run(fakes, email({ policy: { waitForParentSeconds: 120 } })));

    assert.equal(state.outcome, 'note_added');
    assert.deepEqual(fakes.inputs('recordHardBounce'), [
      { recipients: [CUSTOMER], reason: 'hard bounce 5.1.1 of <ack-1@mailgate.test>', returnedMessageId: 'ack-1@mailgate.test', candidates: ['ack-1@mailgate.test'] },
    ]);
    assert.ok(state.reasons.includes(`marked undeliverable: ${CUSTOMER}`), state.reasons.join('; '));
    assert.equal(fakes.inputs('findThread')[0]?.returnedMessageId, 'ack-1@mailgate.test', 'the parse step found the original');
    assert.equal(state.waitedForParentSeconds, 0);
  });
});

describe('the lean path, flagged by the ingress', () => {
  async function patchMarkersAndSteps(leanPath: boolean): Promise<{ patches: string[]; steps: string[]; outcome: string | undefined }> {
    const fakes = new RecordedActivities();
    let patches: string[] = [];
    const result = await run(fakes, email(leanPath ? { leanPath: true } : {}), undefined, async (handle) => {
      const history = await handle.fetchHistory();
      patches = (history.events ?? [])
        .filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch')
        .map((e) => {
          const data = e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
          return (JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { id: string }).id;
        });
    });
    return { patches, steps: fakes.names(), outcome: finished(result).outcome };
  }

  test('a flagged email asks for no patch; one started without the flag asks for lean-email-path and runs the same steps', async () => {
    const flagged = await patchMarkersAndSteps(true);
    const unflagged = await patchMarkersAndSteps(false);
    assert.deepEqual(flagged.patches, []);
    assert.deepEqual(unflagged.patches, ['lean-email-path']);
    assert.equal(flagged.outcome, 'ticket_created');
    assert.deepEqual(flagged.steps, unflagged.steps);
    assert.deepEqual(flagged.steps, ['parseEmail', 'findThread', 'recordTicket', 'sendAcknowledgement', 'recordEmail']);
  });
});
