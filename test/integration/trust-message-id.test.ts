/**
 * Issue 12, class 11, through the real pipeline: same Message-ID, different message. A delivery is a
 * duplicate only when its content (below the trace fields an MTA prepends) matches the first;
 * otherwise it runs under a key that includes its content hash, becomes its own ticket or comment,
 * and the clash is noted on both emails (GET /v1/emails/:id `messageIdClashes`). Tickets are counted
 * through the admin API, acknowledgements in the SMTP sink.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { getJson, postMime, type InboundResponse } from '../helpers/mail';
import { receivedMail } from '../helpers/maildev';
import { settled, ticket, type EmailView } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

const SUPPORT = 'support@mailgate.local';

interface Mail {
  from: string;
  messageId: string | null;
  subject: string;
  body: string;
  inReplyTo?: string;
}

function raw(mail: Mail, trace: string[] = [], eol = '\r\n'): Buffer {
  const lines = [
    ...trace,
    `From: ${mail.from}`,
    `To: ${SUPPORT}`,
    `Subject: ${mail.subject}`,
    'Date: Fri, 04 Dec 2026 18:00:00 +0000',
    ...(mail.messageId ? [`Message-ID: <${mail.messageId}>`] : []),
    ...(mail.inReplyTo ? [`In-Reply-To: <${mail.inReplyTo}>`, `References: <${mail.inReplyTo}>`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    mail.body,
    '',
  ];
  return Buffer.from(lines.join(eol), 'utf8');
}

const RECEIVED = 'Received: from mx2.mailgate.local by mx1.mailgate.local with ESMTP id 4Xz; Fri, 04 Dec 2026 18:00:09 +0000';

async function post(app: RunningApp, bytes: Buffer): Promise<NonNullable<InboundResponse['body']['emails']>[number]> {
  const posted = await postMime(app.url, bytes);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  assert.equal(posted.body.emails!.length, 1);
  return posted.body.emails![0]!;
}

interface Clashes {
  messageIdClashes: { otherWorkflowId: string; messageId: string }[];
}

async function clashesOf(app: RunningApp, workflowId: string): Promise<string[]> {
  const { status, body } = await getJson<Clashes>(`${app.url}/v1/emails/${workflowId}`);
  assert.equal(status, 200);
  return body.messageIdClashes.map((c) => c.otherWorkflowId).sort();
}

async function ticketsOf(app: RunningApp, requester: string): Promise<number> {
  const { body } = await getJson<{ tickets: unknown[] }>(`${app.url}/v1/tickets?requester=${encodeURIComponent(requester)}&limit=100`);
  return body.tickets.length;
}

async function acknowledgementsTo(address: string): Promise<number> {
  return (await receivedMail()).filter((m) => m.to.some((t) => t.address.toLowerCase() === address)).length;
}

const customer = (): string => `${unique('ann')}@customer.example`;
const forger = (): string => `${unique('mallory')}@evil.example`;

describe('same Message-ID, different message', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('the probe: a forged mail sent first under the genuine Message-ID does not swallow the genuine one; each is a ticket, each names the other', async () => {
    const id = `${unique('genuine')}@customer.example`;
    const ann = customer();
    const mallory = forger();
    const forged = await post(app, raw({ from: mallory, messageId: id, subject: 'Invoice', body: 'Pay to the new account.' }));
    const genuine = await post(app, raw({ from: ann, messageId: id, subject: 'Printer on fire', body: 'It really is.' }));
    assert.equal(forged.status, 'accepted');
    assert.equal(genuine.status, 'accepted');
    assert.notEqual(genuine.workflowId, forged.workflowId);
    assert.equal(genuine.messageIdClashWith, forged.workflowId);
    const [f, g] = [await settled(app.url, forged.workflowId, 90_000), await settled(app.url, genuine.workflowId, 90_000)];
    assert.equal(g.state?.outcome, 'ticket_created');
    assert.notEqual(g.state?.ticketId, f.state?.ticketId);
    assert.equal(await ticketsOf(app, ann), 1);
    assert.equal(await acknowledgementsTo(ann), 1);
    assert.deepEqual(await clashesOf(app, forged.workflowId), [genuine.workflowId]);
    assert.deepEqual(await clashesOf(app, genuine.workflowId), [forged.workflowId]);
  });

  test('a true redelivery with an extra Received header (and Return-Path, Delivered-To) is a duplicate: one workflow, one ticket, one acknowledgement, no clash', async () => {
    const ann = customer();
    const mail = { from: ann, messageId: `${unique('m')}@customer.example`, subject: 'Hello', body: 'Once only.' };
    const first = await post(app, raw(mail));
    const again = await post(app, raw(mail, [RECEIVED, 'Return-Path: <ann@customer.example>', 'Delivered-To: support@mailgate.local']));
    assert.deepEqual([again.workflowId, again.status, again.messageIdClashWith], [first.workflowId, 'duplicate', undefined]);
    await settled(app.url, first.workflowId, 90_000);
    assert.equal(await ticketsOf(app, ann), 1);
    assert.equal(await acknowledgementsTo(ann), 1);
    assert.deepEqual(await clashesOf(app, first.workflowId), []);
  });

  test('a redelivery through an MTA pipe (LF line endings) with our filters\' headers prepended is a duplicate', async () => {
    const ann = customer();
    const mail = { from: ann, messageId: `${unique('m')}@customer.example`, subject: 'Piped', body: 'Line one.\nLine two.' };
    const first = await post(app, raw(mail));
    const again = await post(app, raw(mail, ['X-Spam-Status: No, score=0.3', 'Authentication-Results: mx.mailgate.local; spf=pass', RECEIVED], '\n'));
    assert.deepEqual([again.workflowId, again.status], [first.workflowId, 'duplicate']);
    await settled(app.url, first.workflowId, 90_000);
    assert.equal(await ticketsOf(app, ann), 1);
  });

  test('a mailer that reuses one Message-ID for different mails from the same sender: each mail is a ticket of its own', async () => {
    const ann = customer();
    const reused = `${unique('reused')}@customer.example`;
    const answers = [];
    for (const [i, body] of ['First report.', 'Second report.', 'Third report.'].entries()) {
      answers.push(await post(app, raw({ from: ann, messageId: reused, subject: `Report ${i}`, body })));
    }
    assert.deepEqual(answers.map((a) => a.status), ['accepted', 'accepted', 'accepted']);
    assert.equal(new Set(answers.map((a) => a.workflowId)).size, 3);
    for (const a of answers) await settled(app.url, a.workflowId, 90_000);
    assert.equal(await ticketsOf(app, ann), 3);
    assert.deepEqual(await clashesOf(app, answers[0]!.workflowId), [answers[1]!.workflowId, answers[2]!.workflowId].sort());
    assert.deepEqual(await clashesOf(app, answers[2]!.workflowId), [answers[0]!.workflowId]);
  });

  test('after a clash, redeliveries of either message (with trace headers) are duplicates of their own workflow', async () => {
    const id = `${unique('both')}@customer.example`;
    const ann = customer();
    const forgedMail = { from: forger(), messageId: id, subject: 'x', body: 'forged' };
    const genuineMail = { from: ann, messageId: id, subject: 'y', body: 'genuine' };
    const forged = await post(app, raw(forgedMail));
    const genuine = await post(app, raw(genuineMail));
    const genuineAgain = await post(app, raw(genuineMail, [RECEIVED]));
    const forgedAgain = await post(app, raw(forgedMail, [RECEIVED]));
    assert.deepEqual([genuineAgain.workflowId, genuineAgain.status], [genuine.workflowId, 'duplicate']);
    assert.deepEqual([forgedAgain.workflowId, forgedAgain.status], [forged.workflowId, 'duplicate']);
    await settled(app.url, genuine.workflowId, 90_000);
    assert.equal(await ticketsOf(app, ann), 1);
    assert.equal(await acknowledgementsTo(ann), 1);
  });

  test('the genuine message delivered three times at once after a forged one: one workflow of its own, one ticket, one acknowledgement', async () => {
    const id = `${unique('race')}@customer.example`;
    const ann = customer();
    const forged = await post(app, raw({ from: forger(), messageId: id, subject: 'x', body: 'forged' }));
    const genuine = raw({ from: ann, messageId: id, subject: 'y', body: 'genuine' });
    const answers = await Promise.all([post(app, genuine), post(app, genuine), post(app, genuine)]);
    assert.equal(new Set(answers.map((a) => a.workflowId)).size, 1);
    assert.notEqual(answers[0]!.workflowId, forged.workflowId);
    assert.equal(answers.filter((a) => a.status === 'accepted').length, 1);
    await settled(app.url, answers[0]!.workflowId, 90_000);
    assert.equal(await ticketsOf(app, ann), 1);
    assert.equal(await acknowledgementsTo(ann), 1);
    assert.deepEqual(await clashesOf(app, forged.workflowId), [answers[0]!.workflowId]);
  });

  // The forger is not a participant (class 6): their reply opens a linked ticket and leaves only a
  // note here; the genuine reply under the same Message-ID still becomes the customer's comment.
  test('a reply under a forged reply\'s Message-ID still becomes a comment on the ticket; the forged one, from a stranger, does not', async () => {
    const ann = customer();
    const opening = { from: ann, messageId: `${unique('open')}@customer.example`, subject: 'Printer', body: 'It is broken.' };
    const opened = await post(app, raw(opening));
    const view = await settled(app.url, opened.workflowId, 90_000);
    const replyId = `${unique('reply')}@customer.example`;
    const forged = await post(app, raw({ from: forger(), messageId: replyId, subject: 'Re: Printer', body: 'Never mind, close it.', inReplyTo: opening.messageId }));
    await settled(app.url, forged.workflowId, 90_000);
    const genuine = await post(app, raw({ from: ann, messageId: replyId, subject: 'Re: Printer', body: 'Still broken, please hurry.', inReplyTo: opening.messageId }));
    assert.equal(genuine.status, 'accepted');
    const reply: EmailView = await settled(app.url, genuine.workflowId, 90_000);
    assert.equal(reply.state?.outcome, 'comment_added');
    assert.equal(reply.state?.ticketId, view.state?.ticketId);
    const texts = (await ticket(app.url, view.state!.ticketId!)).comments.map((c) => c.text.trim());
    assert.ok(!texts.some((t) => t.includes('Never mind, close it.')), JSON.stringify(texts));
    assert.ok(texts.some((t) => t.includes('Still broken, please hurry.')), JSON.stringify(texts));
  });

  test('without a Message-ID: a redelivery with a Received header is a duplicate, a different message is a ticket of its own', async () => {
    const ann = customer();
    const mail = { from: ann, messageId: null, subject: 'No id', body: 'First.' };
    const first = await post(app, raw(mail));
    const again = await post(app, raw(mail, [RECEIVED]));
    const other = await post(app, raw({ ...mail, body: 'Second.' }));
    assert.deepEqual([again.workflowId, again.status], [first.workflowId, 'duplicate']);
    assert.equal(other.status, 'accepted');
    assert.notEqual(other.workflowId, first.workflowId);
    assert.equal(other.messageIdClashWith, undefined, 'no Message-ID, no clash');
    for (const id of [first.workflowId, other.workflowId]) await settled(app.url, id, 90_000);
    assert.equal(await ticketsOf(app, ann), 2);
  });
});
