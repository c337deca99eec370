import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { computePriority } from '../../src/domain/priority';
import {
  acknowledgementMessageId,
  bodyMarker,
  findBodyMarker,
  replyAddress,
  verifyOwnMessageId,
  verifyReplyAddress,
} from '../../src/domain/signed-ids';
import { parseRules, queueFor, RulesError } from '../../src/rules';

const KEY = 'unit-test-signing-key-0123456789';

describe('signed identifiers', () => {
  test('an acknowledgement Message-ID names its ticket and verifies only with our key', () => {
    const id = acknowledgementMessageId(KEY, { workflowId: `inbound-email/${'ab'.repeat(32)}`, ticketNumber: 42, domain: 'mailgate.local' });
    assert.match(id, /^mg\.42\.[A-Za-z0-9]+\.[0-9a-f]{16}@mailgate\.local$/);
    assert.equal(verifyOwnMessageId(KEY, id), 42);
    assert.equal(verifyOwnMessageId('another-key-0123456789', id), null);
    assert.equal(verifyOwnMessageId(KEY, id.replace('mg.42.', 'mg.43.')), null, 'a changed ticket number fails the HMAC');
  });
  test('body markers and reply addresses round-trip and refuse forgeries', () => {
    assert.equal(findBodyMarker(KEY, `> quoted\n> ${bodyMarker(KEY, 7)}\n`), 7);
    assert.equal(findBodyMarker(KEY, '[ref:MG-7:0123456789abcdef]'), null);
    const address = replyAddress(KEY, 'support@mailgate.local', 9);
    assert.match(address, /^support\+mg9\.[0-9a-f]{16}@mailgate\.local$/);
    assert.equal(verifyReplyAddress(KEY, address), 9);
    assert.equal(verifyReplyAddress(KEY, address.toUpperCase()), 9);
    assert.equal(verifyReplyAddress(KEY, 'support+mg9.0123456789abcdef@mailgate.local'), null);
  });
});

describe('the rules file', () => {
  test('an empty object is valid and gives the documented defaults', () => {
    const rules = parseRules({});
    assert.equal(rules.waitForParentSeconds, 120);
    assert.equal(rules.multipleQueues, 'ticket_per_queue');
    assert.deepEqual(rules.rateLimits.acknowledgementsPerRecipient, { limit: 5, windowSeconds: 3600 });
  });
  test('bad values are refused with the field named', () => {
    assert.throws(() => parseRules({ waitForParentSeconds: -1 }), /waitForParentSeconds/);
    assert.throws(() => parseRules({ rateLimits: { newTicketsPerSender: { limit: 0 } } }), /newTicketsPerSender\.limit/);
    assert.throws(() => parseRules({ queues: [{ address: 'not an address' }] }), RulesError);
    assert.throws(() => parseRules({ queues: [{ address: 'a@x.org' }] }), /defaultQueue is required/);
  });
  test('routing maps aliases and plus-addresses to their queue, and unknown addresses by policy', () => {
    const rules = parseRules({
      queues: [{ address: 'support@x.org', aliases: ['help@x.org'] }, { address: 'billing@x.org' }],
      defaultQueue: 'support@x.org',
    });
    assert.equal(queueFor(rules, 'help@x.org'), 'support@x.org');
    assert.equal(queueFor(rules, 'billing+mg4.abc@x.org'), 'billing@x.org');
    assert.equal(queueFor(rules, 'random@x.org'), 'support@x.org');
    assert.equal(queueFor({ ...rules, unknownRecipient: 'refuse' }, 'random@x.org'), null);
  });
});

describe('priority heuristics', () => {
  const rules = parseRules({ priority: { keywords: { urgent: ['outage'], high: ['asap'] }, vipDomains: ['vip.example'] } }).priority;
  const input = { subject: '', text: '', sender: 'a@x.org', headers: {} as Record<string, string[]> };
  // Authentication-Results count only from a trusted authserv-id (src/domain/auth-results.ts).
  const trust = { trustedAuthservIds: ['mx.x.org'] };
  const vipPass = { 'authentication-results': ['mx.x.org; dmarc=pass header.from=vip.example'] };
  test('keywords match whole words only, and every rule that fires leaves a tag', () => {
    assert.equal(computePriority({ ...input, subject: 'Outage in Berlin' }, rules, trust).priority, 'urgent');
    assert.equal(computePriority({ ...input, subject: 'Outages report (monthly)' }, rules, trust).priority, 'normal');
    const both = computePriority({ ...input, subject: 'need this asap', sender: 'ceo@vip.example', headers: vipPass }, rules, trust);
    assert.equal(both.priority, 'high');
    assert.deepEqual(both.tags, ['priority:keyword:asap', 'priority:vip:vip.example']);
  });
  test('X-Priority and Importance headers raise or lower the priority', () => {
    assert.equal(computePriority({ ...input, headers: { 'x-priority': ['1 (Highest)'] } }, rules, trust).priority, 'high');
    assert.equal(computePriority({ ...input, headers: { importance: ['low'] } }, rules, trust).priority, 'low');
  });
  test('a sender failing DMARC is flagged and gets no VIP boost', () => {
    const result = computePriority(
      { ...input, sender: 'ceo@vip.example', headers: { 'authentication-results': ['mx.x.org; dmarc=fail header.from=vip.example; spf=pass'] } },
      rules,
      trust,
    );
    assert.equal(result.priority, 'normal');
    assert.equal(result.untrusted, true);
    assert.deepEqual(result.tags, ['auth:dmarc-fail', 'untrusted-sender']);
  });
});
