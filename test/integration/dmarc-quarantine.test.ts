/**
 * SMTP_INGRESS_DMARC_ACTION=quarantine end to end (issue 16): a real smtp-server listener with DNS
 * from a zone the test controls hands a DMARC failure of a p=reject domain to a running worker and
 * API. The email waits at `quarantine` with nothing done for it; the operator CLI releases one into
 * the normal path (ticket and acknowledgement) and discards another (recorded with the reason).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { acceptEmailSettings, createAcceptEmail } from '../../src/ingress/accept-email';
import { createSmtpIngress } from '../../src/ingress/smtp/listener';
import { createLogger } from '../../src/logger';
import { operatorCli } from '../helpers/operator-cli';
import { startApp, type RunningApp } from '../helpers/app';
import { txt, zoneResolver } from '../helpers/dns-zone';
import { compose, getJson } from '../helpers/mail';
import { mailMatching, receivedMail } from '../helpers/maildev';
import { settled, type EmailView } from '../helpers/pipeline';
import { config, eventually, unique } from '../helpers/stack';

const MX = 'mx.mailgate.test';

describe('a DMARC failure under p=reject, quarantined at the MX', () => {
  let app: RunningApp;
  let connection: Connection;
  let mx: SMTPServer;
  let port: number;
  const accepted: string[] = [];

  before(async () => {
    app = await startApp();
    connection = await Connection.connect({ address: config.temporal.address });
    const temporal = new Client({ connection, namespace: config.temporal.namespace });
    const base = acceptEmailSettings(config);
    // The loopback client is not in strict.example's SPF and the mail is unsigned: DMARC fails.
    const zone = zoneResolver({
      'strict.example': { TXT: [txt('v=spf1 ip4:192.0.2.10 -all')] },
      '_dmarc.strict.example': { TXT: [txt('v=DMARC1; p=reject')] },
    });
    const accept = createAcceptEmail({
      ...base,
      taskQueue: app.taskQueue,
      store: createS3ObjectStore(config.s3),
      temporal,
      clashes: { recordMessageIdClash: async () => undefined },
      log: createLogger({ process: 'test' }, 'warn'),
    });
    mx = createSmtpIngress({
      settings: { ...config.smtpIngress, host: '127.0.0.1', port: 0, hostname: MX, authservId: MX, tls: undefined, auth: undefined, proxyFrom: [], dmarcAction: 'quarantine' },
      acceptEmail: () => async (raw, envelope, source, options) => {
        const answer = await accept(raw, envelope, source, options);
        if (answer.answer === 'accepted') accepted.push(...answer.workflowIds);
        return answer;
      },
      recipients: () => base.recipients,
      maxMessageBytes: base.limits.maxMessageBytes,
      trustedAuthservIds: [MX],
      resolver: zone.resolver,
      log: createLogger({ process: 'test' }, 'warn'),
    });
    await new Promise<void>((resolve) => mx.listen(0, '127.0.0.1', () => resolve()));
    port = (mx.server.address() as AddressInfo).port;
  });

  after(async () => {
    await new Promise<void>((resolve) => mx?.close(() => resolve()));
    await connection?.close();
    await app?.stop();
  });

  const cli = (...args: string[]) => operatorCli(app.url, ...args);

  async function sendForged(): Promise<{ workflowId: string; customer: string }> {
    const id = unique('spoof');
    const customer = `${id}@strict.example`;
    const raw = await compose({ from: customer, to: 'support@mailgate.local', subject: `Wire transfer ${id}`, messageId: `<${id}@strict.example>`, text: 'please pay' });
    const before = accepted.length;
    const info = await nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true }).sendMail({ envelope: { from: customer, to: ['support@mailgate.local'] }, raw });
    assert.match(info.response, /^250 /);
    assert.equal(accepted.length, before + 1);
    return { workflowId: accepted.at(-1)!, customer };
  }

  const held = (workflowId: string) =>
    eventually(
      `${workflowId} to wait in quarantine`,
      async () => {
        const { body } = await getJson<EmailView>(`${app.url}/v1/emails/${workflowId}`);
        return body.state?.parked?.step === 'quarantine' && body.searchAttributes.ParkedStep === 'quarantine' ? body : undefined;
      },
      60_000,
    );

  test('it waits at quarantine with no ticket and no acknowledgement; released by the CLI it opens one ticket and is acknowledged once', async () => {
    const { workflowId, customer } = await sendForged();
    const view = await held(workflowId);
    assert.equal(view.searchAttributes.ErrorType, 'Quarantined');
    assert.match(view.state?.parked?.message ?? '', /DMARC failed for strict\.example, whose policy is p=reject/);
    assert.equal(view.state?.ticketId, null);
    const listed = await cli('emails', 'list', '--status', 'parked');
    assert.match(listed.stdout, new RegExp(`${workflowId}.*quarantine\\tQuarantined`));
    assert.equal((await receivedMail()).filter((m) => m.to.some((to) => to.address === customer)).length, 0, 'no acknowledgement while held');

    const released = await cli('emails', 'reprocess', workflowId);
    assert.equal(released.code, 0, released.stdout);
    const done = await settled(app.url, workflowId);
    assert.equal(done.state?.outcome, 'ticket_created');
    assert.ok(done.state?.ticketId);
    assert.ok(done.state?.evidence.some((e) => e.startsWith('quarantine: DMARC failed for strict.example')), done.state?.evidence.join('; '));
    const acks = await mailMatching(`the acknowledgement to ${customer}`, (m) => m.to.some((to) => to.address === customer));
    assert.equal(acks.length, 1);
  });

  test('discarded by the CLI it ends as discarded with the reason; nothing was parsed or sent', async () => {
    const { workflowId, customer } = await sendForged();
    await held(workflowId);
    const discarded = await cli('emails', 'discard', workflowId, '--reason', 'spoofed payment request');
    assert.equal(discarded.code, 0, discarded.stdout);
    const done = await settled(app.url, workflowId);
    assert.equal(done.state?.outcome, 'discarded');
    assert.match(done.state?.reasons.join(' ') ?? '', /while parked at quarantine: spoofed payment request/);
    assert.equal(done.state?.subject, null, 'never parsed');
    assert.equal((await receivedMail()).filter((m) => m.to.some((to) => to.address === customer)).length, 0);
  });
});
