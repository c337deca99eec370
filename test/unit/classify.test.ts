import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateClassification } from '../../bench/eval-classification-core';
import { classifyEmail, decodeEncodedWords, outOfOfficePhrase } from '../../src/domain/classify';
import type { DeliveryStatus, EmailDocument } from '../../src/domain/email';
import { ctx, EVAL_DIR } from '../helpers/classify-context';

/** A plain mail from a person; `headers` keys are lower-cased like the parser's. */
type DocOverrides = Partial<Omit<EmailDocument, 'from' | 'replyTo' | 'headers'>> & {
  from?: string | null;
  replyTo?: string[];
  headers?: Record<string, string | string[]>;
};

function doc(overrides: DocOverrides = {}): EmailDocument {
  const { from = 'alice@customer.example', replyTo = [], headers = {}, ...rest } = overrides;
  const kept: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers)) kept[name.toLowerCase()] = Array.isArray(value) ? value : [value];
  return {
    messageId: 'm1@customer.example',
    from: from === null ? null : { address: from, name: '' },
    to: [{ address: 'support@mailgate.local', name: '' }],
    cc: [],
    replyTo: replyTo.map((address) => ({ address, name: '' })),
    subject: 'Printer on floor 2 is broken',
    date: null,
    inReplyTo: [],
    references: [],
    text: 'Hello, the printer shows error E-302.',
    html: null,
    attachments: [],
    headers: kept,
    contentType: 'text/plain; charset=utf-8',
    deliveryStatus: [],
    returnedMessage: null,
    ...rest,
  };
}

const block = (b: Partial<DeliveryStatus>): DeliveryStatus => ({ action: null, status: null, finalRecipient: null, diagnosticCode: null, ...b });
const DSN_TYPE = 'multipart/report; report-type=delivery-status; boundary=x';

describe('classification: human mail', () => {
  test('a plain mail from a person is human with no evidence', () => {
    const result = classifyEmail(doc(), ctx);
    assert.deepEqual(result, { emailClass: 'human', bounce: null, evidence: [], weak: false, allowlisted: false });
  });
  test('a person with Reply-To set and no Precedence stays human', () => {
    assert.equal(classifyEmail(doc({ replyTo: ['alice.private@home.example'] }), ctx).emailClass, 'human');
  });
  test('a reply that quotes our acknowledgement in References is still the person\'s own mail', () => {
    const result = classifyEmail(doc({ inReplyTo: ['ack.1.a.b@mailgate.local'], references: ['ack.1.a.b@mailgate.local'] }), ctx);
    assert.equal(result.emailClass, 'human');
  });
});

describe('classification tier 1: own loop', () => {
  test('our loop header carrying our instance id is our own mail coming back', () => {
    const result = classifyEmail(doc({ headers: { 'x-mailgate-loop': 'mailgate-test' } }), ctx);
    assert.equal(result.emailClass, 'own_loop');
    assert.deepEqual(result.evidence, ['own:loop-header']);
  });
  test('a loop header of another instance is not ours', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-mailgate-loop': 'mailgate-prod' } }), ctx).emailClass, 'human');
  });
  test('a Message-ID we generated with one of our addresses as From is our own mail', () => {
    const result = classifyEmail(doc({ from: 'support@mailgate.local', messageId: 'ack.7.x.y@mailgate.local' }), ctx);
    assert.equal(result.emailClass, 'own_loop');
    assert.deepEqual(result.evidence, ['own:message-id']);
  });
  test('our Message-ID format from a foreign sender is not enough', () => {
    assert.equal(classifyEmail(doc({ messageId: 'ack.7.x.y@mailgate.local' }), ctx).emailClass, 'human');
  });
  test('a colleague writing from one of our addresses with their own Message-ID is human', () => {
    assert.equal(classifyEmail(doc({ from: 'anna@mailgate.local', messageId: 'abc@mailgate.local' }), ctx).emailClass, 'human');
  });
  test('own loop wins over later tiers, whose evidence is still recorded in tier order', () => {
    const result = classifyEmail(doc({ headers: { 'x-mailgate-loop': 'mailgate-test', 'auto-submitted': 'auto-replied', 'x-auto-response-suppress': 'All' } }), ctx);
    assert.equal(result.emailClass, 'own_loop');
    assert.deepEqual(result.evidence, ['own:loop-header', 'rfc3834:auto-submitted=auto-replied', 'microsoft:x-auto-response-suppress=all']);
  });
});

describe('classification tier 2: delivery status notifications', () => {
  test('a delivery-status report with Status 5.1.1 is a hard bounce naming the recipient', () => {
    const result = classifyEmail(
      doc({
        from: 'mailer-daemon@mx.example',
        contentType: DSN_TYPE,
        deliveryStatus: [block({ action: 'failed', status: '5.1.1', finalRecipient: 'gone@customer.example' })],
        headers: { 'auto-submitted': 'auto-replied' },
      }),
      ctx,
    );
    assert.equal(result.emailClass, 'bounce');
    assert.deepEqual(result.bounce, { kind: 'hard', recipients: ['gone@customer.example'], status: '5.1.1' });
    assert.deepEqual(result.evidence.slice(0, 3), ['dsn:report-type=delivery-status', 'dsn:delivery-status-part', 'rfc3834:auto-submitted=auto-replied']);
  });
  test('Action delayed with Status 4.4.1 is a soft bounce', () => {
    const result = classifyEmail(doc({ contentType: DSN_TYPE, deliveryStatus: [block({ action: 'delayed', status: '4.4.1', finalRecipient: 'a@b.example' })] }), ctx);
    assert.equal(result.bounce?.kind, 'soft');
  });
  test('a 4.x.x status decides soft even when the MTA gave up (Action failed), per RFC 3463 classes', () => {
    const result = classifyEmail(doc({ contentType: DSN_TYPE, deliveryStatus: [block({ action: 'failed', status: '4.4.7' })] }), ctx);
    assert.equal(result.bounce?.kind, 'soft');
  });
  test('Action failed without a status is hard', () => {
    const result = classifyEmail(doc({ contentType: DSN_TYPE, deliveryStatus: [block({ action: 'failed', finalRecipient: 'x@y.example' })] }), ctx);
    assert.deepEqual(result.bounce, { kind: 'hard', recipients: ['x@y.example'], status: null });
  });
  test('X-Failed-Recipients alone makes a hard bounce with those recipients', () => {
    const result = classifyEmail(doc({ from: 'mailer-daemon@mx.example', subject: 'Mail delivery failed', text: 'A message that you sent could not be delivered.', headers: { 'x-failed-recipients': 'A@x.example, b@x.example' } }), ctx);
    assert.equal(result.emailClass, 'bounce');
    assert.deepEqual(result.bounce, { kind: 'hard', recipients: ['a@x.example', 'b@x.example'], status: null });
  });
  test('a null Return-Path from the mailer daemon with bounce wording is a bounce; a status in the prose decides the kind', () => {
    const result = classifyEmail(
      doc({ from: 'MAILER-DAEMON@mx.example', subject: 'failure notice', text: '<old@x.example>:\n550 5.1.1 user unknown', headers: { 'return-path': '<>' } }),
      ctx,
    );
    assert.equal(result.emailClass, 'bounce');
    assert.deepEqual(result.bounce, { kind: 'hard', recipients: ['old@x.example'], status: '5.1.1' });
    assert.ok(result.evidence.includes('dsn:return-path=<>'));
  });
  test('without any code, delay wording makes a soft bounce', () => {
    const result = classifyEmail(
      doc({ from: 'mailer-daemon@mx.example', subject: 'Warning: message delayed 24 hours', text: 'has not yet been delivered; delivery attempts will continue', headers: { 'return-path': '<>' } }),
      ctx,
    );
    assert.equal(result.bounce?.kind, 'soft');
  });
  test('a null Return-Path on a vacation reply is not a bounce', () => {
    const result = classifyEmail(doc({ subject: 'Away until May 5', text: 'I am away.', headers: { 'return-path': '<>', 'auto-submitted': 'auto-replied' } }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
  });
  test('a postmaster notice that reports no failed delivery is automated, not a bounce', () => {
    const result = classifyEmail(doc({ from: 'postmaster@mail.example', subject: 'Mailbox quota warning: 92% used', text: 'Your mailbox uses 92% of its quota.' }), ctx);
    assert.equal(result.emailClass, 'auto_generated');
  });
  test('a report where every recipient was delivered is not a bounce', () => {
    const result = classifyEmail(doc({ contentType: DSN_TYPE, deliveryStatus: [block({ action: 'delivered', status: '2.1.5' })] }), ctx);
    assert.equal(result.emailClass, 'auto_generated');
    assert.ok(result.evidence.includes('dsn:success-only'));
  });
  test('a read receipt (MDN) is auto_generated, even with Auto-Submitted: auto-replied', () => {
    const result = classifyEmail(doc({ contentType: 'multipart/report; report-type=disposition-notification; boundary=x', headers: { 'auto-submitted': 'auto-replied' } }), ctx);
    assert.equal(result.emailClass, 'auto_generated');
    assert.equal(result.evidence[0], 'report:disposition-notification');
  });
  test('an abuse feedback report (ARF) is auto_generated, not a bounce', () => {
    assert.equal(classifyEmail(doc({ contentType: 'multipart/report; report-type=feedback-report; boundary=x' }), ctx).emailClass, 'auto_generated');
  });
  test('a person forwarding a bounce is human: the wording alone is not a bounce', () => {
    const result = classifyEmail(doc({ subject: 'Fwd: Undelivered Mail Returned to Sender', text: 'The mail could not be delivered: 550 5.1.1 user unknown' }), ctx);
    assert.equal(result.emailClass, 'human');
  });
});

describe('classification tier 3: RFC 3834 Auto-Submitted', () => {
  test('auto-replied is an auto reply, with a comment after the keyword', () => {
    const result = classifyEmail(doc({ headers: { 'auto-submitted': 'Auto-Replied (zimbra; vacation)' } }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
    assert.deepEqual(result.evidence, ['rfc3834:auto-submitted=auto-replied']);
  });
  test('auto-generated and auto-notified are auto_generated', () => {
    assert.equal(classifyEmail(doc({ headers: { 'auto-submitted': 'auto-generated' } }), ctx).emailClass, 'auto_generated');
    assert.equal(classifyEmail(doc({ headers: { 'auto-submitted': 'auto-notified' } }), ctx).emailClass, 'auto_generated');
  });
  test('Auto-Submitted: no is a person', () => {
    assert.equal(classifyEmail(doc({ headers: { 'auto-submitted': 'no' } }), ctx).emailClass, 'human');
  });
  test('auto-generated with an out-of-office subject is an auto reply (Exchange marks its OOF so)', () => {
    const result = classifyEmail(doc({ subject: 'Automatische Antwort: Rechnung', headers: { 'auto-submitted': 'auto-generated' } }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
    assert.equal(result.weak, false);
  });
});

describe('classification tier 4: Microsoft', () => {
  test('X-Auto-Response-Suppress: All is auto_generated', () => {
    const result = classifyEmail(doc({ headers: { 'x-auto-response-suppress': 'All' } }), ctx);
    assert.equal(result.emailClass, 'auto_generated');
    assert.deepEqual(result.evidence, ['microsoft:x-auto-response-suppress=all']);
  });
  test('with the inbox-rules loop stamp it is an out-of-office reply', () => {
    const result = classifyEmail(doc({ headers: { 'x-auto-response-suppress': 'All', 'x-ms-exchange-inbox-rules-loop': 'anna@corp.example' } }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
  });
  test('DR and AutoReply count; RN, NRN or OOF alone do not', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-auto-response-suppress': 'DR, RN, NRN, OOF, AutoReply' } }), ctx).emailClass, 'auto_generated');
    assert.equal(classifyEmail(doc({ headers: { 'x-auto-response-suppress': 'RN, NRN' } }), ctx).emailClass, 'human');
    assert.equal(classifyEmail(doc({ headers: { 'x-auto-response-suppress': 'OOF' } }), ctx).emailClass, 'human');
  });
});

describe('classification tier 5: lists and bulk', () => {
  test('List-Id, List-Unsubscribe and Feedback-ID each mark list or bulk mail', () => {
    for (const name of ['list-id', 'list-unsubscribe', 'feedback-id']) {
      const result = classifyEmail(doc({ headers: { [name]: '<x.example>' } }), ctx);
      assert.equal(result.emailClass, 'auto_generated', name);
      assert.deepEqual(result.evidence, [`list:${name}`]);
    }
  });
  test('Precedence bulk, list and junk are auto_generated; auto_reply is an auto reply', () => {
    for (const value of ['bulk', 'list', 'junk']) assert.equal(classifyEmail(doc({ headers: { precedence: value } }), ctx).emailClass, 'auto_generated');
    assert.equal(classifyEmail(doc({ headers: { 'x-precedence': 'auto_reply' } }), ctx).emailClass, 'auto_reply');
  });
  test('Precedence: bulk with an out-of-office subject is a vacation(1) reply', () => {
    assert.equal(classifyEmail(doc({ subject: 'away from my mail', headers: { precedence: 'bulk' } }), ctx).emailClass, 'auto_reply');
  });
  test('Precedence: normal is no signal', () => {
    assert.equal(classifyEmail(doc({ headers: { precedence: 'normal' } }), ctx).emailClass, 'human');
  });
});

describe('classification tier 6: vendor headers', () => {
  test('X-Autoreply: yes and X-Autorespond are auto replies', () => {
    assert.deepEqual(classifyEmail(doc({ headers: { 'x-autoreply': 'yes' } }), ctx).evidence, ['vendor:x-autoreply=yes']);
    assert.equal(classifyEmail(doc({ headers: { 'x-autorespond': 'Thanks' } }), ctx).emailClass, 'auto_reply');
  });
  test('X-Autoreply: no is no signal', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-autoreply': 'no' } }), ctx).emailClass, 'human');
  });
  test('X-Loop: yes is auto_generated, an X-Loop naming an address is not a vendor mark', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-loop': 'yes' } }), ctx).emailClass, 'auto_generated');
    assert.equal(classifyEmail(doc({ headers: { 'x-loop': 'lists@example.org' } }), ctx).emailClass, 'human');
  });
  test('Freshdesk and Amazon notification marks are auto_generated', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-fc-machinegenerated': 'true' } }), ctx).emailClass, 'auto_generated');
    assert.equal(classifyEmail(doc({ headers: { 'x-amazon-mail-relay-type': 'NOTIFICATION' } }), ctx).emailClass, 'auto_generated');
  });
});

describe('classification tier 7: automated senders', () => {
  test('no-reply variants in From are auto_generated with one canonical evidence string', () => {
    for (const from of ['no-reply@shop.example', 'noreply@shop.example', 'do-not-reply@bank.example', 'donotreply@bank.example', 'github-noreply@x.example', 'noreply-billing@x.example']) {
      const result = classifyEmail(doc({ from }), ctx);
      assert.equal(result.emailClass, 'auto_generated', from);
      assert.deepEqual(result.evidence, ['sender:local-part=no-reply'], from);
    }
  });
  test('root, abuse and postmaster senders are auto_generated', () => {
    for (const from of ['root@web1.example', 'abuse@isp.example', 'postmaster@mail.example']) assert.equal(classifyEmail(doc({ from }), ctx).emailClass, 'auto_generated', from);
  });
  test('a no-reply Reply-To marks the mail too', () => {
    assert.deepEqual(classifyEmail(doc({ from: 'billing@saas.example', replyTo: ['noreply@saas.example'] }), ctx).evidence, ['sender:reply-to=no-reply']);
  });
  test('local parts that merely contain "reply" are people', () => {
    assert.equal(classifyEmail(doc({ from: 'replyall@x.example' }), ctx).emailClass, 'human');
    assert.equal(classifyEmail(doc({ from: 'noreen@x.example' }), ctx).emailClass, 'human');
  });
});

describe('classification tier 8: out-of-office subject phrases (weak)', () => {
  const autoReplies = [
    'Out of Office: Invoice',
    'Automatic reply: [MG-1] Laptop',
    'Auto: Re: Update',
    '[Auto-Reply] Your message',
    'Abwesenheitsnotiz: Lieferung',
    'Automatische Antwort: Rechnung',
    'Réponse automatique : Commande',
    'Respuesta automática: Factura',
    'Risposta automatica: Preventivo',
    'Resposta automática: Pedido',
    'Automatisch antwoord: Offerte',
    'Automatiskt svar: Faktura',
    '自動応答: 請求書',
    '【自動返信】お問い合わせ',
    '自动答复: 订单问题',
    '自動回覆: 訂單',
    'Out of office',
    'Out of office - back on Monday',
  ];
  for (const subject of autoReplies) {
    test(`"${subject}" alone is a weak auto reply`, () => {
      const result = classifyEmail(doc({ subject }), ctx);
      assert.equal(result.emailClass, 'auto_reply');
      assert.equal(result.weak, true);
      assert.equal(result.evidence.length, 1);
      assert.match(result.evidence[0]!, /^weak:subject=/);
    });
  }
  const humans = [
    'Re: auto reply settings?',
    'Auto reply settings not working in Outlook',
    'Automatic replies keep arriving from your system',
    'Printer still broken after I was out of office',
    'OOO coverage plan for next week',
    'Absence - leave request for August',
    'Abwesenheit: Krankmeldung',
    'Auto insurance renewal',
    'Vacation request for August',
    'Automatic reply-to address is wrong in your form',
  ];
  for (const subject of humans) {
    test(`"${subject}" from a person stays human`, () => {
      assert.equal(classifyEmail(doc({ subject }), ctx).emailClass, 'human');
    });
  }
  test('the phrase is found in decomposed Unicode too (NFD "Réponse")', () => {
    assert.equal(outOfOfficePhrase('Re\u0301ponse automatique : X'), 'réponse automatique');
  });
});

describe('RFC 2047 encoded-words in header values', () => {
  test('B and Q words decode, adjacent words join without the space between them', () => {
    assert.equal(decodeEncodedWords('=?UTF-8?Q?R=C3=A9ponse_automatique?= =?UTF-8?B?IDog?=X'), 'Réponse automatique : X');
  });
  test('legacy charsets decode (ISO-2022-JP, ISO-8859-1)', () => {
    assert.equal(decodeEncodedWords('=?ISO-2022-JP?B?GyRCPCtGMDF+RXobKEI=?='), '自動応答');
    assert.equal(decodeEncodedWords('=?iso-8859-1?q?Fr=E5nvaro?='), 'Frånvaro');
  });
  test('an unknown charset leaves the word as it was', () => {
    assert.equal(decodeEncodedWords('=?x-unknown?B?SGk=?='), '=?x-unknown?B?SGk=?=');
  });
  test('an encoded vendor header value is read decoded', () => {
    assert.equal(classifyEmail(doc({ headers: { 'x-autoreply': '=?utf-8?Q?yes?=' } }), ctx).emailClass, 'auto_reply');
  });
});

describe('allowlist', () => {
  test('an allowlisted sender keeps its class and is flagged, by address or by @domain', () => {
    const mail = doc({ from: 'alerts@monitoring.example', headers: { 'auto-submitted': 'auto-generated' } });
    const byAddress = classifyEmail(mail, { ...ctx, allowlist: ['Alerts@Monitoring.example'] });
    assert.equal(byAddress.emailClass, 'auto_generated');
    assert.equal(byAddress.allowlisted, true);
    assert.equal(classifyEmail(mail, { ...ctx, allowlist: ['@monitoring.example'] }).allowlisted, true);
    assert.equal(classifyEmail(mail, { ...ctx, allowlist: ['@other.example'] }).allowlisted, false);
  });
});

describe('evaluation set', () => {
  test('every labelled message is classified as labelled, over at least 60 non-human and 40 human cases', async () => {
    const result = await evaluateClassification(EVAL_DIR);
    assert.deepEqual(result.wrong, []);
    const human = result.perClass.human?.support ?? 0;
    assert.ok(human >= 40, `human cases: ${human}`);
    assert.ok(result.total - human >= 60, `non-human cases: ${result.total - human}`);
    assert.ok((result.perClass.own_loop?.support ?? 0) >= 2, 'own_loop cases');
  });
});
