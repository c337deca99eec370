/**
 * Issue 12, class 4: every field of a parsed email a person reads is redacted, not only the body.
 * The messages are raw MIME run through the real parser, so encoded words (RFC 2047), RFC 2231
 * file names and quoted-printable soft line breaks are decoded the way the pipeline decodes them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { DEFAULT_LIMITS } from '../../src/domain/limits';
import { DEFAULT_REDACTION_POLICY } from '../../src/domain/redact';
import { redactDocument } from '../../src/domain/redact-document';
import type { EmailDocument } from '../../src/domain/email';
import { parseMime } from '../../src/parsing/parse-mime';

const CARD_DIGITS = '4111111111111111';
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

const discard = async (_part: unknown, content: Readable): Promise<{ partKey: string }> => {
  content.resume();
  await new Promise((r) => content.on('end', r));
  return { partKey: 'discarded' };
};

async function parsedAndRedacted(raw: string): Promise<EmailDocument> {
  const document = await parseMime(Readable.from([Buffer.from(raw.replace(/\n/g, '\r\n'))]), { limits: DEFAULT_LIMITS, sink: discard });
  return redactDocument(document, DEFAULT_REDACTION_POLICY);
}

/** No card digits and no IBAN anywhere in the stored JSON, whatever separators they had. */
function assertClean(document: EmailDocument): void {
  const json = JSON.stringify(document);
  const digitsOnly = json.replace(/\\u[0-9a-f]{4}|[^0-9]/gi, '');
  assert.ok(!digitsOnly.includes(CARD_DIGITS), `card digits left in ${json}`);
  assert.ok(!/de89|370400440532013000/i.test(json.replace(/[^A-Za-z0-9]/g, '')), `IBAN left in ${json}`);
}

const headers = (extra: string[]): string => [
  'From: "Ann 4111 1111 1111 1111" <ann@customer.example>',
  'To: "Pay DE89 3704 0044 0532 0130 00" <support@mailgate.local>',
  'Cc: "=?utf-8?B?' + b64('Bob 4111.1111.1111.1111') + '?=" <bob@customer.example>',
  'Reply-To: "4111-1111-1111-1111" <ann@customer.example>',
  'Message-ID: <doc-1@customer.example>',
  ...extra,
].join('\n');

describe('redaction of the whole parsed email', () => {
  test('a card in a plain subject is redacted in the subject and in the kept Subject header', async () => {
    const doc = await parsedAndRedacted(`${headers(['Subject: Refund to 4111 1111 1111 1111 please'])}\n\nhello\n`);
    assert.equal(doc.subject, 'Refund to [redacted card ••••1111] please');
    assert.deepEqual(doc.headers.subject, ['Refund to [redacted card ••••1111] please']);
    assertClean(doc);
  });
  test('a card in a base64 encoded-word subject is redacted after decoding, header included', async () => {
    const doc = await parsedAndRedacted(`${headers([`Subject: =?utf-8?B?${b64('Karte 4111\u200B1111\u200B1111\u200B1111')}?=`])}\n\nhello\n`);
    assert.equal(doc.subject, 'Karte [redacted card ••••1111]');
    assert.ok(!(doc.headers.subject?.[0] ?? '').includes(b64('Karte 4111').slice(0, 8)), 'the encoded original is not kept');
    assertClean(doc);
  });
  test('a lower-case IBAN in a Q-encoded subject is redacted', async () => {
    const doc = await parsedAndRedacted(`${headers(['Subject: =?utf-8?Q?IBAN_de89_3704_0044_0532_0130_00?='])}\n\nhello\n`);
    assert.equal(doc.subject, 'IBAN [redacted IBAN DE••••3000]');
    assertClean(doc);
  });
  test('a card split across two encoded words, or across a folded header line, is redacted', async () => {
    const split = await parsedAndRedacted(`${headers(['Subject: =?utf-8?Q?pay_4111_1111?= =?utf-8?B?' + b64(' 1111 1111') + '?='])}\n\nhi\n`);
    assert.equal(split.subject, 'pay [redacted card ••••1111]');
    const folded = await parsedAndRedacted(`${headers(['Subject: pay 4111 1111\n 1111 1111 now'])}\n\nhi\n`);
    assert.equal(folded.subject, 'pay [redacted card ••••1111] now');
    assertClean(split);
    assertClean(folded);
  });
  test('a returned message\'s subject and a delivery status diagnostic are redacted', () => {
    const base: EmailDocument = {
      messageId: null, from: null, to: [], cc: [], replyTo: [], subject: 'Undelivered', date: null, inReplyTo: [], references: [],
      text: '', html: null, attachments: [], headers: {}, contentType: 'multipart/report', returnedMessage: { messageId: '<x@y>', from: null, subject: 'Card 4111.1111.1111.1111' },
      deliveryStatus: [{ action: 'failed', status: '5.1.1', finalRecipient: 'a@b.example', diagnosticCode: 'smtp; 550 no such user (ref de89 3704 0044 0532 0130 00)' }],
    };
    const doc = redactDocument(base, DEFAULT_REDACTION_POLICY);
    assert.equal(doc.returnedMessage?.subject, 'Card [redacted card ••••1111]');
    assert.equal(doc.deliveryStatus[0]?.diagnosticCode, 'smtp; 550 no such user (ref [redacted IBAN DE••••3000])');
    assertClean(doc);
  });
  test('display names of From, To, Cc (encoded) and Reply-To are redacted, the addresses kept', async () => {
    const doc = await parsedAndRedacted(`${headers(['Subject: hi'])}\n\nhello\n`);
    assert.equal(doc.from?.name, 'Ann [redacted card ••••1111]');
    assert.equal(doc.from?.address, 'ann@customer.example');
    assert.equal(doc.to[0]?.name, 'Pay [redacted IBAN DE••••3000]');
    assert.equal(doc.to[0]?.address, 'support@mailgate.local');
    assert.equal(doc.cc[0]?.name, 'Bob [redacted card ••••1111]');
    assert.equal(doc.replyTo[0]?.name, '[redacted card ••••1111]');
    assertClean(doc);
  });
  test('attachment file names are redacted: plain, RFC 2231 with %-escapes, continuations and encoded words', async () => {
    const part = (disposition: string): string => `--b\nContent-Type: application/octet-stream\nContent-Disposition: ${disposition}\nContent-Transfer-Encoding: base64\n\n${b64('data')}\n`;
    const raw = `${headers(['Subject: files', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'])}\n\n`
      + '--b\nContent-Type: text/plain\n\nsee files\n'
      + part('attachment; filename="card 4111 1111 1111 1111.pdf"')
      + part("attachment; filename*=utf-8''4111%201111%201111%201111.txt")
      + part("attachment; filename*0*=utf-8''4111%201111; filename*1*=%201111%201111.csv")
      + part(`attachment; filename="=?utf-8?B?${b64('de89 3704 0044 0532 0130 00.xlsx')}?="`)
      + '--b--\n';
    const doc = await parsedAndRedacted(raw);
    assert.deepEqual(doc.attachments.map((a) => a.filename), [
      'card [redacted card ••••1111].pdf',
      '[redacted card ••••1111].txt',
      '[redacted card ••••1111].csv',
      '[redacted IBAN DE••••3000].xlsx',
    ]);
    assertClean(doc);
  });
  test('a card split by quoted-printable soft line breaks is redacted after decoding, in text and html', async () => {
    const raw = `${headers(['Subject: qp', 'MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="b"'])}\n\n`
      + '--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncard 4111 11=\n11 1111 11=\n11 end\n'
      + '--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n<p>card 4111<b>11=\n11</b>1111&#49;=\n111 end</p>\n'
      + '--b--\n';
    const doc = await parsedAndRedacted(raw);
    assert.equal(doc.text.trim(), 'card [redacted card ••••1111] end');
    assert.match(doc.html ?? '', /card \[redacted card ••••1111\]<b><\/b> end/);
    assertClean(doc);
  });
  test('the redaction summary counts subject, names, file names and body, once each', async () => {
    const doc = await parsedAndRedacted(`${headers(['Subject: 4111 1111 1111 1111'])}\n\nIBAN de89 3704 0044 0532 0130 00\n`);
    // Subject 1, From 1, Cc 1, Reply-To 1 cards; To 1 and text 1 IBAN.
    assert.deepEqual(doc.redactions, [{ kind: 'card', count: 4 }, { kind: 'iban', count: 2 }]);
  });
  test('a queue that redacts nothing keeps every field as it came', async () => {
    const document = await parseMime(Readable.from([Buffer.from(`${headers(['Subject: 4111 1111 1111 1111'])}\r\n\r\nhi\r\n`.replace(/\r?\n/g, '\r\n'))]), { limits: DEFAULT_LIMITS, sink: discard });
    const kept = redactDocument(document, { kinds: [] });
    assert.equal(kept.subject, '4111 1111 1111 1111');
    assert.deepEqual(kept.redactions, []);
  });
});
