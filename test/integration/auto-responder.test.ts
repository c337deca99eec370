/**
 * Mail loops: a real SMTP server (smtp-server, in this process) stands in for a customer's mail
 * system whose auto-responder answers every message it receives, Mailgate's acknowledgements
 * included, by posting its answer back to Mailgate's ingress. The exchange must stop by itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort, startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';

type Style = 'rfc3834' | 'plain-reply' | 'no-references';

interface Responder {
  received: { to: string; subject: string; messageId: string }[];
  answered: string[];
  style: Style;
}

describe('an external auto-responder that answers everything', () => {
  let app: RunningApp;
  let server: SMTPServer;
  const responder: Responder = { received: [], answered: [], style: 'rfc3834' };

  before(async () => {
    const port = await freePort();
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, callback) {
        simpleParser(stream)
          .then(async (mail) => {
            const to = session.envelope.rcptTo[0]?.address ?? '';
            const messageId = mail.messageId ?? '';
            responder.received.push({ to, subject: mail.subject ?? '', messageId });
            callback();
            // Answer as the customer's vacation responder would, to Mailgate's inbound address.
            const headers: Record<string, string> = responder.style === 'rfc3834' ? { 'Auto-Submitted': 'auto-replied' } : {};
            const reply = await compose({
              from: to,
              to: 'support@mailgate.local',
              subject: responder.style === 'no-references' ? `I am away ${unique('s')}` : `Re: ${mail.subject ?? ''}`,
              messageId: `<${unique('away')}@customer.example>`,
              ...(responder.style === 'no-references' ? {} : { inReplyTo: messageId, references: [messageId] }),
              headers,
              text: 'I am away until next week.',
            });
            const posted = await postMime(app.url, reply);
            for (const email of posted.body.emails ?? []) responder.answered.push(email.workflowId);
          })
          .catch((error: unknown) => callback(error instanceof Error ? error : new Error(String(error))));
      },
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    app = await startApp({
      env: { SMTP_PORT: String(port), MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/email-rules.json') },
    });
  });
  after(async () => {
    await app?.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function converse(style: Style): Promise<{ acks: number; answers: number; outcomes: string[] }> {
    responder.style = style;
    const customer = `${unique(style)}@customer.example`;
    const start = { received: responder.received.length, answered: responder.answered.length };
    const first = await postMime(app.url, await compose({ from: customer, to: 'support@mailgate.local', subject: `Help ${style}`, messageId: `<${unique('m')}@customer.example>`, text: 'x' }));
    assert.equal(first.status, 202);
    // Let the exchange run its course, then check it has stopped: nothing new for 6 s.
    let last = -1;
    for (let i = 0; i < 60 && last !== responder.received.length + responder.answered.length; i++) {
      last = responder.received.length + responder.answered.length;
      await new Promise((r) => setTimeout(r, 6_000));
    }
    const workflowIds = [first.body.emails![0]!.workflowId, ...responder.answered.slice(start.answered)];
    const views = await Promise.all(workflowIds.map((id) => settled(app.url, id, 90_000)));
    return {
      acks: responder.received.slice(start.received).filter((m) => m.to === customer).length,
      answers: responder.answered.length - start.answered,
      outcomes: views.map((v) => v.state?.outcome ?? 'unknown'),
    };
  }

  test('a responder that marks its answers (Auto-Submitted) gets one acknowledgement and the exchange stops', async () => {
    const result = await converse('rfc3834');
    assert.equal(result.acks, 1);
    assert.equal(result.answers, 1);
    assert.deepEqual(result.outcomes, ['ticket_created', 'note_added']);
  });

  test('a responder that answers with a plain reply (no automation headers) gets one acknowledgement and the exchange stops', async () => {
    const result = await converse('plain-reply');
    assert.equal(result.acks, 1);
    assert.equal(result.answers, 1);
    assert.deepEqual(result.outcomes, ['ticket_created', 'comment_added']);
  });

  test('a responder that strips every reference is stopped by the acknowledgement rate limit', async () => {
    const result = await converse('no-references');
    // email-rules.json allows 2 acknowledgements per recipient per hour.
    assert.ok(result.acks <= 2, `${result.acks} acknowledgements`);
    assert.ok(result.answers <= 2, `${result.answers} answers`);
  });
});
