import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSmtpMailer } from '../../src/adapters/mailer';
import { config, unique } from '../helpers/stack';
import { mailMatching } from '../helpers/maildev';

test('a message sent with nodemailer arrives at the SMTP server with its Message-ID and headers', async () => {
  const mailer = createSmtpMailer(config.smtp);
  await mailer.verify();
  const id = unique('smtp');
  const messageId = `<${id}@mailgate.local>`;
  const result = await mailer.send({
    from: 'Mailgate <support@mailgate.local>',
    to: 'customer@example.org',
    subject: `Stack check ${id}`,
    text: 'Hello from the stack check.',
    messageId,
    inReplyTo: '<original@example.org>',
    references: ['<original@example.org>'],
    headers: { 'Auto-Submitted': 'auto-replied' },
  });
  assert.deepEqual(result.accepted, ['customer@example.org']);
  const [mail] = await mailMatching('the message in MailDev', (m) => m.subject === `Stack check ${id}`);
  assert.ok(mail);
  assert.equal(mail.messageId, messageId.slice(1, -1));
  assert.equal(mail.headers['auto-submitted'], 'auto-replied');
  assert.equal(mail.to[0]?.address, 'customer@example.org');
  assert.match(mail.text ?? '', /Hello from the stack check/);
});

test('an unreachable SMTP server is a transient SmtpUnavailable failure', async () => {
  const mailer = createSmtpMailer({ ...config.smtp, port: 9 });
  await assert.rejects(
    mailer.send({ from: 'a@mailgate.local', to: 'b@example.org', subject: 's', text: 't', messageId: '<x@mailgate.local>' }),
    { type: 'SmtpUnavailable' },
  );
});
