/**
 * Issue 12, class 7: a bounce silences only the address we actually mailed. The pure decision
 * (src/domain/bounce-marks.ts) and the mark's lifetime; the pipeline cases are in
 * test/integration/trust-bounces.test.ts, the ledger's marks in test/contract/ledger.contract.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config';
import { bounceMarks, markExpiry } from '../../src/domain/bounce-marks';
import { MINIMAL_ENV } from '../helpers/env';

const ACK = { messageId: 'mg.42.abc.0123456789abcdef@mailgate.example', recipient: 'ann@customer.example' };

describe('which addresses a hard bounce marks', () => {
  test('a report that returns no message we sent marks nothing, whatever it lists', () => {
    const decision = bounceMarks({ failedRecipients: ['ann@customer.example', 'ceo@victim.example'], returned: null });
    assert.equal(decision.mark, null);
    assert.match(decision.refused.join(' '), /returns no message Mailgate sent/);
  });

  test('a report for our acknowledgement marks its recipient as we mailed it', () => {
    assert.deepEqual(bounceMarks({ failedRecipients: ['ann@customer.example'], returned: ACK }), { mark: 'ann@customer.example', refused: [] });
  });

  test('the recipient is matched by mailbox: a relay that changes case or adds a plus-tag still marks the address we mailed', () => {
    for (const spelling of ['ANN@Customer.Example', 'ann+bounce@customer.example', '<ann@customer.example>']) {
      assert.equal(bounceMarks({ failedRecipients: [spelling], returned: ACK }).mark, 'ann@customer.example', spelling);
    }
  });

  test('an unrelated address listed beside the real recipient is refused with a reason; the real one is still marked', () => {
    const decision = bounceMarks({ failedRecipients: ['ceo@victim.example', 'ann@customer.example', 'billing@victim.example'], returned: ACK });
    assert.equal(decision.mark, 'ann@customer.example');
    assert.equal(decision.refused.length, 2);
    assert.match(decision.refused[0]!, /ceo@victim\.example was not the recipient of <mg\.42/);
  });

  test('a report for our acknowledgement that lists only other addresses marks nothing', () => {
    const decision = bounceMarks({ failedRecipients: ['ceo@victim.example', 'anne@customer.example', 'ann@customer.example.evil'], returned: ACK });
    assert.equal(decision.mark, null);
    assert.equal(decision.refused.length, 3);
  });

  test('a report that lists no failed recipient marks nothing', () => {
    const decision = bounceMarks({ failedRecipients: [], returned: ACK });
    assert.equal(decision.mark, null);
    assert.match(decision.refused.join(' '), /names no failed recipient/);
  });
});

describe('how long a mark lasts', () => {
  test('a mark expires the configured number of days after the bounce', () => {
    assert.equal(markExpiry(new Date('2026-01-01T00:00:00.000Z'), 30), '2026-01-31T00:00:00.000Z');
    assert.equal(markExpiry(new Date('2026-01-01T12:00:00.000Z'), 1), '2026-01-02T12:00:00.000Z');
  });

  test('zero, negative, fractional or NaN days never mean forever: they are refused', () => {
    for (const days of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => markExpiry(new Date(), days), RangeError, String(days));
  });

  test('UNDELIVERABLE_MARK_DAYS defaults to 30 and refuses 0, NaN, fractions and more than ten years, naming the variable', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV }).trust.undeliverableMarkDays, 30);
    assert.equal(loadConfig({ ...MINIMAL_ENV, UNDELIVERABLE_MARK_DAYS: '7' }).trust.undeliverableMarkDays, 7);
    for (const bad of ['0', 'NaN', '1.5', '-3', '3651', 'forever']) {
      assert.throws(() => loadConfig({ ...MINIMAL_ENV, UNDELIVERABLE_MARK_DAYS: bad }), /UNDELIVERABLE_MARK_DAYS/, bad);
    }
  });
});
