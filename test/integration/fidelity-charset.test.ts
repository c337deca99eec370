/**
 * Issue 14, class 2, through the real API and worker: mail whose Subject or From name is raw 8-bit
 * bytes in a legacy charset (no encoded-words) becomes a ticket whose subject and requester name
 * read right, in the ticket and in the acknowledgement the requester gets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startApp, type RunningApp } from '../helpers/app';
import { TEXTS } from '../helpers/legacy-charset-cases';
import { mailMatching } from '../helpers/maildev';
import { postMime } from '../helpers/mail';
import { settled, ticket } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';

/** A charset fixture with its sender and Message-ID made unique for this run (all ASCII, so a latin1 round trip keeps every byte). */
function charsetFixture(file: string, sender: string, newSender: string, messageId: string): Buffer {
  const raw = readFileSync(path.join(ROOT, 'test/fixtures/charset', file)).toString('latin1');
  assert.ok(raw.includes(sender));
  return Buffer.from(raw.replace(sender, newSender).replace(/^Message-ID: <[^>]*>/im, `Message-ID: <${messageId}>`), 'latin1');
}

describe('headers in legacy charsets through the pipeline', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('a mail with a raw GBK subject and no declared charset becomes a ticket with that subject in Chinese', async () => {
    const customer = `${unique('gbk')}@customer.example`;
    const posted = await postMime(app.url, charsetFixture('gbk-undeclared.eml', 'sender@example.net', customer, `${unique('gbk')}@example.cn`));
    assert.equal(posted.status, 202);
    const view = await settled(app.url, posted.body.emails![0]!.workflowId);
    const t = await ticket(app.url, view.state!.ticketId!);
    assert.equal(t.subject, TEXTS.zh.subject);
    assert.equal(t.requester, customer);
    const [ack] = await mailMatching('the acknowledgement', (m) => m.to.some((to) => to.address === customer));
    assert.ok(ack?.subject.endsWith(TEXTS.zh.subject), ack?.subject);
    assert.ok(ack?.text?.includes(TEXTS.zh.name), ack?.text);
  });

  test('a mail whose From name is raw Shift_JIS (with 0x5C trail bytes) greets the requester by that name', async () => {
    const customer = `${unique('sjis')}@customer.example`;
    const posted = await postMime(app.url, charsetFixture('shift_jis-addresses.eml', 'sony@example.jp', customer, `${unique('sjis')}@example.jp`));
    assert.equal(posted.status, 202);
    const view = await settled(app.url, posted.body.emails![0]!.workflowId);
    const t = await ticket(app.url, view.state!.ticketId!);
    assert.equal(t.subject, '表示ソフトの不具合');
    assert.equal(t.requester, customer);
    const [ack] = await mailMatching('the acknowledgement', (m) => m.to.some((to) => to.address === customer));
    assert.ok(ack?.text?.includes('ソニー 表'), ack?.text);
  });
});
