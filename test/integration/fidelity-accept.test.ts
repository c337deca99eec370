/**
 * Issue 14, classes 1 and 4 through the real API and worker: mail that begins with an mbox separator
 * or blank lines, and a body without headers, become tickets with the right subject and requester;
 * bytes plainly not mail are refused with the reason; a uuencoded file arrives as the file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startApp, type RunningApp } from '../helpers/app';
import { postMime } from '../helpers/mail';
import { settled, ticket } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';

const FIXTURES = path.join(ROOT, 'test/fixtures/fidelity-accept');
const REPORT = readFileSync(path.join(FIXTURES, 'report.bin'));
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A fixture with a Message-ID and subject of this run, so reruns make new tickets. */
function uuFixture(name: string, id: string): Buffer {
  const text = readFileSync(path.join(FIXTURES, name), 'latin1')
    .replace(/^Message-ID: <[^>]*>/im, `Message-ID: <${id}@customer.example>`)
    .replace(/^Subject: (.*)$/im, `Subject: $1 ${id}`);
  return Buffer.from(text, 'latin1');
}

async function ticketOf(app: RunningApp, raw: Buffer | string, headers: Record<string, string> = {}) {
  const posted = await postMime(app.url, raw, headers);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const view = await settled(app.url, posted.body.emails![0]!.workflowId);
  assert.equal(view.state?.outcome, 'ticket_created');
  return ticket(app.url, view.state!.ticketId!);
}

/** The bytes behind an attachment's signed link. */
async function download(link: string): Promise<Buffer> {
  const redirect = await fetch(link, { redirect: 'manual' });
  assert.equal(redirect.status, 302);
  return Buffer.from(await (await fetch(redirect.headers.get('location')!)).arrayBuffer());
}

describe('real mail accepted, legacy encodings decoded, through the pipeline', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/no-wait.json') } });
  });
  after(async () => {
    await app?.stop();
  });

  test('a message that begins with an mbox From_ line becomes a ticket with its subject and sender', async () => {
    const id = unique('mbox');
    const raw = `From ann@customer.example Mon Jan  1 00:00:00 2001\nFrom: Ann Customer <${id}@customer.example>\nTo: support@mailgate.local\nSubject: Printer jam ${id}\nMessage-ID: <${id}@customer.example>\n\nThe printer jams.\n`;
    const t = await ticketOf(app, raw);
    assert.equal(t.subject, `Printer jam ${id}`);
    assert.equal(t.requester, `${id}@customer.example`);
    assert.match(t.comments[0]!.text, /^The printer jams\./);
  });

  test('a message with blank lines before its headers becomes a ticket with its subject and sender', async () => {
    const id = unique('blank');
    const raw = `\r\n\r\nFrom: Ann Customer <${id}@customer.example>\r\nTo: support@mailgate.local\r\nSubject: Scanner offline ${id}\r\nMessage-ID: <${id}@customer.example>\r\n\r\nThe scanner is offline.\r\n`;
    const t = await ticketOf(app, raw);
    assert.equal(t.subject, `Scanner offline ${id}`);
    assert.equal(t.requester, `${id}@customer.example`);
    assert.match(t.comments[0]!.text, /^The scanner is offline\./);
  });

  test('a body without headers, piped with an envelope, becomes a ticket from the envelope sender', async () => {
    const id = unique('bare');
    const t = await ticketOf(app, `Please call me back about ${id}.\n`, {
      'x-envelope-to': 'support@mailgate.local',
      'x-envelope-from': `${id}@customer.example`,
    });
    assert.equal(t.requester, `${id}@customer.example`);
    assert.equal(t.subject, '(no subject)');
    assert.match(t.comments[0]!.text, new RegExp(`^Please call me back about ${id}\\.`));
  });

  test('a JSON document posted as a message is refused with 400 and says so', async () => {
    const posted = await postMime(app.url, '{"from":"ann@customer.example","to":"support@mailgate.local"}');
    assert.equal(posted.status, 400);
    assert.equal(posted.body.error, 'not_an_email');
    assert.match(posted.body.reason ?? '', /JSON document/);
  });

  test('an x-uuencode part arrives as the decoded file, scanned and linked', async () => {
    const id = unique('uucte');
    const t = await ticketOf(app, uuFixture('uu-cte-x-uuencode.eml', id));
    const [file] = t.comments[0]!.attachments;
    assert.equal(file?.filename, 'report.bin');
    assert.equal(file?.size, REPORT.length);
    assert.equal(file?.sha256, sha256(REPORT));
    assert.equal(file?.scanStatus, 'clean');
    assert.deepEqual(await download(file!.link!), REPORT);
  });

  test('begin … end blocks in a plain body arrive as files, and the text names them instead', async () => {
    const id = unique('uubody');
    const t = await ticketOf(app, uuFixture('uu-body-two-blocks.eml', id));
    const [comment] = t.comments;
    assert.deepEqual(comment!.attachments.map((a) => a.filename), ['notes.txt', 'report.bin']);
    assert.deepEqual(await download(comment!.attachments[0]!.link!), Buffer.from('Meeting notes\nline two\n'));
    assert.deepEqual(await download(comment!.attachments[1]!.link!), REPORT);
    assert.match(comment!.text, /\[attachment: notes\.txt\][\s\S]*\[attachment: report\.bin\]/);
    assert.doesNotMatch(comment!.text, /^begin 6/m);
  });
});
