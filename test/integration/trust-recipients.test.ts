/**
 * Issue 12, class 5, through the real pipeline: one email is one ticket and one acknowledgement per
 * queue, however many spellings of a queue it was addressed to. Runs with config/rules.json (support
 * with alias help, billing with alias invoices, unknown local parts into support) and a second,
 * internationalised inbound domain. Tickets are counted through the admin API, acknowledgements in
 * the SMTP sink; each case has a sender of its own, so nothing another case sent is counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, getJson, postMime, type InboundResponse } from '../helpers/mail';
import { receivedMail } from '../helpers/maildev';
import { settled } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

const SUPPORT = 'support@mailgate.local';
const BILLING = 'billing@mailgate.local';

interface Sent {
  sender: string;
  posted: InboundResponse;
}

async function send(app: RunningApp, options: { to?: string; cc?: string; envelopeTo?: string[]; raw?: (sender: string, messageId: string) => Buffer }): Promise<Sent> {
  const sender = `${unique('c')}@customer.example`;
  const messageId = `<${unique('m')}@customer.example>`;
  const raw =
    options.raw?.(sender, messageId) ??
    (await compose({ from: sender, to: options.to ?? SUPPORT, ...(options.cc ? { cc: options.cc } : {}), subject: 'Where is my order?', text: 'hello', messageId }));
  const posted = await postMime(app.url, raw, options.envelopeTo ? { 'x-envelope-to': options.envelopeTo.join(', ') } : {});
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return { sender, posted };
}

/** Every workflow the answer names settles; then the sender's tickets (by queue) and acknowledgements are counted. */
async function outcome(app: RunningApp, { sender, posted }: Sent): Promise<{ workflows: number; tickets: string[]; acknowledgements: number }> {
  const ids = [...new Set(posted.body.emails!.map((e) => e.workflowId))];
  for (const id of ids) await settled(app.url, id, 90_000);
  const { body } = await getJson<{ tickets: { queue: string }[] }>(`${app.url}/v1/tickets?requester=${encodeURIComponent(sender)}&limit=100`);
  const acks = (await receivedMail()).filter((m) => m.to.some((t) => t.address.toLowerCase() === sender));
  return { workflows: ids.length, tickets: body.tickets.map((t) => t.queue).sort(), acknowledgements: acks.length };
}

describe('one email is one ticket and one acknowledgement per queue', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { INBOUND_DOMAINS: 'mailgate.local,bücher.example' } });
  });
  after(async () => {
    await app?.stop();
  });

  test('the probe: the queue address, its alias, a plus-address, upper case and an unknown local part in the envelope make one ticket and one acknowledgement', async () => {
    const sent = await send(app, { envelopeTo: [SUPPORT, 'help@mailgate.local', 'support+probe@mailgate.local', 'SUPPORT@MAILGATE.LOCAL', 'nobody-here@mailgate.local'] });
    assert.equal(sent.posted.body.emails!.length, 1, JSON.stringify(sent.posted.body));
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('the same spellings in To and Cc, without an envelope, make one ticket and one acknowledgement', async () => {
    const sent = await send(app, { to: `${SUPPORT}, Help <help@mailgate.local>`, cc: 'support+cc@mailgate.local, SUPPORT@mailgate.local, unknown@mailgate.local' });
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('quoted local parts and a trailing dot on the domain reach the same queue', async () => {
    const sent = await send(app, { envelopeTo: ['"support"@mailgate.local', '"help+x"@mailgate.local', 'support@mailgate.local.', 'SUPPORT@MAILGATE.LOCAL.'] });
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('an internationalised inbound domain in Unicode (raw UTF-8 header, RFC 6532), upper case and punycode is served, and its unknown local parts merge into the one default queue', async () => {
    const sent = await send(app, {
      raw: (sender, messageId) =>
        Buffer.from(
          [
            `From: ${sender}`,
            'To: kundendienst@bücher.example, KUNDENDIENST@BÜCHER.EXAMPLE',
            'Cc: kundendienst@xn--bcher-kva.example, info@bücher.example.',
            'Subject: Bestellung',
            `Message-ID: ${messageId}`,
            'Content-Type: text/plain; charset=utf-8',
            '',
            'Hallo',
            '',
          ].join('\r\n'),
          'utf8',
        ),
    });
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('a display name naming another queue, or our address as the name of a foreign mailbox, does not add a queue', async () => {
    const sent = await send(app, { to: `"${BILLING}" <${SUPPORT}>`, cc: `"${BILLING}" <someone@evil.example>, ${BILLING.replace('@', ' at ')} <other@evil.example>` });
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('two queues, each reached through several spellings, make a ticket and an acknowledgement each, no more', async () => {
    const sent = await send(app, { envelopeTo: [SUPPORT, 'invoices@mailgate.local', 'help@mailgate.local', 'billing+q3@mailgate.local', 'BILLING@mailgate.local'] });
    assert.deepEqual(sent.posted.body.emails!.map((e) => e.queue), [SUPPORT, BILLING]);
    assert.deepEqual(await outcome(app, sent), { workflows: 2, tickets: [BILLING, SUPPORT], acknowledgements: 2 });
  });

  test('recipients of other domains are refused beside ours and make nothing', async () => {
    const sent = await send(app, { envelopeTo: ['support@mailgate.local.evil.example', SUPPORT, 'help@other.example'] });
    const refused = sent.posted.body.refused ?? [];
    assert.deepEqual(refused.map((r) => r.address).sort(), ['help@other.example', 'support@mailgate.local.evil.example']);
    assert.deepEqual(await outcome(app, sent), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });

  test('the probe delivered three times at once, each time with its spellings in another order, and then once more with only the alias, is still one ticket and one acknowledgement', async () => {
    const sender = `${unique('c')}@customer.example`;
    const raw = await compose({ from: sender, to: SUPPORT, subject: 'Three at once', text: 'hello', messageId: `<${unique('m')}@customer.example>` });
    const spellings = [SUPPORT, 'help@mailgate.local', 'support+x@mailgate.local', 'nobody@mailgate.local'];
    const orders = [spellings, [...spellings].reverse(), [spellings[2]!, spellings[0]!, spellings[3]!, spellings[1]!]];
    const posted = await Promise.all(orders.map((order) => postMime(app.url, raw, { 'x-envelope-to': order.join(', ') })));
    for (const p of posted) assert.equal(p.status, 202, JSON.stringify(p.body));
    const ids = new Set(posted.flatMap((p) => p.body.emails!.map((e) => e.workflowId)));
    assert.equal(ids.size, 1, 'every delivery names one workflow');
    assert.equal(posted.flatMap((p) => p.body.emails!).filter((e) => e.status === 'accepted').length, 1, 'exactly one delivery started it');
    const later = await postMime(app.url, raw, { 'x-envelope-to': 'HELP@mailgate.local' });
    assert.deepEqual(later.body.emails!.map((e) => [e.workflowId, e.status]), [[[...ids][0], 'duplicate']]);
    assert.deepEqual(await outcome(app, { sender, posted: posted[0]! }), { workflows: 1, tickets: [SUPPORT], acknowledgements: 1 });
  });
});
