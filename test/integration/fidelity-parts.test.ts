/**
 * Issue 14, classes 3 and 5, through the real API and worker (object store, scanner, ticket store):
 * the files inside a winmail.dat and a forwarded message are the ticket's attachments next to the
 * container, scanned and linked like any part; an unnamed image is `image.png`; a calendar
 * invitation shows its summary in the ticket text; a signed message's note reaches the ticket and
 * the email's reasons; a reply's file named like one already on the ticket is numbered.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { containerFixture } from '../helpers/parse-fixture';
import { settled, ticket, type TicketView } from '../helpers/pipeline';
import { unique } from '../helpers/stack';

/** A container fixture with a From and Message-ID of this run, so no earlier run's ticket is found. */
function fixtureMail(name: string, id: string): Buffer {
  const text = containerFixture(name)
    .toString('latin1')
    .replace(/^Message-ID: <[^>]*>/im, `Message-ID: <${id}@customer.example>`)
    .replace(/^From: .*$/im, `From: Ann <${id}@customer.example>`);
  return Buffer.from(text, 'latin1');
}

async function ticketFor(app: RunningApp, raw: Buffer): Promise<{ t: TicketView; reasons: string[] }> {
  const posted = await postMime(app.url, raw);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  const view = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
  assert.equal(view.state?.outcome, 'ticket_created', JSON.stringify(view.state));
  return { t: await ticket(app.url, view.state!.ticketId!), reasons: view.state!.reasons };
}

describe('parts and containers through the real pipeline', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp();
  });
  after(async () => {
    await app?.stop();
  });

  test('a winmail.dat mail gives a ticket whose attachments are the files inside it, scanned and linked, with the container kept', async () => {
    const { t, reasons } = await ticketFor(app, fixtureMail('winmail.eml', unique('winmail')));
    const files = t.comments[0]!.attachments;
    assert.deepEqual(
      files.map((a) => a.filename),
      ['winmail.dat', 'AUTHORS', 'README'],
    );
    for (const file of files) {
      assert.equal(file.scanStatus, 'clean', `${file.filename}: ${file.scanDetail}`);
      assert.notEqual(file.link, null, `${file.filename} is linked`);
    }
    assert.equal(files[1]!.size, 244);
    assert.equal(files[2]!.size, 893);
    const note = t.comments.find((c) => c.internal && c.author === 'mailgate');
    assert.match(note?.text ?? '', /Unpacked 2 file\(s\) from "winmail\.dat"/);
    assert.ok(reasons.some((r) => r.startsWith('Unpacked 2 file(s)')), JSON.stringify(reasons));
  });

  test("a forwarded message's attachments are attachments of the ticket too, scanned like any part, the .eml kept", async () => {
    const { t } = await ticketFor(app, fixtureMail('forwarded-with-attachments.eml', unique('forward')));
    const files = t.comments[0]!.attachments;
    assert.deepEqual(
      files.map((a) => a.filename),
      ['invoice.pdf', 'Re_ Invoice 03_2026 – für Ann.eml', 'invoice (2).pdf', 'image.png', 'Original quote.eml', 'quote.pdf'],
    );
    for (const file of files) assert.notEqual(file.scanStatus, 'pending', file.filename);
    assert.equal(files[2]!.sha256, files[0]!.sha256, 'the forwarded invoice is the same file as the attached one');
    const note = t.comments.find((c) => c.internal && c.author === 'mailgate');
    assert.match(note?.text ?? '', /Listed 4 attachment\(s\) of the forwarded message "Re_ Invoice 03_2026 – für Ann\.eml"/);
  });

  test('unnamed parts are named by their type, once each: image.png, image (2).png, document.pdf', async () => {
    const { t } = await ticketFor(app, fixtureMail('unnamed-parts.eml', unique('unnamed')));
    const names = t.comments[0]!.attachments.map((a) => a.filename);
    assert.deepEqual(names.slice(0, 4), ['image.png', 'image (2).png', 'document.pdf', 'document.html']);
    assert.ok(!names.some((n) => n.startsWith('attachment-')), names.join(', '));
  });

  test('a calendar invitation shows its summary, time and place in the ticket text, and the .ics is attached', async () => {
    const { t } = await ticketFor(app, fixtureMail('calendar-only.eml', unique('invite')));
    const comment = t.comments[0]!;
    assert.match(comment.text, /Calendar invitation: Quarterly review of the support contract, with the whole team/);
    assert.match(comment.text, /When: 2026-12-10 14:00 \(Europe\/Berlin\) to 2026-12-10 15:30 \(Europe\/Berlin\)/);
    assert.match(comment.text, /Where: Room 4; second floor/);
    assert.deepEqual(
      comment.attachments.map((a) => a.filename),
      ['calendar.ics'],
    );
  });

  test('an S/MIME signed message shows its text, keeps smime.p7s, and says on the ticket that the signature was not verified', async () => {
    const { t, reasons } = await ticketFor(app, fixtureMail('smime-signed.eml', unique('signed')));
    assert.match(t.comments[0]!.text, /Please ship order 1234\./);
    assert.deepEqual(
      t.comments[0]!.attachments.map((a) => a.filename),
      ['smime.p7s'],
    );
    const note = t.comments.find((c) => c.internal && c.author === 'mailgate');
    assert.match(note?.text ?? '', /Signed with S\/MIME; the signature \(kept as an attachment\) was not verified\./);
    assert.ok(reasons.some((r) => r.startsWith('Signed with S/MIME')), JSON.stringify(reasons));
  });

  test("a reply's files are named uniquely within the ticket: a second image.png and an unnamed PNG become image (2).png and image (3).png", async () => {
    const id = unique('ticketnames');
    const from = `${id}@customer.example`;
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const { t: opened } = await ticketFor(
      app,
      await compose({ from, to: 'support@mailgate.local', subject: `Screen ${id}`, messageId: `<${id}.1@customer.example>`, text: 'see image', attachments: [{ filename: 'image.png', content: png }] }),
    );
    // Written by hand: mail composers invent a name for an unnamed part.
    const b64 = png.toString('base64');
    const reply = [
      `From: ${from}`,
      'To: support@mailgate.local',
      `Subject: Re: Screen ${id}`,
      `Message-ID: <${id}.2@customer.example>`,
      `In-Reply-To: <${id}.1@customer.example>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'two more',
      '--b',
      'Content-Type: image/png; name="image.png"',
      'Content-Disposition: attachment; filename="image.png"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b',
      'Content-Type: image/png',
      'Content-Disposition: attachment',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b--',
      '',
    ].join('\r\n');
    const posted = await postMime(app.url, reply);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const view = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
    assert.equal(view.state?.outcome, 'comment_added', JSON.stringify(view.state));
    assert.equal(view.state?.ticketId, opened.id);
    const names = (await ticket(app.url, opened.id)).comments.flatMap((c) => c.attachments.map((a) => a.filename));
    assert.deepEqual(names, ['image.png', 'image (2).png', 'image (3).png']);
  });
});
