import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateClassification, readLabels } from '../../bench/eval-classification-core';
import { classifyEmail } from '../../src/domain/classify';
import { ownText } from '../../src/domain/classify-helpdesk-acks';
import type { EmailDocument } from '../../src/domain/email';
import { ctx, EVAL_DIR } from '../helpers/classify-context';

function doc(input: { from?: string; subject: string; text?: string; inReplyTo?: string[]; headers?: Record<string, string> }): EmailDocument {
  const headers: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = [value];
  return {
    messageId: 'm1@customer.example',
    from: { address: input.from ?? 'alice@customer.example', name: '' },
    to: [{ address: 'support@mailgate.local', name: '' }],
    cc: [],
    replyTo: [],
    subject: input.subject,
    date: null,
    inReplyTo: input.inReplyTo ?? [],
    references: [],
    text: input.text ?? 'Hello, the printer shows error E-302.',
    html: null,
    attachments: [],
    headers,
    contentType: 'text/plain; charset=utf-8',
    deliveryStatus: [],
    returnedMessage: null,
  };
}

const ACK_TEXT = 'This is an automated response. We have received your request and will get back to you shortly.';

describe('other helpdesks\' acknowledgements', () => {
  test('an acknowledgement subject, acknowledgement wording and a robot sender together decide auto_reply, with the evidence', () => {
    const result = classifyEmail(doc({ from: 'support@vendor.example', subject: 'Request received: printer', text: ACK_TEXT }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
    assert.ok(result.evidence.includes('helpdesk:subject=request received'), result.evidence.join());
    assert.ok(result.evidence.includes('robot-sender:local-part=support'), result.evidence.join());
    assert.equal(result.suspectedAutomated, undefined);
  });
  test('the same words from a personal address are only suspect: human, not acknowledged', () => {
    const result = classifyEmail(doc({ from: 'maria.lopez@vendor.example', subject: 'Request received: printer', text: ACK_TEXT }), ctx);
    assert.equal(result.emailClass, 'human');
    assert.equal(result.suspectedAutomated, true);
    assert.ok(result.evidence.includes('suspect:not-acknowledged'));
  });
  test('a person\'s "Re: [Ticket#1234] my printer still jams" stays human and acknowledged, even from support@ and quoting an acknowledgement', () => {
    const text = 'It still jams.\n\nOn Mon, Vendor wrote:\n> ' + ACK_TEXT;
    const result = classifyEmail(doc({ from: 'support@customer.example', subject: 'Re: [Ticket#1234] my printer still jams', text }), ctx);
    assert.deepEqual([result.emailClass, result.suspectedAutomated, result.evidence], ['human', undefined, []]);
  });
  test('a foreign ticket tag alone is nothing; with a robot sender it is suspect; our own [MG-…] token is not foreign', () => {
    assert.equal(classifyEmail(doc({ subject: '[Ticket#1234] printer jams' }), ctx).suspectedAutomated, undefined);
    assert.equal(classifyEmail(doc({ from: 'tickets@vendor.example', subject: '[Ticket#1234] printer jams' }), ctx).suspectedAutomated, true);
    assert.equal(classifyEmail(doc({ from: 'tickets@vendor.example', subject: '[MG-12] printer jams' }), ctx).suspectedAutomated, undefined);
  });
  test('an RT "[host #123] AutoReply:" subject is the weak out-of-office evidence behind a tag', () => {
    const result = classifyEmail(doc({ subject: '[help.vendor.example #48213] AutoReply: printer' }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
    assert.equal(result.weak, true);
    assert.ok(result.evidence.includes('weak:subject=autoreply'));
  });
  test('an acknowledgement answering our own acknowledgement (the loop) is decided by its subject, words and the reply', () => {
    const result = classifyEmail(
      doc({ from: 'anna@vendor.example', subject: 'Ticket Received - [MG-12] printer', text: ACK_TEXT, inReplyTo: ['ack.12.t1.aa@mailgate.local'] }),
      ctx,
    );
    assert.equal(result.emailClass, 'auto_reply');
    assert.ok(result.evidence.includes('replies-to-our-mail'));
  });
  test('a person\'s "Re:" whose own text repeats a robot\'s words is human and acknowledged; the same words from support@ are suspect', () => {
    const text = 'Please do not reply to this email, it said. But I must: the order is wrong.';
    const person = classifyEmail(doc({ subject: 'Re: Order 5512', text }), ctx);
    assert.deepEqual([person.emailClass, person.suspectedAutomated], ['human', undefined]);
    const robot = classifyEmail(doc({ from: 'support@vendor.example', subject: 'Re: Order 5512', text }), ctx);
    assert.deepEqual([robot.emailClass, robot.suspectedAutomated], ['human', true]);
  });
  test('a person\'s plain reply to our acknowledgement is human whatever its subject says', () => {
    const result = classifyEmail(doc({ subject: 'Re: [MG-12] We received your request: printer', inReplyTo: ['ack.12.t1.aa@mailgate.local'] }), ctx);
    assert.deepEqual([result.emailClass, result.suspectedAutomated], ['human', undefined]);
  });
});

describe('challenge-response sender verification', () => {
  test('a challenge service\'s own header decides auto_reply without Auto-Submitted', () => {
    const result = classifyEmail(doc({ subject: 'Re: printer', text: 'Thanks.', headers: { 'X-Boxbe-Sender-Verification': 'pending' } }), ctx);
    assert.equal(result.emailClass, 'auto_reply');
    assert.ok(result.evidence.includes('challenge:header=x-boxbe-sender-verification'));
  });
  test('verification wording from a robot address decides; from a person it is only suspect; in a person\'s reply it is nothing', () => {
    const text = 'Please verify that you are a human: click the link below to confirm.';
    assert.equal(classifyEmail(doc({ from: 'verify@guard.example', subject: 'Your message', text }), ctx).emailClass, 'auto_reply');
    const person = classifyEmail(doc({ subject: 'Your message', text }), ctx);
    assert.deepEqual([person.emailClass, person.suspectedAutomated], ['human', true]);
    const reply = classifyEmail(doc({ subject: 'Re: login', text: `The page says "${text}"`, inReplyTo: ['ack.3.t1.bb@mailgate.local'] }), ctx);
    assert.deepEqual([reply.emailClass, reply.suspectedAutomated], ['human', undefined]);
  });
  test('a calendar invitation saying "you were added to the guest list" is human and acknowledged (seen in the corpus)', () => {
    const result = classifyEmail(doc({ subject: 'Invitation: Team sync', text: 'Invitation from Google Calendar: you were added to the guest list.' }), ctx);
    assert.deepEqual([result.emailClass, result.suspectedAutomated], ['human', undefined]);
  });
  test('a subject asking to verify an address, from a person with no challenge wording, is human', () => {
    const result = classifyEmail(doc({ subject: 'Cannot verify your email address', text: 'The link never arrives.' }), ctx);
    assert.deepEqual([result.emailClass, result.suspectedAutomated], ['human', undefined]);
  });
});

describe('a body\'s own text', () => {
  test('quoted and forwarded parts are cut off before the words are read', () => {
    assert.equal(ownText('Mine.\n> quoted'), 'Mine.\n');
    assert.equal(ownText('Mine.\n\nOn Mon, 3 Jun 2024, Ann wrote:\nhers'), 'Mine.\n\n');
    assert.equal(ownText('Mine.\n---------- Forwarded message ---------\nhers'), 'Mine.\n');
    assert.equal(ownText('Mine.\nFrom: Ann\nSent: Monday\nhers'), 'Mine.\n');
  });
});

describe('evaluation set, class 6', () => {
  test('challenges, helpdesk acknowledgements, suspects and the customers who must stay human are all classified as labelled', async () => {
    const labels = await readLabels(EVAL_DIR);
    const cases = labels.filter((c) => /\/(?:challenge|helpdesk_ack|human_withheld)\//.test(c.path) || c.note.startsWith('synthetic adversarial'));
    const result = await evaluateClassification(EVAL_DIR);
    const wrong = new Set(result.wrong.map((w) => w.path));
    const right = cases.filter((c) => !wrong.has(c.path)).length;
    console.log(`# fidelity class 6 (classification gaps): ${right}/${cases.length}`);
    assert.ok(cases.filter((c) => c.note.startsWith('synthetic adversarial')).length >= 8, 'adversarial human cases');
    assert.ok(cases.filter((c) => c.withheld).length >= 3, 'suspect cases');
    assert.equal(right, cases.length, [...wrong].join(', '));
  });
});
