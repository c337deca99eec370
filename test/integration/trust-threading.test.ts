/**
 * Issue 12, class 6, through the real pipeline: threading by anything but a signed token checks who
 * is writing. A customer writes with a colleague in Cc; then strangers who learnt the Message-ID
 * (from In-Reply-To, References, a forwarded acknowledgement, a spoofed display name or a From that
 * failed DMARC) reply, next to the legitimate repliers (the customer spelled differently, the Cc'd
 * colleague, an agent). A stranger gets a new ticket linked to the old one, noted on both
 * (STRANGER_REPLY=new-ticket), or an internal note (internal-note), and never reopens a ticket.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type Mail from 'nodemailer/lib/mailer';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch, compose, postMime } from '../helpers/mail';
import { mailMatching } from '../helpers/maildev';
import { settled, ticket, type EmailView, type TicketView } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';

const RULES = path.join(ROOT, 'test/fixtures/rules/trust-threading.json');
const TRUSTED = 'mx.mailgate.local';

async function send(app: RunningApp, mail: Mail.Options): Promise<EmailView> {
  const posted = await postMime(app.url, await compose({ to: 'support@mailgate.local', text: 'hello', messageId: `<${unique('m')}@sender.example>`, ...mail }));
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

interface Conversation {
  customer: string;
  colleague: string;
  original: string;
  ticketId: string;
  ticketNumber: number;
  ackMessageId: string;
}

/** A customer opens a ticket with a colleague in Cc, and is acknowledged. */
async function conversation(app: RunningApp): Promise<Conversation> {
  const d = `${unique('cust')}.example`;
  const customer = `ann@${d}`;
  const colleague = `bob@${d}`;
  const original = `${unique('orig')}@${d}`;
  const first = await send(app, { from: { name: 'Ann Customer', address: customer }, cc: colleague, subject: 'Invoice question', messageId: `<${original}>` });
  assert.equal(first.state?.outcome, 'ticket_created');
  assert.equal(first.state?.acknowledgement?.sent, true);
  return { customer, colleague, original, ticketId: first.state!.ticketId!, ticketNumber: first.state!.ticketNumber!, ackMessageId: first.state!.acknowledgement!.messageId };
}

async function setStatus(app: RunningApp, ticketId: string, status: 'open' | 'closed'): Promise<void> {
  const response = await apiFetch(`${app.url}/v1/tickets/${ticketId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status }) });
  assert.equal(response.status, 200);
}

function publicAuthors(t: TicketView): string[] {
  return t.comments.filter((c) => !c.internal).map((c) => c.author.toLowerCase());
}

/** The stranger's message opened a new ticket linked to the old one; the old one got only an internal note naming it. */
async function assertLinkedNotAdded(app: RunningApp, view: EmailView, c: Conversation, stranger: string, status: 'open' | 'closed'): Promise<void> {
  assert.equal(view.state?.outcome, 'ticket_created', JSON.stringify(view.state?.reasons));
  assert.notEqual(view.state?.ticketId, c.ticketId);
  assert.equal(view.state?.linkedTicketId, c.ticketId);
  assert.equal(view.state?.reopened, false);
  assert.ok(view.state?.evidence.some((e) => e.startsWith('sender-check:') || e.startsWith('subject-token')), JSON.stringify(view.state?.evidence));
  const linked = (await ticket(app.url, view.state!.ticketId!)) as TicketView & { linkedTicketId: string | null };
  assert.equal(linked.linkedTicketId, c.ticketId, 'the new ticket names the old one');
  const old = await ticket(app.url, c.ticketId);
  assert.equal(old.status, status, 'the old ticket keeps its status');
  assert.ok(!publicAuthors(old).some((a) => a.includes(stranger.toLowerCase())), `no public comment by ${stranger} on the old ticket`);
  const note = old.comments.find((comment) => comment.internal && comment.text.includes(view.state!.ticketId!));
  assert.ok(note, 'the old ticket has an internal note naming the new ticket');
  assert.match(note.text, new RegExp(`MG-${view.state!.ticketNumber}`));
}

describe('threading checks who is writing (STRANGER_REPLY=new-ticket)', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: RULES, AGENT_ADDRESSES: '@agents.example', TRUSTED_AUTHSERV_IDS: TRUSTED } });
  });
  after(async () => {
    await app?.stop();
  });

  test('a stranger with the customer\'s Message-ID in In-Reply-To opens a new ticket linked to the customer\'s, not a comment on it', async () => {
    const c = await conversation(app);
    const stranger = `${unique('mallory')}@evil.example`;
    const view = await send(app, { from: stranger, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>`, references: [`<${c.original}>`] });
    assert.equal(view.state?.threadRule, 'message-id');
    await assertLinkedNotAdded(app, view, c, stranger, 'open');
  });

  test('a stranger with the Message-ID only deep in References (In-Reply-To unknown) opens a linked ticket', async () => {
    const c = await conversation(app);
    const stranger = `${unique('list')}@archive.example`;
    const view = await send(app, {
      from: stranger,
      subject: 'Re: Invoice question',
      inReplyTo: `<${unique('unknown')}@archive.example>`,
      references: [`<${c.original}>`, `<${unique('x')}@archive.example>`, `<${unique('y')}@archive.example>`],
    });
    assert.equal(view.state?.threadRule, 'message-id');
    await assertLinkedNotAdded(app, view, c, stranger, 'open');
  });

  test('a stranger replying to a forwarded copy of the acknowledgement (signed body marker quoted, no known Message-ID) opens a linked ticket', async () => {
    const c = await conversation(app);
    const [ack] = await mailMatching('the acknowledgement', (m) => m.to.some((t) => t.address === c.customer));
    const marker = /\[ref:MG-\d+:[0-9a-f]{16}\]/.exec(ack!.text ?? '')?.[0];
    assert.ok(marker, 'the acknowledgement carries the body marker');
    const stranger = `${unique('fwd')}@elsewhere.example`;
    const view = await send(app, {
      from: stranger,
      subject: 'Re: Fwd: your ticket',
      inReplyTo: `<${unique('fwd')}@${c.customer.split('@')[1]}>`,
      text: `Can I join in?\n\n---------- Forwarded message ---------\n${ack!.text ?? ''}\n${marker}`,
    });
    assert.equal(view.state?.threadRule, 'body-marker');
    await assertLinkedNotAdded(app, view, c, stranger, 'open');
  });

  test('a forwarded copy of the customer\'s own message, answered by the forward\'s recipient, opens a linked ticket', async () => {
    const c = await conversation(app);
    const stranger = `${unique('fwdee')}@partner.example`;
    const forward = `${unique('fwdmsg')}@${c.customer.split('@')[1]}`;
    // Thunderbird keeps the original in References when forwarding inline.
    const view = await send(app, { from: stranger, subject: 'Re: Fwd: Invoice question', inReplyTo: `<${forward}>`, references: [`<${c.original}>`, `<${forward}>`] });
    await assertLinkedNotAdded(app, view, c, stranger, 'open');
  });

  test('a display name that is the customer\'s name or address proves nothing: the From address counts', async () => {
    const c = await conversation(app);
    for (const name of ['Ann Customer', c.customer]) {
      const stranger = `${unique('spoof')}@evil.example`;
      const view = await send(app, { from: { name, address: stranger }, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
      await assertLinkedNotAdded(app, view, c, stranger, 'open');
    }
  });

  test('the customer\'s own address in From that failed a trusted DMARC check is treated as a stranger\'s', async () => {
    const c = await conversation(app);
    const view = await send(app, {
      from: c.customer,
      subject: 'Re: Invoice question',
      inReplyTo: `<${c.original}>`,
      headers: { 'Authentication-Results': `${TRUSTED}; dmarc=fail header.from=${c.customer.split('@')[1]}` },
    });
    assert.ok(view.state?.evidence.some((e) => e.includes('failed authentication')), JSON.stringify(view.state?.evidence));
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.equal(view.state?.linkedTicketId, c.ticketId);
  });

  test('a Reply-To or Sender naming the customer does not make a stranger\'s From the customer\'s', async () => {
    const c = await conversation(app);
    const stranger = `${unique('replyto')}@evil.example`;
    const view = await send(app, { from: stranger, replyTo: c.customer, sender: c.customer, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    await assertLinkedNotAdded(app, view, c, stranger, 'open');
  });

  test('whoever a stranger Cc\'s takes no part in the old ticket: the Cc\'d accomplice replying is a stranger too', async () => {
    const c = await conversation(app);
    const stranger = `${unique('lead')}@evil.example`;
    const accomplice = `${unique('acc')}@evil.example`;
    const first = await send(app, { from: stranger, cc: [accomplice, c.customer], subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    await assertLinkedNotAdded(app, first, c, stranger, 'open');
    const second = await send(app, { from: accomplice, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    await assertLinkedNotAdded(app, second, c, accomplice, 'open');
  });

  test('the customer spelled differently (upper case, plus-tag) is still the customer: a public comment', async () => {
    const c = await conversation(app);
    const [local, domain] = c.customer.split('@') as [string, string];
    for (const spelling of [c.customer.toUpperCase(), `${local}+billing@${domain}`, `${local.toUpperCase()}+x@${domain}`]) {
      const view = await send(app, { from: spelling, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
      assert.equal(view.state?.outcome, 'comment_added', spelling);
      assert.equal(view.state?.ticketId, c.ticketId, spelling);
    }
    const t = await ticket(app.url, c.ticketId);
    assert.equal(t.comments.filter((x) => !x.internal).length, 4, 'the first message and three public replies');
  });

  test('the colleague Cc\'d on the first message replies: a public comment on the ticket', async () => {
    const c = await conversation(app);
    const view = await send(app, { from: c.colleague, cc: c.customer, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    assert.equal(view.state?.outcome, 'comment_added');
    assert.equal(view.state?.ticketId, c.ticketId);
    assert.ok(publicAuthors(await ticket(app.url, c.ticketId)).includes(c.colleague));
  });

  test('a party Cc\'d on a later reply (not on the first message) may answer too', async () => {
    const c = await conversation(app);
    const carol = `carol@${c.customer.split('@')[1]}`;
    const reply = `${unique('reply')}@${c.customer.split('@')[1]}`;
    const first = await send(app, { from: c.customer, cc: carol, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>`, messageId: `<${reply}>` });
    assert.equal(first.state?.outcome, 'comment_added');
    const view = await send(app, { from: carol, subject: 'Re: Invoice question', inReplyTo: `<${reply}>` });
    assert.equal(view.state?.outcome, 'comment_added');
    assert.equal(view.state?.ticketId, c.ticketId);
  });

  test('an agent (AGENT_ADDRESSES) replying to the customer\'s message adds a public comment', async () => {
    const c = await conversation(app);
    const view = await send(app, { from: 'Dana Agent <dana@Agents.example>', subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    assert.equal(view.state?.outcome, 'comment_added');
    assert.equal(view.state?.ticketId, c.ticketId);
  });

  test('a stranger replying to a closed ticket never reopens it, by a stored Message-ID or by our signed acknowledgement Message-ID', async () => {
    const c = await conversation(app);
    await setStatus(app, c.ticketId, 'closed');
    const stranger = `${unique('late')}@evil.example`;
    const byStored = await send(app, { from: stranger, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    await assertLinkedNotAdded(app, byStored, c, stranger, 'closed');
    const bySigned = await send(app, { from: stranger, subject: 'Re: [MG-1] Invoice question', inReplyTo: `<${c.ackMessageId}>` });
    assert.equal(bySigned.state?.threadRule, 'own-message-id');
    await assertLinkedNotAdded(app, bySigned, c, stranger, 'closed');
  });

  test('control: the customer replying to the closed ticket reopens it (the policy of the queue)', async () => {
    const c = await conversation(app);
    await setStatus(app, c.ticketId, 'closed');
    const view = await send(app, { from: c.customer, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    assert.equal(view.state?.outcome, 'comment_added');
    assert.equal(view.state?.reopened, true);
    assert.equal((await ticket(app.url, c.ticketId)).status, 'open');
  });

  test('a stranger quoting the subject token only is ignored: a new ticket of its own, not linked, nothing on the old ticket', async () => {
    const c = await conversation(app);
    const stranger = `${unique('token')}@evil.example`;
    const view = await send(app, { from: stranger, subject: `Re: [MG-${c.ticketNumber}] Invoice question` });
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.notEqual(view.state?.ticketId, c.ticketId);
    assert.equal(view.state?.linkedTicketId, null);
    assert.ok(!publicAuthors(await ticket(app.url, c.ticketId)).includes(stranger));
  });

  test('a stranger\'s earlier message does not make the stranger a participant: a second reply is a stranger\'s again', async () => {
    const c = await conversation(app);
    const stranger = `${unique('again')}@evil.example`;
    await assertLinkedNotAdded(app, await send(app, { from: stranger, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` }), c, stranger, 'open');
    await assertLinkedNotAdded(app, await send(app, { from: stranger, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` }), c, stranger, 'open');
  });
});

describe('threading checks who is writing (STRANGER_REPLY=internal-note)', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: RULES, STRANGER_REPLY: 'internal-note' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('a stranger\'s reply becomes a labelled internal note on the ticket, never a public comment, and reopens nothing', async () => {
    const c = await conversation(app);
    await setStatus(app, c.ticketId, 'closed');
    const stranger = `${unique('note')}@evil.example`;
    for (let i = 0; i < 2; i += 1) {
      const view = await send(app, { from: stranger, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>`, text: `reply ${i}` });
      assert.equal(view.state?.outcome, 'note_added');
      assert.equal(view.state?.ticketId, c.ticketId);
      assert.equal(view.state?.reopened, false);
      assert.equal(view.state?.acknowledgement ?? null, null, 'nothing is sent to the stranger');
    }
    const t = await ticket(app.url, c.ticketId);
    assert.equal(t.status, 'closed');
    assert.ok(!publicAuthors(t).includes(stranger), 'no public comment, also the second time (a note makes no participant)');
    const notes = t.comments.filter((x) => x.internal && x.author === stranger);
    assert.equal(notes.length, 2);
    assert.match(notes[0]!.text, /^\[not a participant: .*, matched by message-id\]/);
  });

  test('the customer still comments publicly under the internal-note policy', async () => {
    const c = await conversation(app);
    const view = await send(app, { from: c.customer, subject: 'Re: Invoice question', inReplyTo: `<${c.original}>` });
    assert.equal(view.state?.outcome, 'comment_added');
  });
});
