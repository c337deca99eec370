/**
 * Issue 12, class 4, through the real pipeline: card numbers and IBANs in every place an email can
 * carry them (subject, display names, attachment names, text and html bodies, attribute values),
 * split by the separators, markup, invisible characters and encodings a probe uses. None of them
 * may reach the ticket (admin API), the email's state (admin API), the parsed document in the
 * object store, or the acknowledgement the SMTP server received.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodeHTML } from 'entities';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { startApp, type RunningApp } from '../helpers/app';
import { getJson, postMime } from '../helpers/mail';
import { mailMatching, type ReceivedMail } from '../helpers/maildev';
import { settled, ticket, type EmailView } from '../helpers/pipeline';
import { config, unique } from '../helpers/stack';

// Public test numbers (card networks' test PANs, ISO 13616 example IBANs), one per place, so a
// failure names the place that leaked.
const SECRETS = {
  subjectCard: '4111111111111111',
  encodedSubjectCard: '5555555555554444',
  encodedSubjectIban: 'DE89370400440532013000',
  fromNameCard: '4012888888881881',
  ccNameCard: '378282246310005',
  fileNameCard: '3566002020360505',
  fileNameIban: 'NL91ABNA0417164300',
  textCard: '5105105105105100',
  textIban: 'GB82WEST12345698765432',
  htmlCard: '6011111111111117',
  htmlIban: 'BE68539007547034',
  attributeCard: '4222222222222',
  titleCard: '2223003122003222',
} as const;

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Each secret that survives anywhere in `value`: in any string, tags dropped, entities decoded, every separator removed. */
function leaks(value: unknown): string[] {
  const strings: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') strings.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(value);
  const flat = strings.map((s) => decodeHTML(s.replace(/<[^>]*>/g, '')).normalize('NFKC').replace(/[^A-Za-z0-9]/g, '').toUpperCase()).join('|');
  return Object.entries(SECRETS).filter(([, secret]) => flat.includes(secret)).map(([place]) => place);
}

function everywhereMessage(id: string): string {
  const lines = [
    `From: "Ann 4012 8888 8888 1881" <${id}@customer.example>`,
    'To: support@mailgate.local',
    `Cc: "=?utf-8?Q?Bob_3782=2E822463=2E10005?=" <bob.${id}@customer.example>`,
    `Subject: =?utf-8?B?${b64('Refund 5555\u200B5555\u200B5555\u200B4444, IBAN de89 3704 0044 0532 0130 00')}?=`,
    `Message-ID: <${id}@customer.example>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="outer"',
    '',
    '--outer',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Card 5105 10=',
    '51.0510.5100 and iban gb82 west 1234=',
    ' 5698 7654 32, thanks.',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    '<p>Card 6011<b>1111</b>1111&#49;117, IBAN <i>be68</i> 5390&nbsp;0754 7034.</p>',
    '<p><a href=3D"mailto:pay@customer.example?subject=3D4222%202222%202222%202">pay</a>',
    '<a href=3D"https://pay.example/" title=3D"2223.0031.2200.3222">ref</a></p>',
    '--alt--',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    "Content-Disposition: attachment; filename*=utf-8''card%203566%200020%202036%200505.txt",
    '',
    'notes',
    '--outer',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Disposition: attachment; filename="=?utf-8?B?${b64('nl91 abna 0417 1643 00.txt')}?="`,
    '',
    'more notes',
    '--outer--',
    '',
  ];
  return lines.join('\r\n');
}

async function deliver(app: RunningApp, raw: string): Promise<EmailView> {
  const posted = await postMime(app.url, raw);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

async function acknowledgementTo(address: string): Promise<ReceivedMail> {
  const [ack] = await mailMatching(`the acknowledgement to ${address}`, (m) => m.to.some((t) => t.address === address), 30_000);
  return ack!;
}

describe('redaction wherever personal data can be', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('the leak check itself finds every secret written with separators and markup', () => {
    const spelled = Object.values(SECRETS).map((secret) => `<b>${secret.slice(0, 4)}</b>&#8203;${secret.slice(4).replace(/(.{4})/g, '$1 ').toLowerCase()}`);
    assert.deepEqual(leaks({ nested: [spelled] }), Object.keys(SECRETS));
  });

  test('a card number in the subject is in neither the ticket nor the acknowledgement\'s subject (the probe\'s case)', async () => {
    const id = unique('subject');
    const customer = `${id}@customer.example`;
    const raw = [`From: ${customer}`, 'To: support@mailgate.local', `Subject: Payment 4111 1111 1111 1111 failed`, `Message-ID: <${id}@customer.example>`, '', 'see subject', ''].join('\r\n');
    const view = await deliver(app, raw);
    assert.equal(view.state?.outcome, 'ticket_created');
    const t = await ticket(app.url, view.state!.ticketId!);
    assert.equal(t.subject, 'Payment [redacted card ••••1111] failed');
    const ack = await acknowledgementTo(customer);
    assert.match(ack.subject, /^\[[A-Z]+-\d+\] Payment \[redacted card ••••1111\] failed$/);
    assert.deepEqual(leaks([t, view, ack]), []);
  });

  test('cards and IBANs in the subject, names, file names, text, html and attributes reach no ticket, state, stored object or acknowledgement', async () => {
    const id = unique('everywhere');
    const customer = `${id}@customer.example`;
    const raw = everywhereMessage(id);
    const view = await deliver(app, raw);
    assert.equal(view.state?.outcome, 'ticket_created', JSON.stringify(view.state));

    const t = await ticket(app.url, view.state!.ticketId!);
    // Not vacuous: each place was seen and rewritten, the markup kept.
    assert.equal(t.subject, 'Refund [redacted card ••••4444], IBAN [redacted IBAN DE••••3000]');
    const comment = t.comments.find((c) => !c.internal)!;
    assert.deepEqual(comment.attachments.map((a) => a.filename).sort(), ['[redacted IBAN NL••••4300].txt', 'card [redacted card ••••0505].txt']);
    assert.match(comment.text, /Card \[redacted card ••••5100\] and iban \[redacted IBAN GB••••5432\], thanks\./);
    assert.match(comment.html ?? '', /Card \[redacted card ••••1117\]<b><\/b>, IBAN <i>\[redacted IBAN BE••••7034\]<\/i>\./);
    assert.match(comment.html ?? '', /subject=\[redacted%20card%20(%E2%80%A2){4}2222\]/);
    assert.match(comment.html ?? '', /title="\[redacted card ••••3222\]"/);
    assert.deepEqual(leaks(t), [], 'the ticket');

    const listed = await getJson<unknown>(`${app.url}/v1/tickets?requester=${encodeURIComponent(customer)}`);
    assert.equal(listed.status, 200);
    assert.deepEqual(leaks(listed.body), [], 'the ticket list');
    assert.deepEqual(leaks(view), [], 'the email state');

    const store = createS3ObjectStore(config.s3);
    const sha = createHash('sha256').update(raw).digest('hex');
    // A small email's parsed document stays in the worker's memory for its ticket step (issue 15):
    // none is stored, so none can leak from the object store.
    assert.equal(await store.exists(`parsed/${sha}/api-key+card+iban+us-ssn.json`), false, 'no parsed document is stored for a small email');
    const rawStored = (await store.getBuffer(`raw/${sha}`)).toString('utf8');
    assert.ok(rawStored.includes('4012 8888 8888 1881'), 'the raw object keeps the original');

    const ack = await acknowledgementTo(customer);
    assert.match(ack.subject, /Refund \[redacted card ••••4444\]/);
    assert.deepEqual(leaks(ack), [], 'the acknowledgement');
  });

  test('an HTML-only mail with a card split by tags and character references and a lower-case IBAN leaves nothing', async () => {
    const id = unique('html');
    const customer = `${id}@customer.example`;
    const raw = [
      `From: ${customer}`, 'To: support@mailgate.local', 'Subject: html only', `Message-ID: <${id}@customer.example>`,
      'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '',
      '<div>4111<b>1111</b>1111&#49;111<br>de89&#x200B;3704&#x200B;0044&#x200B;0532&#x200B;0130&#x200B;00</div>', '',
    ].join('\r\n');
    const view = await deliver(app, raw);
    const t = await ticket(app.url, view.state!.ticketId!);
    const comment = t.comments.find((c) => !c.internal)!;
    assert.match(comment.html ?? '', /\[redacted card ••••1111\]<b><\/b>/);
    assert.match(comment.html ?? '', /\[redacted IBAN DE••••3000\]/);
    assert.deepEqual(leaks([t, view, await acknowledgementTo(customer)]), []);
  });
});
