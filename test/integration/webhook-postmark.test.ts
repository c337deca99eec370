/**
 * Postmark inbound posts (the JSON of postmark's InboundWebhook type), with and without RawEmail,
 * authenticated by Basic credentials in the webhook URL, through the real accept path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { config, unique } from '../helpers/stack';
import { basicAuth, post } from '../helpers/webhook-posts';
import { webhookHarness, type WebhookHarness } from '../helpers/webhooks';

const PAIR = 'postmark:inbound-password-0123456789';
const json = (payload: unknown, pair = PAIR): [string, Record<string, string>] => [JSON.stringify(payload), { 'content-type': 'application/json', authorization: basicAuth(pair) }];

function parsedPayload(id: string): Record<string, unknown> {
  return {
    FromName: 'Customer',
    MessageStream: 'inbound',
    From: `${id}@customer.example`,
    FromFull: { Email: `${id}@customer.example`, Name: 'Customer', MailboxHash: '' },
    To: 'support@mailgate.local',
    ToFull: [{ Email: 'support@mailgate.local', Name: '', MailboxHash: '' }],
    Cc: '',
    CcFull: [],
    OriginalRecipient: 'support@mailgate.local',
    Subject: `Postmark ${id}`,
    MessageID: randomUUID(),
    ReplyTo: '',
    MailboxHash: '',
    Date: 'Mon, 7 Dec 2026 10:00:00 +0000',
    TextBody: 'Hello from Postmark',
    HtmlBody: '<p>Hello from Postmark</p>',
    StrippedTextReply: '',
    Tag: '',
    Headers: [
      { Name: 'X-Spam-Status', Value: 'No' },
      { Name: 'Received-SPF', Value: 'Pass (sender SPF authorized)' },
      { Name: 'MIME-Version', Value: '1.0' },
      { Name: 'Message-ID', Value: `<${id}@c.example>` },
    ],
    Attachments: [{ Name: 'hello.txt', Content: Buffer.from('attached').toString('base64'), ContentType: 'text/plain', ContentLength: 8, ContentID: '' }],
  };
}

describe('the Postmark inbound route', () => {
  let harness: WebhookHarness;
  let url: string;

  before(async () => {
    harness = await webhookHarness();
    url = `${await harness.serve({ providers: { postmark: { basicAuth: [PAIR] } } })}/v1/inbound/postmark`;
  });
  after(async () => harness?.close());

  test('a payload with RawEmail is accepted with 200 and the raw bytes kept, with Postmark\'s MessageID as the event id', async () => {
    const id = unique('pm-raw');
    const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Raw ${id}`, messageId: `<${id}@c.example>`, text: 'raw' });
    const payload: Record<string, unknown> = { ...parsedPayload(id), RawEmail: raw.toString('utf8') };
    const response = await post(url, ...json(payload));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.eventId, payload.MessageID);
    const stored = await harness.store.getBuffer(response.body.rawKey as string);
    assert.ok(stored.toString('latin1').startsWith(`X-Mailgate-Provider-Event: postmark; id=${payload.MessageID as string}\r\n`));
    assert.ok(stored.subarray(stored.length - raw.length).equals(raw));
  });

  test('without RawEmail the JSON is rebuilt into MIME; the same payload posted again is a duplicate', async () => {
    const id = unique('pm-parsed');
    const payload = parsedPayload(id);
    const first = await post(url, ...json(payload));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'accepted');
    const parsed = await simpleParser(await harness.store.getBuffer(first.body.rawKey as string));
    assert.equal(parsed.subject, `Postmark ${id}`);
    assert.equal(parsed.messageId, `<${id}@c.example>`);
    assert.equal(parsed.from?.value[0]?.address, `${id}@customer.example`);
    assert.equal(parsed.attachments[0]?.content.toString(), 'attached');
    const again = await post(url, ...json(payload));
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'duplicate');
  });

  test('wrong or missing credentials are 401 (retried by Postmark), not the 403 that stops its retries', async () => {
    const [body] = json(parsedPayload(unique('pm-auth')));
    assert.equal((await post(url, body, { 'content-type': 'application/json', authorization: basicAuth('postmark:wrong-password-0123456789') })).status, 401);
    assert.equal((await post(url, body, { 'content-type': 'application/json' })).status, 401);
  });

  test('a permanent refusal is 403, so Postmark stops retrying', async () => {
    const payload = { ...parsedPayload(unique('pm-refused')), OriginalRecipient: 'someone@not-ours.example', To: 'someone@not-ours.example' };
    const response = await post(url, ...json(payload));
    assert.equal(response.status, 403);
    assert.equal((await post(url, '{not json', { 'content-type': 'application/json', authorization: basicAuth(PAIR) })).status, 403);
  });

  test('a transient failure is 503, which Postmark retries', async () => {
    const down = await harness.serve({
      providers: { postmark: { basicAuth: [PAIR] } },
      store: createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 }),
    });
    assert.equal((await post(`${down}/v1/inbound/postmark`, ...json(parsedPayload(unique('pm-down'))))).status, 503);
  });

  test('without credentials configured the route does not exist', async () => {
    const off = await harness.serve({ providers: { postmark: { basicAuth: [] } } });
    assert.equal((await post(`${off}/v1/inbound/postmark`, ...json({}))).status, 404);
  });
});
