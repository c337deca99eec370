/**
 * Every reprocess option on every step an email can park at (issue 13), on Temporal's time-skipping
 * test server with recording fake activities: skipAck, a queue, forceNewTicket and discard, each given
 * while the email is parked at parsing, classifying, threading, scanning, storing, ticketing and
 * acknowledging. Also: a reprocess of a completed email with a queue, and the park timeout (a parked
 * email fails when it passes, with the reason recorded; a reprocess just before it still works).
 * test/slow/reprocess-options.test.ts runs the same table against the real stack.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import { describe, test } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import assert from 'node:assert/strict';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { ErrorType } from '../../src/domain/errors';
import type { EmailStep } from '../../src/domain/vocabulary';
import { EmailStatusKey, RecipientQueueKey } from '../../src/workflows/search-attributes';
import { discardSignal, reprocessSignal, statusQuery, type EmailState } from '../../src/workflows/types';
import type { TypedSearchAttributes } from '@temporalio/common';
import { email, finished, run, testServer, useTimeSkippingServer, whenParked, type Handle, type Run } from './email-harness';
import { attachment, created, RecordedActivities, summary, SUPPORT, type Fakes } from './process-inbound-email-fakes';

const DAY_MS = 24 * 3600 * 1000;
const OPERATOR = 'ops@mailgate.test';
const BILLING = 'billing@mailgate.test';
const QUESTION = 'question-1@customer.example';
const threaded = { ticketId: 'ticket-0', ticketNumber: 7, messageId: QUESTION, rule: 'message-id' as const };

useTimeSkippingServer();

/** Fails the first call: transient (retried, then parked) or permanent (parked at once). */
function failFirst<T>(call: number, type: ErrorType, result: () => T): T {
  if (call > 1) return result();
  const nonRetryable = [ErrorType.SmtpRejected, ErrorType.InvalidTicketInput, ErrorType.ObjectNotFound].includes(type as never);
  throw ApplicationFailure.create({ message: `${type}: the service said no`, type, nonRetryable });
}

/**
 * Per step: fakes whose first call of that step's activity fails. `threads` makes the email a reply
 * whose thread is known (so forceNewTicket has something to leave).
 */
function failingAt(step: EmailStep, threads: boolean): Partial<Fakes> {
  const attachments = [attachment(0, 'a.pdf')];
  const parsed = summary({ attachments, ...(step === 'classifying' ? { classification: undefined } : {}), ...(threads ? { inReplyTo: [QUESTION], messageId: 'reply-1@customer.example' } : {}) });
  const lookup = () => (threads ? { match: threaded, refused: [] } : { match: null, refused: [] });
  const fakes: Partial<Fakes> = { parseEmail: () => parsed, findThread: lookup };
  switch (step) {
    case 'parsing':
      fakes.parseEmail = (_input, call) => failFirst(call, ErrorType.ObjectStoreUnavailable, () => parsed);
      break;
    case 'classifying':
      fakes.classifyEmail = (_input, call) => failFirst(call, ErrorType.ObjectStoreUnavailable, () => summary().classification!);
      break;
    case 'threading':
      fakes.findThread = (_input, call) => failFirst(call, ErrorType.DatabaseUnavailable, lookup);
      break;
    case 'scanning':
      fakes.scanAttachments = ({ parts }, call) => failFirst(call, ErrorType.ScannerUnavailable, () => parts.map((p) => ({ index: p.index, status: 'clean' as const, detail: null })));
      break;
    case 'storing':
      fakes.storeAttachments = ({ parts }, call) =>
        failFirst(call, ErrorType.ObjectStoreUnavailable, () => parts.map((p) => ({ index: p.index, storageKey: `attachments/${p.sha256}`, quarantineKey: null })));
      break;
    case 'ticketing':
      fakes.recordTicket = (input, call) =>
        failFirst(call, ErrorType.DatabaseUnavailable, () => ({
          ...created,
          ...(input.move ? { moved: { moved: true, from: SUPPORT, to: input.queue, by: input.move.by } } : {}),
        }));
      break;
    case 'acknowledging':
      // A permanent refusal (SMTP 5xx): parked at once, not after the retries.
      fakes.sendAcknowledgement = (input, call) =>
        failFirst(call, ErrorType.SmtpRejected, () => ({ messageId: `ack-${input.ticketNumber}@mailgate.test`, sent: true, recorded: true, reason: 'sent' }));
      break;
    default:
      throw new Error(`no failure for step ${step}`);
  }
  return fakes;
}

const STEPS: EmailStep[] = ['parsing', 'classifying', 'threading', 'scanning', 'storing', 'ticketing', 'acknowledging'];
const BEFORE_TICKET = (step: EmailStep) => step !== 'acknowledging';

async function parkThen(step: EmailStep, threads: boolean, decide: (handle: Handle) => Promise<void>): Promise<{ fakes: RecordedActivities; result: Run; parked: EmailState }> {
  const fakes = new RecordedActivities(failingAt(step, threads));
  let parked: EmailState | undefined;
  const result = await run(fakes, email(), async (handle) => {
    parked = await whenParked(handle);
    await decide(handle);
  });
  assert.equal(parked?.parked?.step, step, `parked at ${parked?.parked?.step}, not ${step}`);
  return { fakes, result, parked: parked! };
}

describe('reprocess --skip-ack at every step', () => {
  for (const step of STEPS) {
    test(`parked at ${step}: the email ends with its ticket, no acknowledgement is sent, and the reason names who skipped it`, async () => {
      const { fakes, result } = await parkThen(step, false, (h) => h.signal(reprocessSignal, { skipAck: true, by: OPERATOR }));
      const state = finished(result);
      assert.equal(state.outcome, 'ticket_created');
      assert.equal(fakes.count('sendAcknowledgement'), step === 'acknowledging' ? 1 : 0, 'only the failed attempt, never a send after the decision');
      assert.ok(state.reasons.includes(`not acknowledged: skipped on reprocess by ${OPERATOR}`), state.reasons.join('; '));
      assert.equal(state.acknowledgement, null);
      assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'ticket_created');
      assert.equal(result.searchAttributes.get(EmailStatusKey), 'ticket_created');
    });
  }
});

describe('reprocess --queue at every step', () => {
  for (const step of STEPS) {
    test(`parked at ${step}: the retried step and all after it use the new queue, the ticket ends in it, and RecipientQueue says so`, async () => {
      const { fakes, result } = await parkThen(step, false, (h) => h.signal(reprocessSignal, { queue: BILLING, by: OPERATOR }));
      const state = finished(result);
      assert.equal(state.outcome, 'ticket_created');
      assert.equal(state.queue, BILLING);
      const [ticketInput] = fakes.inputs('recordTicket').slice(-1);
      if (BEFORE_TICKET(step)) {
        assert.equal(ticketInput?.queue, BILLING);
        assert.deepEqual(ticketInput?.move?.by, OPERATOR, 'the ticket step moves a ticket found in another queue');
        assert.equal(fakes.count('moveTicket'), 0);
      } else {
        assert.equal(ticketInput?.queue, SUPPORT, 'the ticket step ran before the decision');
        assert.equal(fakes.count('moveTicket'), 1, 'the existing ticket is moved before the acknowledgement is retried');
        assert.deepEqual(fakes.inputs('moveTicket')[0], { ticketId: 'ticket-1', queue: BILLING, by: OPERATOR, runWorkflowId: fakes.inputs('moveTicket')[0]?.runWorkflowId });
        assert.ok(state.reasons.includes(`ticket moved from ${SUPPORT} to ${BILLING} by ${OPERATOR}`), state.reasons.join('; '));
      }
      assert.equal(fakes.inputs('sendAcknowledgement').slice(-1)[0]?.queue, BILLING);
      assert.equal(fakes.inputs('recordEmail')[0]?.queue, BILLING);
      assert.equal(result.searchAttributes.get(RecipientQueueKey), BILLING);
    });
  }
});

describe('reprocess --force-new-ticket at every step', () => {
  for (const step of STEPS.filter(BEFORE_TICKET)) {
    test(`parked at ${step}: a reply that threads opens a ticket of its own, under the one forced key`, async () => {
      const { fakes, result } = await parkThen(step, true, (h) => h.signal(reprocessSignal, { forceNewTicket: true, by: OPERATOR }));
      const state = finished(result);
      const [ticketInput] = fakes.inputs('recordTicket').slice(-1);
      assert.equal(ticketInput?.thread, null);
      assert.match(ticketInput?.idempotencyKey ?? '', /:forced$/);
      assert.equal(state.threadedOn, null);
      assert.equal(state.outcome, 'ticket_created');
      assert.equal(fakes.count('sendAcknowledgement'), 1, 'the forced ticket is new: it is acknowledged');
    });
  }
  test('parked at acknowledging: the email already opened its own ticket, so forcing opens no second one and says why', async () => {
    const { fakes, result } = await parkThen('acknowledging', false, (h) => h.signal(reprocessSignal, { forceNewTicket: true, by: OPERATOR }));
    const state = finished(result);
    assert.equal(fakes.count('recordTicket'), 1);
    assert.equal(fakes.inputs('recordTicket')[0]?.idempotencyKey.endsWith(':forced'), false);
    assert.equal(state.ticketId, 'ticket-1');
    assert.ok(state.evidence.some((e) => e.startsWith('reprocess: forceNewTicket ignored: the email already opened ticket MG-1 (ticket-1)')), state.evidence.join('; '));
    assert.equal(fakes.count('sendAcknowledgement'), 2, 'the acknowledgement step itself is retried');
  });
});

describe('discard at every step', () => {
  for (const step of STEPS.filter(BEFORE_TICKET)) {
    test(`parked at ${step}: the email ends discarded with the operator's reason, and no ticket is written`, async () => {
      const { fakes, result } = await parkThen(step, false, (h) => h.signal(discardSignal, { reason: 'sent twice', by: OPERATOR }));
      const state = finished(result);
      const reason = `discarded by ${OPERATOR} while parked at ${step}: sent twice`;
      assert.equal(state.outcome, 'discarded');
      assert.ok(state.reasons.includes(reason), state.reasons.join('; '));
      assert.equal(step === 'ticketing' ? 1 : 0, fakes.count('recordTicket'));
      assert.equal(state.ticketId, null);
      // Discarded before it was classified (parsing, classifying): recorded too, with no class.
      const record = fakes.inputs('recordEmail')[0];
      assert.deepEqual([record?.outcome, record?.reason], ['rejected', reason]);
      assert.equal(record?.emailClass, step === 'parsing' || step === 'classifying' ? null : 'human');
      assert.equal(result.searchAttributes.get(EmailStatusKey), 'discarded');
    });
  }
  test('parked at acknowledging: the ticket stays live and the email stays ticket_created; only the acknowledgement is given up', async () => {
    const { fakes, result } = await parkThen('acknowledging', false, (h) => h.signal(discardSignal, { reason: 'customer asked for no mail', by: OPERATOR }));
    const state = finished(result);
    const reason = `acknowledgement discarded by ${OPERATOR}: customer asked for no mail`;
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(state.ticketId, 'ticket-1');
    assert.ok(state.reasons.includes(reason), state.reasons.join('; '));
    assert.equal(fakes.count('sendAcknowledgement'), 1);
    const [record] = fakes.inputs('recordEmail');
    assert.deepEqual([record?.outcome, record?.ticketId, record?.reason], ['ticket_created', 'ticket-1', reason]);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'ticket_created');
  });
});

describe('reprocess of a completed email', () => {
  test('with a queue: the run is listed under the new queue from its start and the ticket step moves the ticket there', async () => {
    const original = 'inbound-email/original-key';
    const fakes = new RecordedActivities();
    let early: TypedSearchAttributes | undefined;
    const result = await run(fakes, email({ reprocessOf: original, overrides: { queue: BILLING }, reprocessedBy: OPERATOR }), async (handle) => {
      early = (await handle.describe()).typedSearchAttributes;
    });
    const state = finished(result);
    assert.ok(early?.get(RecipientQueueKey) === undefined || early.get(RecipientQueueKey) === BILLING, `listed under ${String(early?.get(RecipientQueueKey))}`);
    assert.equal(result.searchAttributes.get(RecipientQueueKey), BILLING);
    assert.equal(state.queue, BILLING);
    const [ticketInput] = fakes.inputs('recordTicket');
    assert.equal(ticketInput?.queue, BILLING);
    assert.equal(ticketInput?.workflowId, original);
    assert.equal(ticketInput?.move?.by, OPERATOR);
  });

  test('with skipAck: the reason names who asked for the run', async () => {
    const fakes = new RecordedActivities();
    const state = finished(await run(fakes, email({ reprocessOf: 'inbound-email/original-key', overrides: { skipAck: true }, reprocessedBy: OPERATOR })));
    assert.equal(fakes.count('sendAcknowledgement'), 0);
    assert.ok(state.reasons.includes(`not acknowledged: skipped on reprocess by ${OPERATOR}`), state.reasons.join('; '));
  });
});

describe('when an email parks', () => {
  test('a permanent failure (SMTP 5xx) parks at once, after one attempt, whatever the retry budget', async () => {
    const fakes = new RecordedActivities({
      sendAcknowledgement: (input, call) =>
        call === 1
          ? (() => {
              throw ApplicationFailure.nonRetryable('550 5.1.1 mailbox unavailable', ErrorType.SmtpRejected);
            })()
          : { messageId: `ack-${input.ticketNumber}@mailgate.test`, sent: true, recorded: true, reason: 'sent' },
    });
    const result = await run(fakes, email({ policy: { maxAttempts: 25 } }), async (handle) => {
      const parked = await whenParked(handle);
      assert.equal(parked.parked?.errorType, ErrorType.SmtpRejected);
      assert.equal(fakes.count('sendAcknowledgement'), 1, 'parked after the first attempt');
      await handle.signal(reprocessSignal, { by: OPERATOR });
    });
    assert.equal(finished(result).outcome, 'ticket_created');
  });

  test('a transient failure is retried first: the step parks after its budget of attempts', async () => {
    const fakes = new RecordedActivities({
      parseEmail: () => summary({ attachments: [attachment(0, 'a.pdf')] }),
      scanAttachments: ({ parts }, call) =>
        call <= 3
          ? (() => {
              throw ApplicationFailure.retryable('clamd: connect ECONNREFUSED', ErrorType.ScannerUnavailable);
            })()
          : parts.map((p) => ({ index: p.index, status: 'clean' as const, detail: null })),
    });
    const result = await run(fakes, email({ policy: { maxAttempts: 3 } }), async (handle) => {
      await whenParked(handle, 30_000);
      assert.equal(fakes.count('scanAttachments'), 3, 'three attempts, then parked');
      assert.deepEqual(fakes.calls.filter((c) => c.name === 'scanAttachments').map((c) => c.attempt), [1, 2, 3]);
      await handle.signal(reprocessSignal, { by: OPERATOR });
    });
    assert.equal(finished(result).outcome, 'ticket_created');
  });
});

describe('the park timeout', () => {
  test('a parked email nobody answers fails with the step error when the 7-day timeout passes, and its record says why', async () => {
    const fakes = new RecordedActivities(failingAt('storing', false));
    const result = await run(fakes, email());
    assert.ok(result.error instanceof WorkflowFailedError, String(result.error));
    assert.ok(result.workflowMs >= 7 * DAY_MS && result.workflowMs < 7 * DAY_MS + 60_000, `${result.workflowMs} ms of workflow time`);
    const [record] = fakes.inputs('recordEmail');
    assert.equal(record?.outcome, 'failed');
    assert.match(record?.reason ?? '', /parked at storing for 7 days without an operator decision \(park timeout\): failed/);
    assert.match(record?.reason ?? '', /storing failed: ObjectStoreUnavailable: the service said no/);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'failed');
  });

  test('an email parked at parsing that nobody answers is recorded as failed too, with no class', async () => {
    const fakes = new RecordedActivities(failingAt('parsing', false));
    const result = await run(fakes, email());
    assert.ok(result.error instanceof WorkflowFailedError, String(result.error));
    const [record] = fakes.inputs('recordEmail');
    assert.deepEqual([record?.outcome, record?.emailClass], ['failed', null]);
    assert.match(record?.reason ?? '', /^parked at parsing for 7 days without an operator decision \(park timeout\): failed; parsing failed: /);
  });

  test('a reprocess a minute before the timeout still works: the email ends with its ticket', async () => {
    const fakes = new RecordedActivities(failingAt('scanning', false));
    const result = await run(fakes, email(), async (handle) => {
      await whenParked(handle);
      await testServer().sleep(7 * DAY_MS - 60_000);
      const state = await handle.query(statusQuery);
      assert.equal(state.outcome, 'parked', 'still parked a minute before the timeout');
      await handle.signal(reprocessSignal, { by: OPERATOR });
    });
    const state = finished(result);
    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('scanAttachments'), 2);
    assert.ok(result.workflowMs >= 7 * DAY_MS - 60_000 && result.workflowMs < 7 * DAY_MS, `${result.workflowMs} ms of workflow time`);
    assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'ticket_created');
  });
});
