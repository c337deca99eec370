/**
 * The pipeline end to end through the real stack: the API and worker processes, the Temporal dev
 * server, SeaweedFS, clamd, MailDev, and the ticket store on SQLite and on PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { signedAttachmentLink } from '../../src/api/attachment-links';
import { loadConfig } from '../../src/config';
import { startApp, type RunningApp } from '../helpers/app';
import { mailMatching } from '../helpers/maildev';
import { apiFetch, compose, fixture, postMime } from '../helpers/mail';
import { historyBytes, settled, ticket } from '../helpers/pipeline';
import { eicar } from '../helpers/samples';
import { postgresUrl, unique } from '../helpers/stack';

/** A small but real PDF file (PDF 1.4, one empty page). */
function pdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
      '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
  );
}

const backends: { name: string; databaseUrl: () => string | undefined }[] = [
  { name: 'SQLite (embedded default)', databaseUrl: () => undefined },
  {
    name: 'PostgreSQL',
    databaseUrl: postgresUrl,
  },
];

for (const backend of backends) {
  describe(`the pipeline with the ticket store on ${backend.name}`, () => {
    let app: RunningApp;
    before(async () => {
      app = await startApp({ databaseUrl: backend.databaseUrl() });
    });
    after(async () => {
      await app?.stop();
    });

    test('a multipart email with text, HTML and a PDF becomes a ticket whose link downloads the same bytes, and is acknowledged', async () => {
      const id = unique('multipart');
      const customer = `${id}@customer.example`;
      const attachment = pdf();
      const raw = await compose({
        from: `Ada Customer <${customer}>`,
        to: 'support@mailgate.local',
        subject: `Printer on fire ${id}`,
        messageId: `<${id}@customer.example>`,
        text: 'The printer is on fire. Invoice attached.',
        html: '<p>The printer is <b>on fire</b>.</p><script>alert(1)</script><img src="https://tracker.example/p.gif">',
        attachments: [{ filename: 'invoice.pdf', content: attachment, contentType: 'application/pdf' }],
      });
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      assert.equal(posted.body.emails?.length, 1);
      const email = posted.body.emails?.[0];
      assert.equal(email?.status, 'accepted');
      assert.equal(email?.recipient, 'support@mailgate.local');
      assert.match(email?.workflowId ?? '', /^inbound-email\/[0-9a-f]{64}$/);

      const view = await settled(app.url, email!.workflowId);
      assert.equal(view.state?.outcome, 'ticket_created');
      assert.equal(view.searchAttributes.EmailStatus, 'ticket_created');
      assert.equal(view.searchAttributes.RecipientQueue, 'support@mailgate.local');
      assert.equal(view.searchAttributes.TicketId, view.state?.ticketId);

      const t = await ticket(app.url, view.state!.ticketId!);
      assert.equal(t.subject, `Printer on fire ${id}`);
      assert.equal(t.requester, customer);
      assert.equal(t.queue, 'support@mailgate.local');
      assert.equal(t.status, 'open');
      assert.equal(t.comments.length, 1);
      const [comment] = t.comments;
      assert.match(comment!.text, /The printer is on fire/);
      assert.match(comment!.html ?? '', /<b>on fire<\/b>/);
      assert.doesNotMatch(comment!.html ?? '', /script|tracker\.example/);
      const [file] = comment!.attachments;
      assert.equal(file?.filename, 'invoice.pdf');
      assert.equal(file?.scanStatus, 'clean');
      assert.equal(file?.size, attachment.length);
      assert.equal(file?.sha256, createHash('sha256').update(attachment).digest('hex'));
      // The link is signed: an agent opens it with no admin token.
      assert.match(file!.link!, /\/v1\/attachment-links\/[^?]+\?expires=\d+&signature=[0-9a-f]{64}$/);
      const redirect = await fetch(file!.link!, { redirect: 'manual' });
      assert.equal(redirect.status, 302);
      const tampered = new URL(file!.link!);
      tampered.searchParams.set('expires', String(Number(tampered.searchParams.get('expires')) + 3600));
      const refused = await fetch(tampered, { redirect: 'manual' });
      assert.equal(refused.status, 403);
      assert.match(((await refused.json()) as { reason: string }).reason, /signature does not match/);
      const expired = signedAttachmentLink(app.url, { ...loadConfig().attachmentLinks, ttlSeconds: 1 }, file!.id, Date.now() - 60_000);
      const late = await fetch(expired, { redirect: 'manual' });
      assert.equal(late.status, 403);
      assert.match(((await late.json()) as { reason: string }).reason, /expired/);
      assert.match(redirect.headers.get('location') ?? '', /X-Amz-Expires=\d+/);
      const download = await fetch(redirect.headers.get('location')!);
      assert.deepEqual(Buffer.from(await download.arrayBuffer()), attachment);

      const [ack] = await mailMatching('the acknowledgement', (m) => m.to.some((to) => to.address === customer));
      assert.ok(ack);
      assert.match(ack.subject, new RegExp(`^\\[MG-${t.number}\\] Printer on fire`));
      assert.equal(ack.headers['auto-submitted'], 'auto-replied');
      assert.equal(ack.headers['x-auto-response-suppress'], 'All');
      assert.equal(ack.headers['in-reply-to'], `<${id}@customer.example>`);
      assert.match(String(ack.headers.references), new RegExp(`<${id}@customer\\.example>`));
      assert.equal(ack.messageId, view.state?.acknowledgement?.messageId);
    });

    test('a reply to the original and a reply to the acknowledgement both become comments on the same ticket', async () => {
      const id = unique('thread');
      const customer = `${id}@customer.example`;
      const original = `${id}@customer.example`;
      const first = await postMime(
        app.url,
        await compose({ from: customer, to: 'support@mailgate.local', subject: `VPN down ${id}`, messageId: `<${original}>`, text: 'VPN is down.' }),
      );
      const firstView = await settled(app.url, first.body.emails![0]!.workflowId);
      const ticketId = firstView.state!.ticketId!;
      const ackId = firstView.state!.acknowledgement!.messageId;

      const reply = await postMime(
        app.url,
        await compose({
          from: customer,
          to: 'support@mailgate.local',
          subject: `Re: VPN down ${id}`,
          messageId: `<reply1.${original}>`,
          inReplyTo: `<${original}>`,
          references: [`<${original}>`],
          text: 'Still down.',
        }),
      );
      const replyView = await settled(app.url, reply.body.emails![0]!.workflowId);
      assert.equal(replyView.state?.outcome, 'comment_added');
      assert.equal(replyView.state?.ticketId, ticketId);
      assert.equal(replyView.state?.threadedOn, original);
      assert.equal(replyView.state?.acknowledgement, null);

      const toAck = await postMime(
        app.url,
        await compose({
          from: customer,
          to: 'support@mailgate.local',
          subject: `Re: [MG-${firstView.state!.ticketNumber}] VPN down ${id}`,
          messageId: `<reply2.${original}>`,
          inReplyTo: `<${ackId}>`,
          references: [`<${original}>`, `<${ackId}>`],
          text: 'Thanks, and it is back now.',
        }),
      );
      const ackReplyView = await settled(app.url, toAck.body.emails![0]!.workflowId);
      assert.equal(ackReplyView.state?.outcome, 'comment_added');
      assert.equal(ackReplyView.state?.ticketId, ticketId);
      assert.equal(ackReplyView.state?.threadedOn, ackId);

      const t = await ticket(app.url, ticketId);
      assert.deepEqual(
        t.comments.map((c) => c.text.trim()),
        ['VPN is down.', 'Still down.', 'Thanks, and it is back now.'],
      );
      const acks = await mailMatching('acknowledgements to the customer', (m) => m.to.some((to) => to.address === customer));
      assert.equal(acks.length, 1, 'replies are never acknowledged');
    });

    test('the same email posted twice, and twice concurrently, makes one ticket and one acknowledgement', async () => {
      const id = unique('dup');
      const customer = `${id}@customer.example`;
      const raw = await compose({ from: customer, to: 'support@mailgate.local', subject: `Twice ${id}`, messageId: `<${id}@c.example>`, text: 'once' });
      const first = await postMime(app.url, raw);
      const second = await postMime(app.url, raw);
      assert.equal(first.body.emails?.[0]?.status, 'accepted');
      assert.equal(second.body.emails?.[0]?.status, 'duplicate');
      assert.equal(second.body.emails?.[0]?.workflowId, first.body.emails?.[0]?.workflowId);
      await settled(app.url, first.body.emails![0]!.workflowId);
      const third = await postMime(app.url, raw);
      assert.equal(third.body.emails?.[0]?.status, 'duplicate', 'a completed email is not run again');

      const concurrentId = unique('concurrent');
      const concurrentRaw = await compose({
        from: customer,
        to: 'support@mailgate.local',
        subject: `Concurrent ${concurrentId}`,
        messageId: `<${concurrentId}@c.example>`,
        text: 'at once',
      });
      const results = await Promise.all(Array.from({ length: 5 }, () => postMime(app.url, concurrentRaw)));
      assert.deepEqual(results.map((r) => r.status), [202, 202, 202, 202, 202]);
      const statuses = results.map((r) => r.body.emails?.[0]?.status).sort();
      assert.deepEqual(statuses, ['accepted', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
      await settled(app.url, results[0]!.body.emails![0]!.workflowId);

      const list = await apiFetch(`${app.url}/v1/tickets?requester=${encodeURIComponent(customer)}`);
      const page = (await list.json()) as { tickets: { subject: string }[] };
      assert.deepEqual(page.tickets.map((t) => t.subject).sort(), [`Concurrent ${concurrentId}`, `Twice ${id}`]);
      const acks = await mailMatching('acknowledgements', (m) => m.to.some((to) => to.address === customer));
      assert.equal(acks.length, 2);
    });

    test('an attachment holding the EICAR test string is quarantined and flagged, and the ticket is still created', async () => {
      const id = unique('eicar');
      const raw = await compose({
        from: `${id}@customer.example`,
        to: 'support@mailgate.local',
        subject: `Files ${id}`,
        messageId: `<${id}@c.example>`,
        text: 'Two files.',
        attachments: [
          { filename: 'notes.txt', content: 'harmless notes' },
          { filename: 'tool.com', content: Buffer.concat([Buffer.from('header '), eicar()]) },
        ],
      });
      const posted = await postMime(app.url, raw);
      const view = await settled(app.url, posted.body.emails![0]!.workflowId);
      assert.equal(view.state?.outcome, 'ticket_created');
      assert.deepEqual(
        view.state?.attachments.map((a) => [a.filename, a.status]),
        [['notes.txt', 'clean'], ['tool.com', 'infected']],
      );
      assert.ok(view.state?.reasons.some((r) => r.includes('tool.com') && r.includes('Mailgate.Test.EICAR')));
      const t = await ticket(app.url, view.state!.ticketId!);
      const files = t.comments[0]!.attachments;
      const infected = files.find((f) => f.filename === 'tool.com');
      assert.equal(infected?.scanStatus, 'infected');
      assert.equal(infected?.link, null, 'a quarantined file is never linked');
      assert.match(infected?.scanDetail ?? '', /Mailgate\.Test\.EICAR/);
      const notes = files.find((f) => f.filename === 'notes.txt');
      assert.ok(notes?.link);
      assert.match(notes?.scanDetail ?? '', /^clean \(ClamAV \d+\.\d+[^)]*\)$/, 'a clean file says what scanned it');
      const note = t.comments.find((c) => c.internal);
      assert.match(note?.text ?? '', /"tool\.com" was quarantined: the virus scanner found Mailgate\.Test\.EICAR/);
      const direct = await apiFetch(`${app.url}/v1/attachments/${infected!.id}`, { redirect: 'manual' });
      assert.equal(direct.status, 410);
      // Even a correctly signed link to it (none is ever handed out) leads nowhere.
      const signed = await fetch(signedAttachmentLink(app.url, loadConfig().attachmentLinks, infected!.id), { redirect: 'manual' });
      assert.equal(signed.status, 410);
    });

    test('an inline cid: image points at its attachment link in the ticket; a quarantined one loses its source', async () => {
      const id = unique('inline');
      const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
      const raw = await compose({
        from: `${id}@customer.example`,
        to: 'support@mailgate.local',
        subject: `Screenshot ${id}`,
        messageId: `<${id}@c.example>`,
        html: '<p>See <img src="cid:shot@mail"> and <img src="cid:bad@mail"></p>',
        attachments: [
          { filename: 'shot.png', content: png, contentType: 'image/png', cid: 'shot@mail' },
          { filename: 'bad.png', content: Buffer.concat([png, eicar()]), contentType: 'image/png', cid: 'bad@mail' },
        ],
      });
      const view = await settled(app.url, (await postMime(app.url, raw)).body.emails![0]!.workflowId);
      const t = await ticket(app.url, view.state!.ticketId!);
      const [comment] = t.comments;
      const shot = comment!.attachments.find((a) => a.filename === 'shot.png');
      assert.ok(shot?.link);
      assert.ok(comment!.html?.includes(`src="${shot.link}"`), comment!.html ?? '');
      assert.doesNotMatch(comment!.html ?? '', /cid:/);
    });

    test('ISO-8859-1 and ISO-2022-JP subjects and bodies arrive as correct text in the ticket', async () => {
      const latin = await postMime(app.url, fixture('iso-8859-1.eml', `${unique('latin1')}@example.fr`));
      const japanese = await postMime(app.url, fixture('iso-2022-jp.eml', `${unique('jp')}@example.jp`));
      const latinTicket = await ticket(app.url, (await settled(app.url, latin.body.emails![0]!.workflowId)).state!.ticketId!);
      const jpTicket = await ticket(app.url, (await settled(app.url, japanese.body.emails![0]!.workflowId)).state!.ticketId!);
      assert.equal(latinTicket.subject, 'Réclamation: facture n° 42 - déjà payée?');
      assert.match(latinTicket.comments[0]!.text, /J'ai déjà payé la facture n° 42/);
      assert.match(latinTicket.comments[0]!.text, /Ça me coûte du temps\.\s+François Müller/);
      assert.equal(jpTicket.subject, 'お問い合わせ：請求書について');
      assert.match(jpTicket.comments[0]!.text, /請求書の金額が間違っているようです。/);
      assert.match(jpTicket.comments[0]!.text, /山田太郎/);
    });

    test('a mail with a 20 MB attachment leaves a workflow history under 100 KB and its attachment intact', async () => {
      const id = unique('large');
      const big = randomBytes(20 * 1024 * 1024);
      const raw = await compose({
        from: `${id}@customer.example`,
        to: 'support@mailgate.local',
        subject: `Big file ${id}`,
        messageId: `<${id}@c.example>`,
        text: 'A large log file.',
        attachments: [{ filename: 'server.log.gz', content: big, contentType: 'application/gzip' }],
      });
      const started = Date.now();
      const posted = await postMime(app.url, raw);
      assert.equal(posted.status, 202);
      const view = await settled(app.url, posted.body.emails![0]!.workflowId, 120_000);
      const elapsed = Date.now() - started;
      const bytes = await historyBytes(posted.body.emails![0]!.workflowId);
      assert.ok(bytes < 100 * 1024, `history is ${bytes} bytes`);
      const t = await ticket(app.url, view.state!.ticketId!);
      const file = t.comments[0]!.attachments[0]!;
      assert.equal(file.size, big.length);
      assert.equal(file.sha256, createHash('sha256').update(big).digest('hex'));
      process.stdout.write(`# ${backend.name}: 20 MB email POST→ticket ${elapsed} ms, history ${bytes} bytes\n`);
    });
  });
}
