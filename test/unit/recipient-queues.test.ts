/**
 * Issue 12, class 5: one email is one ticket per queue. Every recipient resolves to a queue first
 * (its address, an alias, a plus-address, case, IDN and trailing-dot domains, quoted local parts,
 * unknown local parts into the default queue), and the email is one delivery per distinct queue,
 * keyed on (message, queue), never on the spelling. The policy is built as the accept path builds
 * it (acceptEmailSettings: routing by queueFor over the rules file).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { idempotencyKey } from '../../src/domain/idempotency';
import { resolveRecipients, type RecipientPolicy } from '../../src/domain/recipients';
import { addressesOf } from '../../src/ingress/mime-headers';
import { parseRules, queueFor, RulesError } from '../../src/rules';

const SUPPORT = 'support@mailgate.local';
const BILLING = 'billing@mailgate.local';

const rules = parseRules({
  queues: [
    { address: SUPPORT, aliases: ['help@mailgate.local'] },
    { address: BILLING, aliases: ['invoices@mailgate.local'] },
    { address: 'kundendienst@bücher.example'.replace('bücher', 'xn--bcher-kva') },
  ],
  unknownRecipient: 'default',
  defaultQueue: SUPPORT,
});

function policy(overrides: { unknownRecipient?: 'default' | 'refuse'; catchAll?: string; domains?: string[] } = {}): RecipientPolicy {
  const routed = overrides.unknownRecipient === 'refuse' ? { ...rules, unknownRecipient: 'refuse' as const } : rules;
  return {
    inboundDomains: overrides.domains ?? ['mailgate.local', 'bücher.example'],
    catchAll: overrides.catchAll,
    route: (address) => queueFor(routed, address),
  };
}

const envelope = (rcptTo: string[], p = policy()) => resolveRecipients({ envelopeTo: rcptTo, headerTo: [], headerCc: [] }, p);
const headers = (to: string[], cc: string[] = [], p = policy()) =>
  resolveRecipients({ envelopeTo: undefined, headerTo: addressesOf(to), headerCc: addressesOf(cc) }, p);
const queues = (out: ReturnType<typeof resolveRecipients>) => out.accepted.map((a) => a.queue);

describe('recipients resolve to queues, and one email is one delivery per queue', () => {
  test('the probe: address, alias, plus-address, upper case and an unknown local part of one queue are one queue with five spellings', () => {
    const out = envelope([SUPPORT, 'help@mailgate.local', 'support+urgent@mailgate.local', 'SUPPORT@MAILGATE.LOCAL', 'nobody-here@mailgate.local']);
    assert.deepEqual(queues(out), [SUPPORT]);
    assert.equal(out.accepted[0]!.spellings.length, 4, 'the upper-case spelling is the same normalized address as the first');
    assert.deepEqual(out.refused, []);
  });

  test('the same queue through To and Cc, without an envelope, is one queue', () => {
    assert.deepEqual(queues(headers([SUPPORT], ['Help <help@mailgate.local>', 'support+cc@mailgate.local'])), [SUPPORT]);
  });

  test('a repeated RCPT TO, also with angle brackets and spaces, is one queue', () => {
    assert.deepEqual(queues(envelope([SUPPORT, SUPPORT, ` <${SUPPORT}> `, 'Support@Mailgate.Local'])), [SUPPORT]);
  });

  test('case anywhere in the domain or local part reaches the same queue', () => {
    for (const spelling of ['SUPPORT@mailgate.local', 'support@MAILGATE.local', 'SuPpOrT@MaIlGaTe.LoCaL', 'HELP@MAILGATE.LOCAL']) {
      assert.deepEqual(queues(envelope([spelling])), [SUPPORT], spelling);
    }
  });

  test('an internationalised domain in Unicode, upper case or punycode is one inbound domain and one queue', () => {
    const out = envelope(['kundendienst@bücher.example', 'KUNDENDIENST@BÜCHER.EXAMPLE', 'kundendienst@xn--bcher-kva.example', 'kundendienst+x@bücher.example.']);
    assert.deepEqual(queues(out), ['kundendienst@xn--bcher-kva.example']);
    assert.equal(out.accepted[0]!.spellings.length, 3, 'the upper-case Unicode spelling lower-cases to the first');
    const punycodeConfigured = envelope(['kundendienst@bücher.example'], policy({ domains: ['mailgate.local', 'xn--bcher-kva.example'] }));
    assert.deepEqual(queues(punycodeConfigured), ['kundendienst@xn--bcher-kva.example']);
  });

  test('a full-width domain is the ASCII domain (UTS 46 mapping); a look-alike local part is not a queue address', () => {
    assert.deepEqual(queues(envelope(['support@ｍａｉｌｇａｔｅ.local', SUPPORT])), [SUPPORT]);
    const lookalike = envelope(['\u0455upport@mailgate.local'], policy({ unknownRecipient: 'refuse' }));
    assert.deepEqual(lookalike.accepted, [], 'Cyrillic dze is not s: an unknown local part, refused under "refuse"');
    assert.equal(lookalike.refused.length, 1);
  });

  test('a quoted local part is the unquoted one: "support"@, "help"@ and "support+x"@ reach the support queue', () => {
    const out = envelope(['"support"@mailgate.local', '"help"@mailgate.local', '"support+x"@mailgate.local']);
    assert.deepEqual(queues(out), [SUPPORT]);
    assert.deepEqual(queues(headers(['"support"@mailgate.local', '"Sup" <"help"@mailgate.local>'])), [SUPPORT]);
  });

  test('a trailing dot on the domain (the DNS root) is the same domain', () => {
    assert.deepEqual(queues(envelope(['support@mailgate.local.', 'billing@mailgate.local..', SUPPORT])), [SUPPORT, BILLING]);
  });

  test('plus-tags of every kind on a queue address or an alias reach that queue', () => {
    const out = envelope(['support+1@mailgate.local', 'support+1+2@mailgate.local', 'help+x@mailgate.local', 'support+@mailgate.local']);
    assert.deepEqual(queues(out), [SUPPORT]);
  });

  test('different queues stay different deliveries, in the order first reached, each with its own spellings', () => {
    const out = envelope([SUPPORT, 'invoices@mailgate.local', 'HELP@mailgate.local', 'billing+x@mailgate.local']);
    assert.deepEqual(queues(out), [SUPPORT, BILLING]);
    assert.deepEqual(out.accepted.map((a) => a.spellings), [
      [SUPPORT, 'help@mailgate.local'],
      ['invoices@mailgate.local', 'billing+x@mailgate.local'],
    ]);
  });

  test('unknown local parts of a served domain go to the default queue, merging with it', () => {
    assert.deepEqual(queues(envelope(['nobody@mailgate.local', 'x1@mailgate.local', 'x2+tag@MAILGATE.LOCAL', SUPPORT])), [SUPPORT]);
  });

  test('unknown local parts are refused with a reason when the rules refuse unknown recipients; known ones still resolve', () => {
    const out = envelope(['nobody@mailgate.local', 'help+x@mailgate.local'], policy({ unknownRecipient: 'refuse' }));
    assert.deepEqual(queues(out), [SUPPORT]);
    assert.deepEqual(out.refused, [{ address: 'nobody@mailgate.local', reason: 'no queue serves this address (routing rules refuse unknown recipients)' }]);
  });

  test('a display name is never read as an address: a name naming another queue or our address on a foreign mailbox does not count', () => {
    assert.deepEqual(queues(headers([`"${BILLING}" <${SUPPORT}>`])), [SUPPORT]);
    const foreign = headers([`"${SUPPORT}" <attacker@evil.example>`, `${BILLING} <someone@evil.example>`]);
    assert.deepEqual(foreign.accepted, [], 'no address of ours: nothing to deliver');
  });

  test('recipients of other domains: lookalikes and suffixes are not ours; refused in the envelope, ignored in headers', () => {
    const out = envelope(['support@mailgate.local.evil.example', 'support@evilmailgate.local', 'support@mailgate.locai']);
    assert.deepEqual(out.accepted, []);
    assert.equal(out.refused.length, 3);
    for (const r of out.refused) assert.match(r.reason, /is not an inbound domain and no catch-all is configured/);
    assert.deepEqual(queues(headers(['support@mailgate.local.evil.example', SUPPORT])), [SUPPORT]);
  });

  test('with a catch-all, other domains land in it, and when it is a queue already reached they merge into one delivery', () => {
    const out = envelope([SUPPORT, 'a@other.example', 'B@Other.example'], policy({ catchAll: 'Support@Mailgate.Local' }));
    assert.deepEqual(queues(out), [SUPPORT]);
    assert.deepEqual(out.accepted[0]!.spellings, [SUPPORT, 'a@other.example', 'b@other.example']);
  });

  test('the delivery carries the spelling with a plus-tag, which may hold a reply token, else the first spelling', () => {
    assert.equal(envelope([SUPPORT, 'support+mg42.0123456789abcdef@mailgate.local']).accepted[0]!.recipient, 'support+mg42.0123456789abcdef@mailgate.local');
    assert.equal(envelope(['help@mailgate.local', SUPPORT]).accepted[0]!.recipient, 'help@mailgate.local');
  });

  test('invalid addresses are refused once each and do not hide valid ones', () => {
    const out = envelope(['not an address', '+tag@mailgate.local', '@mailgate.local', SUPPORT]);
    assert.deepEqual(queues(out), [SUPPORT]);
    assert.deepEqual(out.refused.map((r) => r.reason), ['not a valid email address', 'not a valid email address', 'not a valid email address']);
  });

  test('the idempotency key follows the queue: every spelling of one queue gives one key, another queue another', () => {
    const keyOf = (address: string) => idempotencyKey({ messageId: '<m@customer.example>', queue: envelope([address]).accepted[0]!.queue, contentSha256: 'c' });
    const keys = new Set(['support@mailgate.local', 'HELP@mailgate.local', 'support+x@mailgate.local', '"support"@mailgate.local', 'support@mailgate.local.', 'unknown@mailgate.local'].map(keyOf));
    assert.equal(keys.size, 1);
    assert.notEqual(keyOf(BILLING), [...keys][0]);
  });

  test('mail sent to the queue address keeps the key Mailgate computed before keys moved to queues', () => {
    // The key was sha256("<Message-ID>|<recipient>") per recipient: for the queue's own address it is unchanged,
    // so a redelivery of mail accepted before this change is still a duplicate.
    const before = createHash('sha256').update(`m@x.org|${SUPPORT}`).digest('hex');
    assert.equal(idempotencyKey({ messageId: '<m@x.org>', queue: SUPPORT, contentSha256: 'c' }), before);
  });
});

describe('the rules file refuses addresses that would make routing depend on order', () => {
  test('an alias that is another queue\'s address in another spelling is refused', () => {
    assert.throws(
      () => parseRules({ queues: [{ address: SUPPORT }, { address: BILLING, aliases: ['Support+billing@mailgate.local'] }], defaultQueue: SUPPORT }),
      (error: unknown) => error instanceof RulesError && /reaches both support@mailgate\.local and billing@mailgate\.local/.test(error.message),
    );
  });
  test('a queue may list its own address again as an alias spelling', () => {
    assert.doesNotThrow(() => parseRules({ queues: [{ address: SUPPORT, aliases: ['support+x@mailgate.local'] }], defaultQueue: SUPPORT }));
  });
});
