/**
 * Mailgun route posts, built as Mailgun documents them (receive-http; securing-webhooks) and signed
 * with a test signing key, through the real accept path against the test stack.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { config, unique } from '../helpers/stack';
import { post, postForm, type FormFileInput, type Posted } from '../helpers/webhook-posts';
import { webhookHarness, type WebhookHarness } from '../helpers/webhooks';

const KEY = 'key-mailgun-test-signing-0123456789';

function signed(key = KEY, timestamp = Math.floor(Date.now() / 1000), token = randomBytes(25).toString('hex')): Record<string, string> {
  return { timestamp: String(timestamp), token, signature: createHmac('sha256', key).update(`${timestamp}${token}`).digest('hex') };
}

const postMultipart = (url: string, fields: Record<string, string>, files: FormFileInput[] = []): Promise<Posted> => postForm(url, fields, files);
const postUrlencoded = (url: string, fields: Record<string, string>): Promise<Posted> => post(url, new URLSearchParams(fields));

describe('the Mailgun route', () => {
  let harness: WebhookHarness;
  let url: string;

  before(async () => {
    harness = await webhookHarness();
    url = await harness.serve({ providers: { mailgun: { signingKeys: ['another-rotated-key-0123456789', KEY] } } });
  });
  after(async () => harness?.close());

  const email = (id: string): Promise<Buffer> =>
    compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `Mailgun ${id}`, messageId: `<${id}@c.example>`, text: 'Hello from Mailgun' });

  test('a raw MIME forward with a valid signature is stored with its token as a trace field and starts the workflow', async () => {
    const id = unique('mg-raw');
    const raw = await email(id);
    const auth = signed();
    const response = await postMultipart(`${url}/v1/inbound/mailgun/mime`, { recipient: 'support@mailgate.local', sender: `${id}@customer.example`, 'body-mime': raw.toString('latin1'), ...auth });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.status, 'accepted');
    assert.equal(response.body.eventId, auth.token);
    const [workflowId] = response.body.workflowIds as string[];
    assert.ok(workflowId && (await harness.workflowExists(workflowId)));
    const stored = await harness.store.getBuffer(response.body.rawKey as string);
    assert.ok(stored.toString('latin1').startsWith(`X-Mailgate-Provider-Event: mailgun; id=${auth.token}\r\n`));
    assert.ok(stored.subarray(stored.length - raw.length).equals(raw), 'the raw message follows byte for byte');
  });

  test('the same token again is refused as a replay with 406, which Mailgun does not retry', async () => {
    const id = unique('mg-replay');
    const fields = { recipient: 'support@mailgate.local', sender: `${id}@customer.example`, 'body-mime': (await email(id)).toString('latin1'), ...signed() };
    assert.equal((await postMultipart(`${url}/v1/inbound/mailgun/mime`, fields)).status, 200);
    const again = await postMultipart(`${url}/v1/inbound/mailgun/mime`, fields);
    assert.equal(again.status, 406);
    assert.equal(again.body.error, 'replayed');
  });

  test('a wrong signature and a stale timestamp are refused with 401 (retried by Mailgun, so a key mix-up loses nothing)', async () => {
    const raw = (await email(unique('mg-wrong'))).toString('latin1');
    const wrong = await postMultipart(`${url}/v1/inbound/mailgun/mime`, { recipient: 'support@mailgate.local', 'body-mime': raw, ...signed('not-the-signing-key-0123456789') });
    assert.equal(wrong.status, 401);
    const stale = await postMultipart(`${url}/v1/inbound/mailgun/mime`, {
      recipient: 'support@mailgate.local',
      'body-mime': raw,
      ...signed(KEY, Math.floor(Date.now() / 1000) - config.ingress.maxSkewSeconds - 60),
    });
    assert.equal(stale.status, 401);
    const unsigned = await postMultipart(`${url}/v1/inbound/mailgun/mime`, { recipient: 'support@mailgate.local', 'body-mime': raw });
    assert.equal(unsigned.status, 401);
  });

  test('the parsed form is rebuilt into MIME, and a retry of the same payload under a new token is a duplicate, not a second email', async () => {
    const id = unique('mg-parsed');
    const payload = {
      recipient: 'support@mailgate.local',
      sender: `${id}@customer.example`,
      from: `Customer <${id}@customer.example>`,
      subject: `Parsed ${id} café`,
      'body-plain': 'Plain body with ünïcode',
      'body-html': '<p>HTML body</p>',
      'message-headers': JSON.stringify([
        ['From', `Customer <${id}@customer.example>`],
        ['To', 'support@mailgate.local'],
        ['Subject', `Parsed ${id} café`],
        ['Message-Id', `<${id}@c.example>`],
        ['Date', 'Mon, 07 Dec 2026 10:00:00 +0000'],
        ['Content-Type', 'multipart/alternative; boundary="xyz"'],
        ['X-Mailgun-Spf', 'Pass'],
      ]),
    };
    const first = await postUrlencoded(`${url}/v1/inbound/mailgun`, { ...payload, ...signed() });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.status, 'accepted');
    const second = await postUrlencoded(`${url}/v1/inbound/mailgun`, { ...payload, ...signed() });
    assert.equal(second.status, 200);
    assert.equal(second.body.status, 'duplicate');
    assert.deepEqual(second.body.workflowIds, first.body.workflowIds);
  });

  test('a parsed form with an attachment keeps the attachment, the headers and the token in the rebuilt message', async () => {
    const id = unique('mg-attach');
    const auth = signed();
    const response = await postMultipart(
      `${url}/v1/inbound/mailgun`,
      {
        recipient: 'support@mailgate.local',
        sender: `${id}@customer.example`,
        'body-plain': 'See attached',
        'message-headers': JSON.stringify([['From', `${id}@customer.example`], ['To', 'support@mailgate.local'], ['Subject', `Attached ${id}`], ['Message-Id', `<${id}@c.example>`]]),
        'attachment-count': '1',
        ...auth,
      },
      [{ field: 'attachment-1', name: 'report.pdf', type: 'application/pdf', content: Buffer.from('%PDF-1.4 test') }],
    );
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const found = await harness.store.getBuffer(response.body.rawKey as string);
    assert.match(found.toString('latin1'), new RegExp(`^X-Mailgate-Provider-Event: mailgun-parsed; id=${auth.token}\\r\\n`));
    const parsed = await simpleParser(found);
    assert.equal(parsed.subject, `Attached ${id}`);
    assert.equal(parsed.from?.value[0]?.address, `${id}@customer.example`);
    assert.equal(parsed.text?.trim(), 'See attached');
    assert.equal(parsed.attachments[0]?.filename, 'report.pdf');
    assert.equal(parsed.attachments[0]?.content.toString(), '%PDF-1.4 test');
  });

  test('a message that is not an email is refused with 406: Mailgun must not retry it', async () => {
    const response = await postMultipart(`${url}/v1/inbound/mailgun/mime`, { recipient: 'support@mailgate.local', 'body-mime': '\u0000\u0001 binary, not mail', ...signed() });
    assert.equal(response.status, 406);
  });

  test('when the object store is down the answer is 503, and Mailgun\'s retry with the same token is then accepted', async () => {
    const id = unique('mg-down');
    const fields = { recipient: 'support@mailgate.local', 'body-mime': (await email(id)).toString('latin1'), ...signed() };
    const down = await harness.serve({
      providers: { mailgun: { signingKeys: [KEY] } },
      store: createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 }),
    });
    const refused = await postMultipart(`${down}/v1/inbound/mailgun/mime`, fields);
    assert.equal(refused.status, 503);
    const retried = await postMultipart(`${url}/v1/inbound/mailgun/mime`, fields);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.status, 'accepted');
  });

  test('without a signing key the route does not exist', async () => {
    const off = await harness.serve({ providers: { mailgun: { signingKeys: [] } } });
    const response = await postMultipart(`${off}/v1/inbound/mailgun/mime`, { 'body-mime': 'x', ...signed() });
    assert.equal(response.status, 404);
  });
});
