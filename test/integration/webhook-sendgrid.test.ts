/**
 * SendGrid Inbound Parse posts in raw and default mode, authenticated by Basic credentials in the
 * parse URL and by the security policy's ECDSA P-256 signature (a key pair made here, the public
 * key given as base64 DER as SendGrid's API returns it), through the real accept path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER } from '../../src/ingress/providers/sendgrid';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { config, unique } from '../helpers/stack';
import { basicAuth, multipart, post, postForm } from '../helpers/webhook-posts';
import { webhookHarness, type WebhookHarness } from '../helpers/webhooks';

const PAIR = 'sendgrid:parse-password-0123456789';
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

function signatureHeaders(body: Buffer, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = sign('sha256', Buffer.concat([Buffer.from(String(timestamp)), body]), keys.privateKey).toString('base64');
  return { [SENDGRID_SIGNATURE_HEADER]: signature, [SENDGRID_TIMESTAMP_HEADER]: String(timestamp) };
}

describe('the SendGrid Inbound Parse route', () => {
  let harness: WebhookHarness;
  let basicUrl: string;
  let signedUrl: string;

  before(async () => {
    harness = await webhookHarness();
    basicUrl = `${await harness.serve({ providers: { sendgrid: { basicAuth: [PAIR], verificationKeys: [] } } })}/v1/inbound/sendgrid`;
    signedUrl = `${await harness.serve({ providers: { sendgrid: { basicAuth: [], verificationKeys: [PUBLIC_KEY] } } })}/v1/inbound/sendgrid`;
  });
  after(async () => harness?.close());

  const email = (id: string): Promise<Buffer> =>
    compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `SendGrid ${id}`, messageId: `<${id}@c.example>`, text: 'Hello from SendGrid' });
  const rawFields = async (id: string): Promise<Record<string, string>> => ({
    email: (await email(id)).toString('latin1'),
    envelope: JSON.stringify({ to: ['support@mailgate.local'], from: `${id}@customer.example` }),
    SPF: 'pass',
    dkim: '{@customer.example : pass}',
    spam_score: '0.1',
    charsets: JSON.stringify({ to: 'UTF-8', subject: 'UTF-8' }),
  });

  test('a raw-mode post with the Basic credentials of the parse URL is accepted with 200, its verdicts kept as untrusted evidence', async () => {
    const response = await postForm(basicUrl, await rawFields(unique('sg-raw')), [], { authorization: basicAuth(PAIR) });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.status, 'accepted');
    const stored = (await harness.store.getBuffer(response.body.rawKey as string)).toString('latin1');
    assert.match(stored, /^X-Mailgate-Provider-Event: sendgrid\r\nX-Mailgate-Provider-Verdicts: sendgrid; spf=pass; dkim=\{@customer.example : pass\}; spam_score=0.1\r\n/);
    assert.doesNotMatch(stored, /^Authentication-Results:/m);
  });

  test('wrong or missing Basic credentials are refused with 401 before the body is read', async () => {
    const fields = await rawFields(unique('sg-badauth'));
    assert.equal((await postForm(basicUrl, fields, [], { authorization: basicAuth('sendgrid:wrong-password-0123456789') })).status, 401);
    assert.equal((await postForm(basicUrl, fields)).status, 401);
  });

  test('a post signed by the security policy key is accepted; a tampered body, a stale timestamp and a replay are refused', async () => {
    const { body, contentType } = await multipart(await rawFields(unique('sg-signed')));
    const headers = { 'content-type': contentType, ...signatureHeaders(body) };
    const accepted = await post(signedUrl, body, headers);
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const replay = await post(signedUrl, body, headers);
    assert.equal(replay.status, 401);
    assert.match(String(replay.body.reason), /replay/);
    const tampered = Buffer.from(body.toString('latin1').replace('Hello from SendGrid', 'Hello from someone else'), 'latin1');
    assert.equal((await post(signedUrl, tampered, { 'content-type': contentType, ...signatureHeaders(body) })).status, 401);
    const stale = signatureHeaders(body, Math.floor(Date.now() / 1000) - config.ingress.maxSkewSeconds - 60);
    assert.equal((await post(signedUrl, body, { 'content-type': contentType, ...stale })).status, 401);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const forged = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), otherKey.privateKey).toString('base64');
    assert.equal((await post(signedUrl, body, { 'content-type': contentType, [SENDGRID_SIGNATURE_HEADER]: forged, [SENDGRID_TIMESTAMP_HEADER]: timestamp })).status, 401);
  });

  test('a default-mode (parsed) post is rebuilt into MIME with its attachment', async () => {
    const id = unique('sg-parsed');
    const response = await postForm(
      basicUrl,
      {
        headers: `From: Customer <${id}@customer.example>\nTo: support@mailgate.local\nSubject: Parsed ${id}\nMessage-ID: <${id}@c.example>\nDate: Mon, 07 Dec 2026 10:00:00 +0000\nContent-Type: multipart/mixed; boundary="x"\n`,
        from: `Customer <${id}@customer.example>`,
        to: 'support@mailgate.local',
        subject: `Parsed ${id}`,
        text: 'Parsed body',
        envelope: JSON.stringify({ to: ['support@mailgate.local'], from: `${id}@customer.example` }),
        attachments: '1',
        'attachment-info': JSON.stringify({ attachment1: { filename: 'notes.txt', type: 'text/plain' } }),
        SPF: 'pass',
      },
      [{ field: 'attachment1', name: 'notes.txt', type: 'text/plain', content: Buffer.from('attached notes') }],
      { authorization: basicAuth(PAIR) },
    );
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const parsed = await simpleParser(await harness.store.getBuffer(response.body.rawKey as string));
    assert.equal(parsed.subject, `Parsed ${id}`);
    assert.equal(parsed.messageId, `<${id}@c.example>`);
    assert.equal(parsed.from?.value[0]?.address, `${id}@customer.example`);
    assert.equal(parsed.text?.trim(), 'Parsed body');
    assert.equal(parsed.attachments[0]?.filename, 'notes.txt');
  });

  test('a transient failure is a 503, never a 4xx that SendGrid would drop', async () => {
    const down = await harness.serve({
      providers: { sendgrid: { basicAuth: [PAIR], verificationKeys: [] } },
      store: createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 5_000 }),
    });
    const response = await postForm(`${down}/v1/inbound/sendgrid`, await rawFields(unique('sg-down')), [], { authorization: basicAuth(PAIR) });
    assert.equal(response.status, 503);
  });

  test('without credentials configured the route does not exist', async () => {
    const off = await harness.serve({ providers: { sendgrid: { basicAuth: [], verificationKeys: [] } } });
    assert.equal((await postForm(`${off}/v1/inbound/sendgrid`, { email: 'x' })).status, 404);
  });
});
