/**
 * The pieces of the provider webhooks that need no stack: their configuration, the trace fields,
 * the deterministic rebuild, form caps, and the signature checks against hand-made vectors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/config';
import { contentSha256 } from '../../src/domain/content-hash';
import { parseForm } from '../../src/ingress/providers/form';
import { verifyMailgunSignature } from '../../src/ingress/providers/mailgun';
import { rebuildMime } from '../../src/ingress/providers/rebuild-mime';
import { basicAuthMatches, withTraceFields } from '../../src/ingress/providers/webhook';
import { MINIMAL_ENV } from '../helpers/env';
import { multipart } from '../helpers/webhook-posts';

test('every provider is off by default, and its secrets are read as lists', () => {
  const off = loadConfig(MINIMAL_ENV).providers;
  assert.deepEqual(off.mailgun.signingKeys, []);
  assert.deepEqual(off.sendgrid, { basicAuth: [], verificationKeys: [] });
  assert.deepEqual(off.postmark.basicAuth, []);
  assert.deepEqual(off.ses.topicArns, []);
  assert.equal(off.ses.certHosts, undefined, 'the AWS host check is the default');
  assert.deepEqual(off.json.secrets, []);
  const on = loadConfig({ ...MINIMAL_ENV, MAILGUN_SIGNING_KEYS: 'key-0123456789abcdef, key-fedcba9876543210', SES_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:123456789012:inbound', SES_S3_REGION: 'eu-west-1' }).providers;
  assert.deepEqual(on.mailgun.signingKeys, ['key-0123456789abcdef', 'key-fedcba9876543210']);
  assert.equal(on.ses.s3.region, 'eu-west-1');
});

test('short secrets, malformed Basic pairs, topic ARNs and certificate hosts stop the start, naming the variable and never the value', () => {
  let caught: unknown;
  try {
    loadConfig({ ...MINIMAL_ENV, MAILGUN_SIGNING_KEYS: 'short', POSTMARK_BASIC_AUTH: 'no-colon-here-at-all-0123', SES_TOPIC_ARNS: 'not-an-arn', SNS_CERT_HOSTS: 'https://x' });
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError);
  assert.deepEqual([...caught.variables].sort(), ['MAILGUN_SIGNING_KEYS', 'POSTMARK_BASIC_AUTH', 'SES_TOPIC_ARNS', 'SNS_CERT_HOSTS']);
  assert.doesNotMatch(caught.message, /short|no-colon-here/);
});

test('trace fields go above the message, leave its content hash alone, and are not added to bytes that are no email', () => {
  const raw = Buffer.from('From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n');
  const traced = withTraceFields(raw, { provider: 'ses', eventId: 'id\r\nBcc: injected@x', verdicts: { spf: 'PASS', dkim: undefined } });
  assert.equal(traced.toString(), 'X-Mailgate-Provider-Event: ses; id=id Bcc: injected@x\r\nX-Mailgate-Provider-Verdicts: ses; spf=PASS\r\nFrom: a@b.example\r\nSubject: x\r\n\r\nbody\r\n');
  assert.equal(contentSha256(traced), contentSha256(raw));
  const binary = Buffer.from('\u0000\u0001 binary');
  assert.equal(withTraceFields(binary, { provider: 'x' }), binary);
});

test('a rebuild is byte-identical for the same payload and seed, and never reads files or URLs named in it', async () => {
  const email = {
    headers: [['From', 'a@b.example'], ['Content-Type', 'text/html'], ['Subject', 'Grüße']] as [string, string][],
    text: 'hi',
    html: '<img src="file:///etc/passwd">',
    attachments: [{ filename: 'x.txt', contentType: 'text/plain', content: Buffer.from('x') }],
    seed: 'a'.repeat(64),
    receivedAt: new Date(0),
  };
  const one = await rebuildMime(email);
  assert.ok(one.equals(await rebuildMime(email)));
  assert.doesNotMatch(one.toString(), /root:/);
  assert.match(one.toString(), /^Message-ID:\s+<a{40}@rebuilt\.mailgate\.invalid>/m);
  assert.match(one.toString(), /^From: a@b\.example\r$/m);
  assert.match(one.toString(), /^Subject: =\?UTF-8\?/m);
});

test('a form past its caps is refused whole, never taken truncated', async () => {
  const { body, contentType } = await multipart({ 'body-mime': 'x'.repeat(2000) });
  const refused = await parseForm(body, contentType, { maxValueBytes: 1000, maxParts: 10 });
  assert.equal(refused.ok, false);
  const many = await multipart(Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, 'v'])));
  assert.equal((await parseForm(many.body, many.contentType, { maxValueBytes: 1000, maxParts: 10 })).ok, false);
  const fine = await parseForm(body, contentType, { maxValueBytes: 4000, maxParts: 10 });
  assert.ok(fine.ok && fine.form.fields.get('body-mime')?.length === 2000);
});

test('Mailgun signatures: HMAC-SHA256 of timestamp+token under any configured key, inside the window', () => {
  const timestamp = '1796000000';
  const token = 'a'.repeat(50);
  const signature = createHmac('sha256', 'key-two-0123456789').update(timestamp + token).digest('hex');
  const check = (over: Partial<Parameters<typeof verifyMailgunSignature>[0]>) =>
    verifyMailgunSignature({ keys: ['key-one-0123456789', 'key-two-0123456789'], timestamp, token, signature, nowMs: 1796000000_000, maxSkewSeconds: 300, ...over }).ok;
  assert.equal(check({}), true);
  assert.equal(check({ token: 'b'.repeat(50) }), false);
  assert.equal(check({ keys: ['key-one-0123456789'] }), false);
  assert.equal(check({ nowMs: 1796000301_000 }), false);
  assert.equal(check({ signature: undefined }), false);
});

test('Basic credentials match one configured pair exactly', () => {
  const header = (pair: string): string => `Basic ${Buffer.from(pair).toString('base64')}`;
  assert.equal(basicAuthMatches(header('u:password-0123456789'), ['x:other-0123456789', 'u:password-0123456789']), true);
  assert.equal(basicAuthMatches(header('u:password-012345678'), ['u:password-0123456789']), false);
  assert.equal(basicAuthMatches(undefined, ['u:password-0123456789']), false);
  assert.equal(basicAuthMatches('Bearer u:password-0123456789', ['u:password-0123456789']), false);
});
