/**
 * Amazon SES receiving through SNS: SNS messages signed (versions 1 and 2) with a self-signed RSA
 * signing certificate served over HTTPS on loopback, SES "Received" notifications with the content
 * inline (SNS action) and in an object of the stack's S3 (S3 action), through the real accept path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/app';
import { compose } from '../helpers/mail';
import { randomUUID } from 'node:crypto';
import { config, unique } from '../helpers/stack';
import { startSnsStandIn, type SnsStandIn } from '../helpers/sns';
import { post } from '../helpers/webhook-posts';
import { webhookHarness, type WebhookHarness } from '../helpers/webhooks';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:mailgate-inbound';

describe('the Amazon SES (SNS) route', () => {
  let harness: WebhookHarness;
  let sns: SnsStandIn;
  let origin: string;
  let url: string;

  before(async () => {
    harness = await webhookHarness();
    sns = await startSnsStandIn();
    origin = sns.origin;
    url = `${await harness.serve({ providers: { ses: { topicArns: [TOPIC], certHosts: [sns.host], s3: config.s3 } }, agent: sns.agent })}/v1/inbound/ses`;
  });
  after(async () => {
    await sns?.close();
    await harness?.close();
  });

  const snsMessage = (fields: Record<string, string>, version: '1' | '2' = '2'): Record<string, string> => sns.sign({ TopicArn: TOPIC, ...fields }, version);

  async function received(id: string, action: Record<string, string>, content?: string): Promise<Record<string, string>> {
    const ses = {
      notificationType: 'Received',
      mail: { timestamp: new Date().toISOString(), source: `${id}@customer.example`, messageId: `ses-${id}`, destination: ['support@mailgate.local'], headersTruncated: false, headers: [], commonHeaders: {} },
      receipt: {
        timestamp: new Date().toISOString(),
        processingTimeMillis: 200,
        recipients: ['support@mailgate.local'],
        spamVerdict: { status: 'PASS' },
        virusVerdict: { status: 'PASS' },
        spfVerdict: { status: 'PASS' },
        dkimVerdict: { status: 'GRAY' },
        dmarcVerdict: { status: 'PASS' },
        action,
      },
      ...(content !== undefined ? { content } : {}),
    };
    return { Type: 'Notification', Subject: 'Amazon SES Email Receipt Notification', Message: JSON.stringify(ses), UnsubscribeURL: `${origin}/unsubscribe` };
  }

  const email = (id: string): Promise<Buffer> =>
    compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `SES ${id}`, messageId: `<${id}@c.example>`, text: 'Hello from SES' });
  const send = (m: Record<string, string>, to = url) => post(to, JSON.stringify(m), { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': m.Type ?? '' });

  test('a subscription confirmation signed with version 2 is confirmed by fetching its SubscribeURL', async () => {
    const token = randomUUID();
    const response = await send(snsMessage({ Type: 'SubscriptionConfirmation', Token: token, Message: 'You have chosen to subscribe…', SubscribeURL: `${origin}/confirm?Token=${token}` }));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.ok(sns.confirmations.includes(`/confirm?Token=${token}`));
  });

  test('a version 1 notification with the email inline (SNS action, Base64) is accepted, with the SES ids and verdicts kept as evidence', async () => {
    const id = unique('ses-inline');
    const raw = await email(id);
    const m = snsMessage(await received(id, { type: 'SNS', topicArn: TOPIC, encoding: 'BASE64' }, raw.toString('base64')), '1');
    const response = await send(m);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.equal(response.body.status, 'accepted');
    assert.equal(response.body.eventId, `ses-${id}`);
    const stored = (await harness.store.getBuffer(response.body.rawKey as string)).toString('latin1');
    assert.ok(stored.startsWith(`X-Mailgate-Provider-Event: ses; id=ses-${id}; sns=${m.MessageId}\r\nX-Mailgate-Provider-Verdicts: ses; spf=PASS; dkim=GRAY; dmarc=PASS; spam=PASS; virus=PASS\r\n`), stored.slice(0, 300));
    assert.ok(stored.endsWith(raw.toString('latin1')));
  });

  test('a large email is read from the S3 action\'s object with the configured credentials', async () => {
    const id = unique('ses-s3');
    const raw = await email(id);
    const key = `ses-inbound-test/${id}`;
    await harness.store.put({ key, body: raw, contentType: 'message/rfc822', contentLength: raw.length });
    const response = await send(snsMessage(await received(id, { type: 'S3', topicArn: TOPIC, bucketName: config.s3.bucket, objectKeyPrefix: 'ses-inbound-test', objectKey: key })));
    assert.equal(response.status, 200, JSON.stringify(response.body));
    const stored = await harness.store.getBuffer(response.body.rawKey as string);
    assert.ok(stored.subarray(stored.length - raw.length).equals(raw));
  });

  test('a replayed MessageId is refused; a tampered message, an unknown topic, a foreign or non-.pem certificate URL and an old Timestamp are refused', async () => {
    const id = unique('ses-refused');
    const content = (await email(id)).toString('base64');
    const m = snsMessage(await received(id, { type: 'SNS', topicArn: TOPIC, encoding: 'BASE64' }, content));
    assert.equal((await send(m)).status, 200);
    assert.equal((await send(m)).status, 409);
    const tampered = { ...snsMessage(await received(unique('ses-tamper'), { type: 'SNS', encoding: 'BASE64' }, content)) };
    tampered.Message = tampered.Message!.replace('support@mailgate.local', 'other@mailgate.local');
    assert.equal((await send(tampered)).status, 401);
    assert.equal((await send(snsMessage({ ...(await received(unique('ses-topic'), { type: 'SNS' }, content)), TopicArn: 'arn:aws:sns:eu-west-1:123456789012:someone-else' }))).status, 403);
    const foreign = snsMessage({ ...(await received(unique('ses-host'), { type: 'SNS' }, content)), SigningCertURL: `https://127.0.0.2:${new URL(origin).port}/SimpleNotificationService-test.pem` });
    assert.equal((await send(foreign)).status, 401);
    const notPem = snsMessage({ ...(await received(unique('ses-pem'), { type: 'SNS' }, content)), SigningCertURL: `${origin}/SimpleNotificationService-test.crt` });
    assert.equal((await send(notPem)).status, 401);
    const old = snsMessage({ ...(await received(unique('ses-old'), { type: 'SNS' }, content)), Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString() });
    assert.equal((await send(old)).status, 401);
  });

  test('an unreadable S3 object is 503 so SNS retries, and the retry of the same MessageId is then taken', async () => {
    const id = unique('ses-retry');
    const raw = await email(id);
    const key = `ses-inbound-test/${id}`;
    const m = snsMessage(await received(id, { type: 'S3', topicArn: TOPIC, bucketName: config.s3.bucket, objectKey: key }));
    const down = await harness.serve({
      providers: { ses: { topicArns: [TOPIC], certHosts: [sns.host], s3: { ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` } } },
      agent: sns.agent,
    });
    assert.equal((await send(m, `${down}/v1/inbound/ses`)).status, 503);
    await harness.store.put({ key, body: raw, contentType: 'message/rfc822', contentLength: raw.length });
    const retried = await send(m);
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.status, 'accepted');
  });

  test('without a topic configured the route does not exist', async () => {
    const off = await harness.serve({ providers: { ses: { topicArns: [], certHosts: undefined, s3: config.s3 } } });
    assert.equal((await post(`${off}/v1/inbound/ses`, '{}')).status, 404);
  });
});

describe('the SNS signing certificate host check', () => {
  test('by default only https://sns.<region>.amazonaws.com certificates ending in .pem are fetched', async () => {
    const { isSnsUrl } = await import('../../src/ingress/providers/sns-verify');
    assert.equal(isSnsUrl('https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem', undefined, true), true);
    assert.equal(isSnsUrl('https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem', undefined, true), true);
    assert.equal(isSnsUrl('http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem', undefined, true), false);
    assert.equal(isSnsUrl('https://sns.eu-west-1.amazonaws.com.evil.example/x.pem', undefined, true), false);
    assert.equal(isSnsUrl('https://sns.eu-west-1.amazonaws.com:8443/x.pem', undefined, true), false);
    assert.equal(isSnsUrl('https://127.0.0.1:8443/x.pem', undefined, true), false);
    assert.equal(isSnsUrl('https://sns.eu-west-1.amazonaws.com/x.crt', undefined, true), false);
    assert.equal(isSnsUrl('https://user:pw@sns.eu-west-1.amazonaws.com/x.pem', undefined, true), false);
    assert.equal(isSnsUrl('https://127.0.0.1:8443/x.pem', ['127.0.0.1:8443'], true), true);
    assert.equal(isSnsUrl('https://sns.eu-west-1.amazonaws.com/x.pem', ['127.0.0.1:8443'], true), false);
  });
});
