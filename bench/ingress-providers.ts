/**
 * Accept latency and sustained emails/s per ingress kind, in one run: the raw MIME ingress
 * (/v1/inbound/mime) beside each provider webhook (Mailgun raw and parsed, SendGrid raw and parsed,
 * Postmark raw and JSON, SES via SNS inline and from S3, generic JSON). Against the running stack
 * (`scripts/stack up infra`: Temporal, S3, PostgreSQL): the API app runs in this process with the
 * real adapters and the providers' secrets set here (SES needs its signing-certificate host, which
 * this run serves on loopback, so a separately started API could not take its messages), the
 * per-source rate limit lifted so the limiter is not what is measured. No worker is needed:
 * accepting ends when the raw message is stored and the workflow started.
 *   scripts/with-env node dist/bench/ingress-providers.js [--count 100] [--concurrency 4]
 * Each kind sends `count` distinct emails with `concurrency` requests in flight (closed loop):
 * latency is per request, emails/s is count over the kind's wall time.
 */
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { parseArgs } from 'node:util';
import MailComposer from 'nodemailer/lib/mail-composer';
import { signatureHeaders } from '../src/api/signing';
import { SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER } from '../src/ingress/providers/sendgrid';
import { startSnsStandIn } from '../test/helpers/sns';
import { config } from '../test/helpers/stack';
import { basicAuth, multipart, post } from '../test/helpers/webhook-posts';
import { webhookHarness } from '../test/helpers/webhooks';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '4' } } });
const count = Number(values.count);
const concurrency = Number(values.concurrency);
const run = Date.now().toString(36);

const MAILGUN_KEY = randomBytes(24).toString('hex');
const BASIC = `bench:${randomBytes(16).toString('hex')}`;
const JSON_SECRET = randomBytes(24).toString('hex');
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:mailgate-bench';
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function percentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function email(kind: string, i: number): Promise<{ raw: Buffer; id: string }> {
  const id = `bench.${run}.${kind}.${i}`;
  const raw = await new MailComposer({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `bench ${kind} ${i}`, messageId: `<${id}@customer.example>`, text: 'Benchmark email.' }).compile().build();
  return { raw, id };
}

type Send = (i: number) => Promise<number>;

async function main(): Promise<void> {
  const harness = await webhookHarness();
  const sns = await startSnsStandIn();
  const base = await harness.serve({
    ingress: { ratePerMinute: 10_000_000, rateBurst: 10_000_000 },
    providers: {
      mailgun: { signingKeys: [MAILGUN_KEY] },
      sendgrid: { basicAuth: [BASIC], verificationKeys: [sendgridKeys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')] },
      postmark: { basicAuth: [BASIC] },
      ses: { topicArns: [TOPIC], certHosts: [sns.host], s3: config.s3 },
      json: { secrets: [JSON_SECRET] },
    },
    agent: sns.agent,
  });
  const mailgunAuth = (): Record<string, string> => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const token = randomBytes(25).toString('hex');
    return { timestamp, token, signature: createHmac('sha256', MAILGUN_KEY).update(timestamp + token).digest('hex') };
  };
  const sesNotification = (id: string, action: Record<string, string>, content?: string): Record<string, string> =>
    sns.sign({
      Type: 'Notification',
      TopicArn: TOPIC,
      Message: JSON.stringify({
        notificationType: 'Received',
        mail: { source: `${id}@customer.example`, messageId: `ses-${id}`, destination: ['support@mailgate.local'] },
        receipt: { recipients: ['support@mailgate.local'], spfVerdict: { status: 'PASS' }, dkimVerdict: { status: 'PASS' }, action },
        ...(content !== undefined ? { content } : {}),
      }),
    });
  const ok = (status: number, expected = 200): number => {
    if (status !== expected) throw new Error(`answered ${status}, not ${expected}`);
    return status;
  };

  const kinds: [string, Send][] = [
    ['http raw (/v1/inbound/mime)', async (i) => {
      const { raw } = await email('mime', i);
      return ok((await post(`${base}/v1/inbound/mime`, raw, { 'content-type': 'message/rfc822', ...signatureHeaders(config.ingress.secrets[0]!, raw) })).status, 202);
    }],
    ['mailgun raw', async (i) => {
      const { raw, id } = await email('mailgun', i);
      const { body, contentType } = await multipart({ recipient: 'support@mailgate.local', sender: `${id}@customer.example`, 'body-mime': raw.toString('latin1'), ...mailgunAuth() });
      return ok((await post(`${base}/v1/inbound/mailgun/mime`, body, { 'content-type': contentType })).status);
    }],
    ['mailgun parsed', async (i) => {
      const id = `bench.${run}.mailgun-parsed.${i}`;
      const headers = JSON.stringify([['From', `${id}@customer.example`], ['To', 'support@mailgate.local'], ['Subject', `bench ${i}`], ['Message-Id', `<${id}@customer.example>`], ['Date', new Date().toUTCString()]]);
      return ok((await post(`${base}/v1/inbound/mailgun`, new URLSearchParams({ recipient: 'support@mailgate.local', 'message-headers': headers, 'body-plain': 'Benchmark email.', ...mailgunAuth() }))).status);
    }],
    ['sendgrid raw (basic + signature)', async (i) => {
      const { raw, id } = await email('sendgrid', i);
      const { body, contentType } = await multipart({ email: raw.toString('latin1'), envelope: JSON.stringify({ to: ['support@mailgate.local'], from: `${id}@customer.example` }), SPF: 'pass' });
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), sendgridKeys.privateKey).toString('base64');
      return ok((await post(`${base}/v1/inbound/sendgrid`, body, { 'content-type': contentType, authorization: basicAuth(BASIC), [SENDGRID_SIGNATURE_HEADER]: signature, [SENDGRID_TIMESTAMP_HEADER]: timestamp })).status);
    }],
    ['postmark RawEmail', async (i) => {
      const { raw } = await email('postmark', i);
      const body = JSON.stringify({ MessageID: randomUUID(), OriginalRecipient: 'support@mailgate.local', RawEmail: raw.toString('utf8') });
      return ok((await post(`${base}/v1/inbound/postmark`, body, { 'content-type': 'application/json', authorization: basicAuth(BASIC) })).status);
    }],
    ['postmark JSON (rebuilt)', async (i) => {
      const id = `bench.${run}.postmark-json.${i}`;
      const body = JSON.stringify({ MessageID: randomUUID(), From: `${id}@customer.example`, To: 'support@mailgate.local', OriginalRecipient: 'support@mailgate.local', Subject: `bench ${i}`, Date: new Date().toUTCString(), TextBody: 'Benchmark email.', Headers: [{ Name: 'Message-ID', Value: `<${id}@customer.example>` }], Attachments: [] });
      return ok((await post(`${base}/v1/inbound/postmark`, body, { 'content-type': 'application/json', authorization: basicAuth(BASIC) })).status);
    }],
    ['ses via sns (inline)', async (i) => {
      const { raw, id } = await email('ses', i);
      return ok((await post(`${base}/v1/inbound/ses`, JSON.stringify(sesNotification(id, { type: 'SNS', encoding: 'BASE64' }, raw.toString('base64'))), { 'content-type': 'text/plain; charset=UTF-8' })).status);
    }],
    ['ses via sns (S3 object)', async (i) => {
      const { raw, id } = await email('ses-s3', i);
      const key = `ses-bench/${id}`;
      await harness.store.put({ key, body: raw, contentType: 'message/rfc822', contentLength: raw.length });
      const started = performance.now();
      ok((await post(`${base}/v1/inbound/ses`, JSON.stringify(sesNotification(id, { type: 'S3', bucketName: config.s3.bucket, objectKey: key })), { 'content-type': 'text/plain; charset=UTF-8' })).status);
      return started;
    }],
    ['generic JSON (rebuilt)', async (i) => {
      const id = `bench.${run}.json.${i}`;
      const body = JSON.stringify({ id, envelope: { to: ['support@mailgate.local'] }, headers: [['From', `${id}@customer.example`], ['To', 'support@mailgate.local'], ['Subject', `bench ${i}`], ['Message-ID', `<${id}@customer.example>`]], text: 'Benchmark email.' });
      return ok((await post(`${base}/v1/inbound/json`, body, { 'content-type': 'application/json', ...signatureHeaders(JSON_SECRET, body) })).status, 202);
    }],
  ];

  console.log(`ingress-providers: ${count} emails per kind, ${concurrency} in flight, API in process against ${config.temporal.address} and ${config.s3.endpoint ?? 'aws'}`);
  console.log(`${'kind'.padEnd(34)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'emails/s'.padStart(9)}`);
  try {
    for (const [label, send] of kinds) {
      const latencies: number[] = [];
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < count; i = next++) {
            const t0 = performance.now();
            // A kind may set up its input first (an S3 object) and return when its request began.
            const began = await send(i);
            latencies.push(performance.now() - (label.includes('S3') ? began : t0));
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const f = (ms: number): string => ms.toFixed(1).padStart(8);
      console.log(`${label.padEnd(34)} ${f(percentile(latencies, 0.5))} ${f(percentile(latencies, 0.95))} ${f(percentile(latencies, 0.99))} ${(count / seconds).toFixed(1).padStart(9)}`);
    }
  } finally {
    await sns.close();
    await harness.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
