/**
 * The quarantine hold (issue 16, SMTP_INGRESS_DMARC_ACTION=quarantine) on the time-skipping test
 * server with recording fake activities: an email the ingress held runs no step at all until an
 * operator releases it, ends with the operator's reason when discarded, and as suppressed, never as
 * a ticket, when nobody decides within the park timeout.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import { describe, test } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import assert from 'node:assert/strict';
import type { TypedSearchAttributes } from '@temporalio/common';
import { EmailStatusKey, ErrorTypeKey, ParkedStepKey } from '../../src/workflows/search-attributes';
import { discardSignal, reprocessSignal, type EmailState } from '../../src/workflows/types';
import { email, finished, run, useTimeSkippingServer, whenParked } from './email-harness';
import { CUSTOMER, RecordedActivities } from './process-inbound-email-fakes';

const DAY_MS = 24 * 3600 * 1000;
const OPERATOR = 'ops@mailgate.test';
const REASON = 'DMARC failed for forged.example, whose policy is p=reject (SMTP_INGRESS_DMARC_ACTION=quarantine): release it to process it, or discard it';

useTimeSkippingServer();

describe('an email the ingress quarantined', () => {
  test('parks at quarantine before any step runs; released by reprocess, it takes the normal path to a ticket and one acknowledgement', async () => {
    const fakes = new RecordedActivities();
    let parked: EmailState | undefined;
    let parkedAttributes: TypedSearchAttributes | undefined;
    let activitiesWhileHeld: string[] = [];
    const result = await run(fakes, email({ quarantine: { reason: REASON } }), async (handle) => {
      parked = await whenParked(handle);
      activitiesWhileHeld = fakes.names();
      parkedAttributes = (await handle.describe()).typedSearchAttributes;
      await handle.signal(reprocessSignal, { by: OPERATOR });
    });
    const state = finished(result);

    assert.deepEqual(activitiesWhileHeld, [], 'nothing runs while held: no parse, no ticket, no acknowledgement');
    assert.equal(parked?.parked?.step, 'quarantine');
    assert.equal(parked?.parked?.errorType, 'Quarantined');
    assert.equal(parked?.parked?.message, `quarantined: ${REASON}`);
    assert.equal(parkedAttributes?.get(EmailStatusKey), 'parked');
    assert.equal(parkedAttributes?.get(ParkedStepKey), 'quarantine');
    assert.equal(parkedAttributes?.get(ErrorTypeKey), 'Quarantined');

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('recordTicket'), 1);
    assert.equal(fakes.count('sendAcknowledgement'), 1);
    assert.ok(state.evidence.includes(`quarantine: ${REASON}`), state.evidence.join('; '));
    assert.ok(state.evidence.includes(`reprocess: ${OPERATOR} retried quarantine`), state.evidence.join('; '));
    assert.equal(result.searchAttributes.get(ParkedStepKey), undefined);
  });

  test('discarded while held, it ends as discarded with the operator reason and is recorded; nothing else ran', async () => {
    const fakes = new RecordedActivities();
    const result = await run(fakes, email({ quarantine: { reason: REASON } }), async (handle) => {
      await whenParked(handle);
      await handle.signal(discardSignal, { reason: 'spoofed CEO mail', by: OPERATOR });
    });
    const state = finished(result);

    const reason = `discarded by ${OPERATOR} while parked at quarantine: spoofed CEO mail`;
    assert.equal(state.outcome, 'discarded');
    assert.deepEqual(state.reasons, [reason]);
    assert.deepEqual(fakes.names(), ['recordEmail']);
    assert.deepEqual([fakes.inputs('recordEmail')[0]?.outcome, fakes.inputs('recordEmail')[0]?.reason], ['rejected', reason]);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'discarded');
  });

  test('nobody decides: after the default 7-day park timeout it ends as suppressed with the reason, never as a ticket', async () => {
    const fakes = new RecordedActivities();
    const result = await run(fakes, email({ quarantine: { reason: REASON } }));
    const state = finished(result);

    assert.equal(state.outcome, 'suppressed');
    assert.deepEqual(state.reasons, [`quarantined and not released within 7 days: ${REASON}`]);
    assert.ok(result.workflowMs >= 7 * DAY_MS && result.workflowMs < 8 * DAY_MS, `${result.workflowMs} ms passed for the workflow`);
    assert.deepEqual(fakes.names(), ['recordEmail']);
    assert.equal(fakes.inputs('recordEmail')[0]?.outcome, 'suppressed');
    assert.equal(fakes.inputs('recordEmail')[0]?.sender, CUSTOMER);
    assert.equal(result.searchAttributes.get(EmailStatusKey), 'suppressed');
  });

  test("an operator's reprocess of a completed quarantined email is not held again", async () => {
    const fakes = new RecordedActivities();
    const result = await run(fakes, email({ quarantine: { reason: REASON }, reprocessOf: 'email-original', reprocessedBy: OPERATOR }));
    const state = finished(result);

    assert.equal(state.outcome, 'ticket_created');
    assert.equal(fakes.count('parseEmail'), 1);
  });
});
