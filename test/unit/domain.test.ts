import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { idempotencyKey } from '../../src/domain/idempotency';
import { normalizeMessageId, parseMessageIdList } from '../../src/domain/message-id';
import { resolveRecipients } from '../../src/domain/recipients';
import { threadCandidates } from '../../src/domain/threading';
import { parseTicketToken, ticketToken } from '../../src/domain/ticket-token';
import { inboundEmailWorkflowId } from '../../src/workflows/ids';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('idempotency key', () => {
  test('is sha256 of the normalized Message-ID, a bar and the normalized queue', () => {
    assert.equal(
      idempotencyKey({ messageId: ' <Abc.123@Example.COM> ', queue: 'Support@Mailgate.Local', contentSha256: 'x' }),
      sha('Abc.123@example.com|support@mailgate.local'),
    );
  });
  test('keeps the case of the local part of a Message-ID, which RFC 5322 leaves case-sensitive', () => {
    const a = idempotencyKey({ messageId: '<ABC@example.com>', queue: 'a@mailgate.local', contentSha256: 'x' });
    const b = idempotencyKey({ messageId: '<abc@example.com>', queue: 'a@mailgate.local', contentSha256: 'x' });
    assert.notEqual(a, b);
  });
  test('differs per queue, so one email to two queues is two workflows', () => {
    const a = idempotencyKey({ messageId: '<m@x.org>', queue: 'support@mailgate.local', contentSha256: 'x' });
    const b = idempotencyKey({ messageId: '<m@x.org>', queue: 'billing@mailgate.local', contentSha256: 'x' });
    assert.notEqual(a, b);
  });
  test('without a Message-ID, the content hash stands in', () => {
    const a = idempotencyKey({ messageId: undefined, queue: 'a@mailgate.local', contentSha256: 'r1' });
    assert.equal(a, sha('content:r1|a@mailgate.local'));
    assert.notEqual(a, idempotencyKey({ messageId: '', queue: 'a@mailgate.local', contentSha256: 'r2' }));
  });
  test('names the workflow inbound-email/<key>', () => {
    assert.equal(inboundEmailWorkflowId('ab'.repeat(32)), `inbound-email/${'ab'.repeat(32)}`);
  });
});

describe('Message-ID parsing', () => {
  test('normalizes brackets, space and domain case, and refuses ids with spaces or no content', () => {
    assert.equal(normalizeMessageId('  <Part.1@MAIL.Example.org>'), 'Part.1@mail.example.org');
    assert.equal(normalizeMessageId('<>'), null);
    assert.equal(normalizeMessageId('<a b@c>'), null);
    assert.equal(normalizeMessageId(undefined), null);
  });
  test('reads every id of a References header in order, without duplicates', () => {
    assert.deepEqual(parseMessageIdList('<a@x.org> <b@x.org>\r\n <a@x.org> <c@X.org>'), ['a@x.org', 'b@x.org', 'c@x.org']);
    assert.deepEqual(parseMessageIdList('bare@x.org'), ['bare@x.org']);
    assert.deepEqual(parseMessageIdList(''), []);
  });
});

describe('thread lookup order', () => {
  test('tries In-Reply-To first, then References newest-first', () => {
    assert.deepEqual(
      threadCandidates({ inReplyTo: ['p@x'], references: ['r1@x', 'r2@x', 'p@x', 'r3@x'], ownMessageId: 'me@x', max: 20 }),
      ['p@x', 'r3@x', 'r2@x', 'r1@x'],
    );
  });
  test('never includes the email itself and stops at the cap', () => {
    const references = Array.from({ length: 50 }, (_, i) => `r${i}@x`);
    const out = threadCandidates({ inReplyTo: ['me@x'], references, ownMessageId: 'me@x', max: 20 });
    assert.equal(out.length, 20);
    assert.equal(out[0], 'r49@x');
    assert.ok(!out.includes('me@x'));
  });
});

describe('recipient resolution', () => {
  const policy = { inboundDomains: ['mailgate.local'], catchAll: undefined };
  test('the envelope wins over the headers', () => {
    const out = resolveRecipients({ envelopeTo: ['Billing@Mailgate.local'], headerTo: ['support@mailgate.local'], headerCc: [] }, policy);
    assert.deepEqual(out.accepted, [{ recipient: 'billing@mailgate.local', queue: 'billing@mailgate.local', spellings: ['billing@mailgate.local'] }]);
  });
  test('without an envelope, To and Cc addresses of inbound domains count and others are ignored', () => {
    const out = resolveRecipients({ envelopeTo: undefined, headerTo: ['friend@other.org', 'support@mailgate.local'], headerCc: ['it@MAILGATE.local'] }, policy);
    assert.deepEqual(out.accepted.map((a) => a.recipient), ['support@mailgate.local', 'it@mailgate.local']);
    assert.deepEqual(out.refused, []);
  });
  test('an envelope recipient outside the inbound domains is refused, or taken by the catch-all when one is set', () => {
    const refused = resolveRecipients({ envelopeTo: ['x@other.org'], headerTo: [], headerCc: [] }, policy);
    assert.deepEqual(refused.accepted, []);
    assert.match(refused.refused[0]?.reason ?? '', /not an inbound domain/);
    const caught = resolveRecipients({ envelopeTo: ['x@other.org'], headerTo: [], headerCc: [] }, { ...policy, catchAll: 'support@mailgate.local' });
    assert.deepEqual(caught.accepted, [{ recipient: 'x@other.org', queue: 'support@mailgate.local', spellings: ['x@other.org'] }]);
  });
  test('duplicates and invalid addresses are handled once', () => {
    const out = resolveRecipients({ envelopeTo: ['a@mailgate.local', 'A@mailgate.local', 'not an address'], headerTo: [], headerCc: [] }, policy);
    assert.equal(out.accepted.length, 1);
    assert.equal(out.refused.length, 1);
  });
});

describe('ticket token', () => {
  test('round-trips through a subject line', () => {
    assert.equal(ticketToken(42), '[MG-42]');
    assert.equal(parseTicketToken('Re: [mg-42] printer'), 42);
    assert.equal(parseTicketToken('Re: printer 42'), null);
  });
});
