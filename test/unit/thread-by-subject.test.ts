/**
 * Issue 14, class 7: threading a header-less reply by subject and participant. The pure rule, the
 * rules option, the lookup over a recording ledger, and the synthetic list month (precision and
 * recall with the rule off and on). The ledger's subject index is in test/contract/, the pipeline
 * scenarios in bench/eval-threading-core.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LIST_MONTH, threadListMonth } from '../../bench/eval-thread-by-subject-core';
import { findBySubject } from '../../src/activities/thread-by-subject';
import { isReplySubject, normaliseSubject, opensWithReplyPrefix } from '../../src/domain/subject-normalise';
import { chooseBySubject, DEFAULT_THREAD_BY_SUBJECT, subjectThreadKey } from '../../src/domain/thread-by-subject';
import type { SubjectCandidate, SubjectLookup } from '../../src/ports/ledger';
import { parseRules } from '../../src/rules';

describe('normalised subjects', () => {
  test('reply and forward prefixes of many clients and list tags are stripped in any mix, case and whitespace folded', () => {
    for (const subject of ['Re: Printer  jams', 'RE: [dev] AW: printer jams', 'Antw: SV: Printer Jams', 'Fwd: Re[2]: printer jams', '[MG-12] Re: printer jams', '回复：Printer jams']) {
      assert.equal(normaliseSubject(subject), 'printer jams', subject);
    }
  });
  test('a reply subject has a reply prefix after any tags; a forward is not a reply', () => {
    assert.equal(isReplySubject('Re: x'), true);
    assert.equal(isReplySubject('[dev] AW: x'), true);
    assert.equal(isReplySubject('Fwd: x'), false);
    assert.equal(isReplySubject('Reply needed: x'), false);
    assert.equal(isReplySubject('x'), false);
    assert.equal(opensWithReplyPrefix('Fwd: x'), true);
  });
});

describe('which subjects may thread', () => {
  test('greetings, "Question", "(no subject)", an empty subject and filler never do', () => {
    for (const subject of ['Hello', 'Re: Hello', 'Question', 'Re: Question about my invoice', '(no subject)', 'Re: ', '', 'Re: Urgent help please', 'Hi there', 'Frage zu meinem Ticket']) {
      assert.equal(subjectThreadKey(subject), null, subject);
    }
  });
  test('a subject with two informative words, an order number or a CJK phrase does', () => {
    assert.equal(subjectThreadKey('Re: Printer jams'), 'printer jams');
    assert.equal(subjectThreadKey('Re: Invoice 20240117'), 'invoice 20240117');
    assert.equal(subjectThreadKey('回复：打印机卡纸问题'), '打印机卡纸问题');
  });
});

describe('choosing the ticket', () => {
  const t = (n: number, participant: boolean) => ({ ticketId: `t${n}`, ticketNumber: n, participant });
  test('exactly one ticket that the sender takes part in is chosen', () => {
    assert.equal(chooseBySubject([t(1, true)]).ticket?.ticketId, 't1');
  });
  test('two tickets with the subject are ambiguous even when the sender takes part in only one; the reason names both', () => {
    const result = chooseBySubject([t(1, true), t(2, false)]);
    assert.equal(result.ticket, null);
    assert.match(result.reason ?? '', /2 tickets share the subject .*MG-1, MG-2.*ambiguous/);
  });
  test('a single ticket of someone else is refused with the reason; no ticket at all is silent', () => {
    assert.match(chooseBySubject([t(1, false)]).reason ?? '', /does not take part/);
    assert.deepEqual(chooseBySubject([]), { ticket: null, reason: null });
  });
});

describe('the rules option threadBySubject', () => {
  test('is off by default with a 14-day window', () => {
    assert.deepEqual(parseRules({}).threadBySubject, { enabled: false, windowDays: 14 });
    assert.deepEqual(DEFAULT_THREAD_BY_SUBJECT, { enabled: false, windowDays: 14 });
  });
  test('takes enabled and a window in days, a fraction allowed', () => {
    assert.deepEqual(parseRules({ threadBySubject: { enabled: true, windowDays: 0.5 } }).threadBySubject, { enabled: true, windowDays: 0.5 });
  });
  test('refuses a zero, negative, huge or non-numeric window, a non-boolean switch and unknown fields, naming the field', () => {
    for (const bad of [{ windowDays: 0 }, { windowDays: -1 }, { windowDays: 366 }, { windowDays: '14' }, { windowDays: Number.NaN }, { enabled: 'yes' }, { window: 3 }]) {
      assert.throws(() => parseRules({ threadBySubject: bad }), /threadBySubject/, JSON.stringify(bad));
    }
    assert.throws(() => parseRules({ threadBySubject: true }), /threadBySubject must be an object/);
  });
});

describe('the lookup', () => {
  const rule = { enabled: true, windowDays: 14 };
  function ledgerWith(candidates: SubjectCandidate[]) {
    const asked: SubjectLookup[] = [];
    return { asked, ledger: { findTicketsBySubject: async (input: SubjectLookup) => (asked.push(input), candidates) } };
  }
  const one = [{ ticketId: 't1', ticketNumber: 1, lastAt: '2024-03-01T00:00:00.000Z' }];

  test('asks the ledger for the queue and the window counted back from the email\'s arrival, by a digest of the subject', async () => {
    const { asked, ledger } = ledgerWith(one);
    const found = await findBySubject(ledger, async () => true, { rule, subject: 'Re: Printer jams', queue: 'support@mailgate.local', at: '2024-03-15T00:00:00.000Z' });
    assert.equal(found.match?.ticketId, 't1');
    assert.equal(asked[0]?.since, '2024-03-01T00:00:00.000Z');
    assert.equal(asked[0]?.queue, 'support@mailgate.local');
    assert.match(asked[0]?.subjectKey ?? '', /^[0-9a-f]{64}$/);
  });
  test('a first message (no reply prefix) and a generic subject never reach the ledger', async () => {
    const { asked, ledger } = ledgerWith(one);
    assert.equal((await findBySubject(ledger, async () => true, { rule, subject: 'Printer jams', queue: 'q', at: '2024-03-15T00:00:00.000Z' })).match, null);
    const generic = await findBySubject(ledger, async () => true, { rule, subject: 'Re: Hello', queue: 'q', at: '2024-03-15T00:00:00.000Z' });
    assert.deepEqual(generic, { match: null, refused: ['subject-participant: subject too generic to thread on'] });
    assert.equal(asked.length, 0);
  });
  test('a non-participant is refused, with the reason', async () => {
    const { ledger } = ledgerWith(one);
    const found = await findBySubject(ledger, async () => false, { rule, subject: 'Re: Printer jams', queue: 'q', at: '2024-03-15T00:00:00.000Z' });
    assert.equal(found.match, null);
    assert.match(found.refused[0] ?? '', /does not take part/);
  });
});

describe('a synthetic list month (class 7)', () => {
  test('with the rule on, no post joins another thread and recall rises over the rule off', async () => {
    const off = await threadListMonth({ enabled: false, windowDays: 14 });
    const on = await threadListMonth({ enabled: true, windowDays: 14 });
    assert.ok(LIST_MONTH.length >= 40 && on.posts >= 140, `${LIST_MONTH.length} threads, ${on.posts} posts`);
    console.log(`# threading by subject: precision ${on.precision.toFixed(3)} recall ${on.recall.toFixed(3)} (off: recall ${off.recall.toFixed(3)})`);
    console.log(
      `# fidelity class 7 (threading recall): threads whole ${on.wholeThreads}/${on.threads} with the rule on, ${off.wholeThreads}/${off.threads} off; ` +
        `${on.headerless} header-less replies, ${on.bySubject} joined by subject, ${on.wrongMerges} wrong`,
    );
    assert.equal(off.precision, 1);
    assert.equal(on.wrongMerges, 0);
    assert.equal(on.precision, 1);
    assert.ok(on.recall > off.recall);
    assert.ok(on.refusals.some((r) => /ambiguous/.test(r)), 'an ambiguous subject is recorded');
    assert.ok(on.refusals.some((r) => /too generic/.test(r)), 'a generic subject is recorded');
  });
});
