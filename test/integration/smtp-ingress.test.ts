/**
 * Mailgate's own MX against the real test stack (SeaweedFS over S3, the Temporal dev server): a real
 * smtp-server listener on an ephemeral loopback port, driven by nodemailer and by a raw socket for
 * the bytes a well-behaved client never sends. DNS comes from a zone the test controls. No worker
 * polls the task queue: started workflows wait and are terminated at the end. Outages are real: a
 * store or an engine at a loopback port nothing listens on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { createS3ObjectStore, type ObjectStore } from '../../src/adapters/object-store';
import type { SmtpIngressConfig } from '../../src/config';
import { acceptEmailSettings, createAcceptEmail, type AcceptEmailDeps } from '../../src/ingress/accept-email';
import { createSmtpIngress, type SmtpIngressDeps } from '../../src/ingress/smtp/listener';
import { smtpRegistry } from '../../src/ingress/smtp/metrics';
import type { AcceptAnswer } from '../../src/ingress/types';
import type { ProcessInboundEmailInput } from '../../src/workflows/types';
import { createLogger } from '../../src/logger';
import { freePort } from '../helpers/app';
import { workflowExists } from '../helpers/pipeline';
import { txt, zoneResolver } from '../helpers/dns-zone';
import { compose } from '../helpers/mail';
import { RawSmtp } from '../helpers/smtp-client';
import { config, eventually, unique } from '../helpers/stack';
import { makeTlsMaterial } from '../helpers/tls';

const AUTHSERV_ID = 'mx.mailgate.test';
const MAX_BYTES = 64 * 1024;
const taskQueue = unique('smtp-ingress');
const store = createS3ObjectStore(config.s3);
const log = createLogger({ process: 'test' }, 'warn');
const { resolver } = zoneResolver({});
let connection: Connection;
let client: Client;
const started = new Set<string>();
const servers: SMTPServer[] = [];

const settings: SmtpIngressConfig = {
  ...config.smtpIngress,
  host: '127.0.0.1',
  port: 0,
  hostname: AUTHSERV_ID,
  authservId: AUTHSERV_ID,
  tls: undefined,
  auth: undefined,
  proxyFrom: [],
  maxRecipients: 3,
  connectionsPerMinute: 1000,
  messagesPerMinute: 1000,
  socketTimeoutSeconds: 30,
  dmarcAction: 'record',
};

interface Mx {
  port: number;
  answers: AcceptAnswer[];
}

async function startMx(overrides: Partial<SmtpIngressConfig> = {}, accept: Partial<AcceptEmailDeps> = {}, extra: Partial<SmtpIngressDeps> = {}): Promise<Mx> {
  const answers: AcceptAnswer[] = [];
  const base = acceptEmailSettings(config);
  const server = createSmtpIngress({
    settings: { ...settings, ...overrides },
    acceptEmail: () => {
      const inner = createAcceptEmail({
        ...base,
        taskQueue,
        limits: { ...base.limits, maxMessageBytes: MAX_BYTES },
        store,
        temporal: client,
        clashes: { recordMessageIdClash: async () => undefined },
        log,
        startDeadlineMs: 3_000,
        ...accept,
      });
      return async (raw, envelope, source, options) => {
        const answer = await inner(raw, envelope, source, options);
        answers.push(answer);
        if (answer.answer === 'accepted' || answer.answer === 'duplicate') for (const id of answer.workflowIds) started.add(id);
        return answer;
      };
    },
    recipients: () => base.recipients,
    maxMessageBytes: MAX_BYTES,
    trustedAuthservIds: [AUTHSERV_ID],
    resolver,
    log,
    ...extra,
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.server.address() as AddressInfo).port, answers };
}

/** The input a workflow was started with, from the first event of its history. */
async function startInput(workflowId: string): Promise<ProcessInboundEmailInput> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  assert.ok(payload, `${workflowId} has a start event with an input`);
  return defaultPayloadConverter.fromPayload<ProcessInboundEmailInput>(payload);
}

async function counterValue(metric: ReturnType<typeof smtpRegistry.getSingleMetric>, action: string): Promise<number> {
  assert.ok(metric, 'the MX registers the metric');
  const { values } = await metric.get();
  return values.find((v) => v.labels.action === action)?.value ?? 0;
}

function transport(port: number, options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...options });
}

async function message(id: string, extraHeaders = ''): Promise<Buffer> {
  const raw = await compose({ from: `${id}@customer.example`, to: 'support@mailgate.local', subject: `SMTP ${id}`, messageId: `<${id}@c.example>`, text: 'hello over smtp' });
  return Buffer.concat([Buffer.from(extraHeaders, 'latin1'), raw]);
}

before(async () => {
  connection = await Connection.connect({ address: config.temporal.address });
  client = new Client({ connection, namespace: config.temporal.namespace });
});

after(async () => {
  await Promise.allSettled(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await Promise.allSettled([...started].map((id) => client.workflow.getHandle(id).terminate('smtp-ingress test finished')));
  await connection.close();
});

describe('the MX accepts through the one accept path', () => {
  test('250 comes only once the raw message is stored and its workflow exists, and the stored message starts with our Received and Authentication-Results', async () => {
    const mx = await startMx();
    const id = unique('smtp-ok');
    const info = await transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw: await message(id) });
    assert.match(info.response, /^250 2\.0\.0 Ok: queued as \S+/);
    const answer = mx.answers.at(-1)!;
    assert.equal(answer.answer, 'accepted');
    assert.equal(await store.exists(answer.rawKey!), true);
    for (const workflowId of answer.workflowIds) assert.equal(await workflowExists(client, workflowId), true);
    const stored = (await store.getBuffer(answer.rawKey!)).toString('latin1');
    assert.match(stored, /^Received: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby mx\.mailgate\.test \(Mailgate\) with ESMTP id \S+\r\n\tfor <support@mailgate\.local>;/);
    assert.match(stored, /\r\nAuthentication-Results: mx\.mailgate\.test;/);
    assert.match(stored, /\r\nMessage-ID: <smtp-ok-/);
  });

  test('a second delivery of the same message (a sending MTA retrying) gets 250 again and starts nothing new', async () => {
    const mx = await startMx();
    const id = unique('smtp-twice');
    const raw = await message(id);
    for (let i = 0; i < 2; i++) await transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw });
    assert.deepEqual(mx.answers.map((a) => a.answer), ['accepted', 'duplicate']);
    assert.deepEqual(mx.answers[0]!.workflowIds, mx.answers[1]!.workflowIds, 'the trace fields we prepend differ per delivery, the key does not');
  });

  test('an Authentication-Results header the sender wrote under our authserv-id is removed; one from another server stays below ours', async () => {
    const mx = await startMx();
    const id = unique('smtp-forged');
    const forged = `Authentication-Results: ${AUTHSERV_ID}; dmarc=pass header.from=customer.example\r\nAuthentication-Results: other.example;\r\n dkim=pass header.d=customer.example\r\n`;
    await transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw: await message(id, forged) });
    const stored = (await store.getBuffer(mx.answers.at(-1)!.rawKey!)).toString('latin1');
    const results = stored.split('\r\n\r\n')[0]!.match(/^Authentication-Results: [^;]+/gm);
    assert.deepEqual(results, [`Authentication-Results: ${AUTHSERV_ID}`, 'Authentication-Results: other.example']);
    assert.doesNotMatch(stored, /dmarc=pass header\.from=customer\.example/);
  });
});

describe('RCPT TO is judged by the routing rules', () => {
  test('a recipient outside the inbound domains, or one the rules refuse, is answered 550 5.1.1; the others are taken', async () => {
    const mx = await startMx({}, {}, {
      recipients: () => ({ ...acceptEmailSettings(config).recipients, route: (address) => (address === 'support@mailgate.local' ? address : null) }),
    });
    const { client: smtp } = await RawSmtp.connect(mx.port);
    await smtp.command('EHLO client.example');
    assert.equal((await smtp.command('MAIL FROM:<a@customer.example>')).code, 250);
    const outside = await smtp.command('RCPT TO:<someone@elsewhere.example>');
    assert.equal(outside.code, 550);
    assert.match(outside.text, /^550 5\.1\.1 /);
    const unknown = await smtp.command('RCPT TO:<nobody@mailgate.local>');
    assert.match(unknown.text, /^550 5\.1\.1 <nobody@mailgate\.local>/);
    assert.equal((await smtp.command('RCPT TO:<support@mailgate.local>')).code, 250);
    smtp.end();
  });

  test('past the cap on recipients per message RCPT is answered 452, and the message goes to those taken', async () => {
    const mx = await startMx();
    const { client: smtp } = await RawSmtp.connect(mx.port);
    await smtp.command('EHLO client.example');
    const id = unique('smtp-cap');
    const replies = await smtp.send(`${id}@customer.example`, ['support@mailgate.local', 'billing@mailgate.local', 'it@mailgate.local', 'sales@mailgate.local'], await message(id));
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 250, 250, 452]);
    smtp.end();
  });
});

describe('when a service behind the MX is down the answer is 451 and nothing is lost', () => {
  test('object store unreachable: 451 4.3.0, no workflow; the retry once it is back is accepted once', async () => {
    const down: ObjectStore = createS3ObjectStore({ ...config.s3, endpoint: `http://127.0.0.1:${await freePort()}` }, { maxAttempts: 1, timeoutMs: 3_000 });
    const mx = await startMx({}, { store: down });
    const id = unique('smtp-store-down');
    const raw = await message(id);
    await assert.rejects(
      transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw }),
      (error: { responseCode?: number; response?: string }) => error.responseCode === 451 && /^451 4\.3\.0 /.test(error.response ?? ''),
    );
    const failed = mx.answers.at(-1)!;
    assert.equal(failed.answer, 'retry-later');
    for (const workflowId of failed.workflowIds) assert.equal(await workflowExists(client, workflowId), false);
    const up = await startMx();
    await transport(up.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw });
    assert.equal(up.answers.at(-1)!.answer, 'accepted');
    assert.deepEqual(up.answers.at(-1)!.workflowIds, failed.workflowIds);
  });

  test('workflow engine unreachable: 451 4.3.0', async () => {
    const lazy = Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 2_000 });
    try {
      const mx = await startMx({}, { temporal: new Client({ connection: lazy, namespace: config.temporal.namespace }), startDeadlineMs: 2_000 });
      const id = unique('smtp-engine-down');
      await assert.rejects(
        transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw: await message(id) }),
        (error: { responseCode?: number; response?: string }) => error.responseCode === 451 && /4\.3\.0/.test(error.response ?? ''),
      );
      assert.equal(mx.answers.at(-1)!.answer, 'retry-later');
    } finally {
      await lazy.close();
    }
  });
});

describe('bad input gets a clear answer, and nothing is stuck or lost', () => {
  test('8-bit data without BODY=8BITMIME, bare LF line ends and a 10,000-character line are accepted and stored byte for byte', async () => {
    const mx = await startMx();
    const { client: smtp } = await RawSmtp.connect(mx.port);
    await smtp.command('EHLO client.example');
    const id = unique('smtp-raw');
    const body = Buffer.concat([
      Buffer.from(`From: ${id}@customer.example\r\nTo: support@mailgate.local\r\nSubject: raw\r\nMessage-ID: <${id}@c.example>\r\n\r\n`),
      Buffer.from('caf\xe9 8-bit\r\nbare\nline feeds\n.\nstill the body\r\n', 'latin1'),
      Buffer.from(`${'x'.repeat(10_000)}\r\n`),
    ]);
    const replies = await smtp.send(`${id}@customer.example`, ['support@mailgate.local'], body);
    assert.equal(replies.at(-1)!.code, 250, replies.at(-1)!.text);
    const stored = await store.getBuffer(mx.answers.at(-1)!.rawKey!);
    assert.ok(stored.subarray(stored.length - body.length).equals(body), 'a lone "\\n.\\n" does not end DATA (no SMTP smuggling), the bytes are kept as sent');
    assert.equal((await smtp.command('NOOP')).code, 250, 'the session goes on');
    smtp.end();
  });

  test('a command line past the limit is answered 421 and the connection closed; nothing is accepted', async () => {
    const mx = await startMx();
    const { client: smtp } = await RawSmtp.connect(mx.port);
    await smtp.command('EHLO client.example');
    const long = await smtp.command(`MAIL FROM:<${'a'.repeat(5000)}@customer.example>`);
    assert.equal(long.code, 421, long.text);
    await smtp.closed;
    assert.equal(mx.answers.length, 0);
  });

  test('a message just over SIZE is answered 552 and nothing is stored or started', async () => {
    const mx = await startMx();
    const { client: smtp } = await RawSmtp.connect(mx.port);
    const ehlo = await smtp.command('EHLO client.example');
    for (const feature of [`SIZE ${MAX_BYTES}`, '8BITMIME', 'SMTPUTF8', 'PIPELINING']) assert.match(ehlo.text, new RegExp(`250[- ]${feature}\\r?$`, 'm'));
    const id = unique('smtp-big');
    const head = Buffer.from(`From: ${id}@customer.example\r\nTo: support@mailgate.local\r\nSubject: big\r\n\r\n`);
    const body = Buffer.concat([head, Buffer.alloc(MAX_BYTES + 1 - head.length - 2, 'a'), Buffer.from('\r\n')]);
    assert.equal(body.length, MAX_BYTES + 1);
    const replies = await smtp.send(`${id}@customer.example`, ['support@mailgate.local'], body);
    assert.equal(replies.at(-1)!.code, 552, replies.at(-1)!.text);
    assert.equal(mx.answers.length, 0, 'the accept path never saw it');
    assert.equal((await smtp.command('RSET')).code, 250);
    smtp.end();
  });

  test('a client that stalls in the middle of DATA is disconnected with 421; nothing is accepted and the MX serves the next client', async () => {
    const mx = await startMx({ socketTimeoutSeconds: 2 });
    const { client: smtp } = await RawSmtp.connect(mx.port);
    await smtp.command('EHLO client.example');
    await smtp.command('MAIL FROM:<stall@customer.example>');
    await smtp.command('RCPT TO:<support@mailgate.local>');
    assert.equal((await smtp.command('DATA')).code, 354);
    smtp.write('From: stall@customer.example\r\nSubject: half\r\n\r\nthe first half');
    const timeout = await smtp.reply(20_000);
    assert.equal(timeout.code, 421);
    await smtp.closed;
    assert.equal(mx.answers.length, 0);
    const id = unique('smtp-after-stall');
    await transport(mx.port).sendMail({ envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] }, raw: await message(id) });
    assert.equal(mx.answers.at(-1)!.answer, 'accepted');
  });
});

describe('what a DMARC failure leads to (SMTP_INGRESS_DMARC_ACTION)', () => {
  // The loopback client is not in the From domain's SPF and the mail is unsigned: DMARC fails.
  const zone = zoneResolver({
    'strict.example': { TXT: [txt('v=spf1 ip4:192.0.2.10 -all')] },
    '_dmarc.strict.example': { TXT: [txt('v=DMARC1; p=reject')] },
    'lenient.example': { TXT: [txt('v=spf1 ip4:192.0.2.10 -all')] },
    '_dmarc.lenient.example': { TXT: [txt('v=DMARC1; p=quarantine')] },
    'relaxed.example': { TXT: [txt('v=spf1 ip4:192.0.2.10 -all')] },
    '_dmarc.relaxed.example': { TXT: [txt('v=DMARC1; p=none')] },
  });
  const from = async (domain: string, id: string) =>
    compose({ from: `${id}@${domain}`, to: 'support@mailgate.local', subject: `DMARC ${id}`, messageId: `<${id}@${domain}>`, text: 'hello' });

  test('reject: a failure under p=reject is answered 550 5.7.1 and not accepted; under p=quarantine it is accepted and tagged', async () => {
    const mx = await startMx({ dmarcAction: 'reject' }, {}, { resolver: zone.resolver });
    const id = unique('dmarc-reject');
    await assert.rejects(
      transport(mx.port).sendMail({ envelope: { from: `${id}@strict.example`, to: ['support@mailgate.local'] }, raw: await from('strict.example', id) }),
      (error: { responseCode?: number; response?: string }) => error.responseCode === 550 && /^550 5\.7\.1 rejected by the DMARC policy of strict\.example/.test(error.response ?? ''),
    );
    assert.equal(mx.answers.length, 0);
    const other = unique('dmarc-quarantine');
    await transport(mx.port).sendMail({ envelope: { from: `${other}@lenient.example`, to: ['support@mailgate.local'] }, raw: await from('lenient.example', other) });
    const stored = (await store.getBuffer(mx.answers.at(-1)!.rawKey!)).toString('latin1');
    assert.match(stored, /^X-Mailgate-DMARC: fail; policy=quarantine; domain=lenient\.example\r$/m);
    assert.match(stored, /dmarc=fail/);
  });

  test('quarantine: a failure under p=reject or p=quarantine is accepted (250) and its workflow is started held, with the reason; under p=none it is only tagged', async () => {
    const mx = await startMx({ dmarcAction: 'quarantine' }, {}, { resolver: zone.resolver });
    const quarantined = smtpRegistry.getSingleMetric('helpdesk_smtp_dmarc_actions_total');
    const before = await counterValue(quarantined, 'quarantined');
    for (const [domain, policy] of [['strict.example', 'reject'], ['lenient.example', 'quarantine']] as const) {
      const id = unique(`dmarc-hold-${policy}`);
      // The sender's own verdict header is a forgery: removed before ours is written.
      const raw = Buffer.concat([Buffer.from('X-Mailgate-DMARC: pass; policy=none; domain=trusted.example\r\n'), await from(domain, id)]);
      const info = await transport(mx.port).sendMail({ envelope: { from: `${id}@${domain}`, to: ['support@mailgate.local'] }, raw });
      assert.match(info.response, /^250 /);
      const answer = mx.answers.at(-1)!;
      assert.equal(answer.answer, 'accepted');
      const stored = (await store.getBuffer(answer.rawKey!)).toString('latin1');
      assert.equal(stored.match(/^X-Mailgate-DMARC:/gim)?.length, 1, stored.slice(0, 800));
      assert.match(stored, new RegExp(`^X-Mailgate-DMARC: fail; policy=${policy}; domain=${domain.replace('.', '\\.')}; action=quarantine\r$`, 'm'));
      for (const workflowId of answer.workflowIds) {
        const input = await startInput(workflowId);
        assert.match(input.quarantine?.reason ?? '', new RegExp(`^DMARC failed for ${domain.replace('.', '\\.')}, whose policy is p=${policy}`));
      }
    }
    assert.equal((await counterValue(quarantined, 'quarantined')) - before, 2);

    const id = unique('dmarc-none');
    await transport(mx.port).sendMail({ envelope: { from: `${id}@relaxed.example`, to: ['support@mailgate.local'] }, raw: await from('relaxed.example', id) });
    const answer = mx.answers.at(-1)!;
    const stored = (await store.getBuffer(answer.rawKey!)).toString('latin1');
    assert.match(stored, /^X-Mailgate-DMARC: fail; policy=none; domain=relaxed\.example\r$/m);
    for (const workflowId of answer.workflowIds) assert.equal((await startInput(workflowId)).quarantine, undefined);
  });

  test('record (the default): the failure is in Authentication-Results only, and the message is accepted', async () => {
    const mx = await startMx({}, {}, { resolver: zone.resolver });
    const id = unique('dmarc-record');
    await transport(mx.port).sendMail({ envelope: { from: `${id}@strict.example`, to: ['support@mailgate.local'] }, raw: await from('strict.example', id) });
    const stored = (await store.getBuffer(mx.answers.at(-1)!.rawKey!)).toString('latin1');
    assert.match(stored, /spf=fail/);
    assert.match(stored, /dmarc=fail/);
    assert.doesNotMatch(stored, /X-Mailgate-DMARC/);
  });
});

describe('limits per client address', () => {
  test('past the connection rate a client is answered 421 4.7.0 at once; past the message rate MAIL is answered 451 4.7.1', async () => {
    const mx = await startMx({ connectionsPerMinute: 2, messagesPerMinute: 1 });
    const first = await RawSmtp.connect(mx.port);
    await RawSmtp.connect(mx.port).then(({ client: c }) => c.end());
    const third = await RawSmtp.connect(mx.port);
    assert.equal(third.greeting.code, 421);
    assert.match(third.greeting.text, /4\.7\.0 too many connections/);
    await first.client.command('EHLO client.example');
    assert.equal((await first.client.command('MAIL FROM:<a@customer.example>')).code, 250);
    await first.client.command('RSET');
    const second = await first.client.command('MAIL FROM:<a@customer.example>');
    assert.equal(second.code, 451);
    assert.match(second.text, /4\.7\.1 too many messages/);
    first.client.end();
    const counted = (await smtpRegistry.getSingleMetric('helpdesk_smtp_connections_total')?.get())?.values ?? [];
    assert.ok((counted.find((v) => v.labels.result === 'rate_limited')?.value ?? 0) >= 1);
  });
});

describe('STARTTLS and AUTH for trusted relays', () => {
  test('STARTTLS is offered with a certificate; AUTH only after it, and a relay that authenticates is accepted', async () => {
    const tls = await makeTlsMaterial();
    try {
      const [cert, key] = await Promise.all([readFile(tls.serverCert), readFile(tls.serverKey)]);
      const mx = await startMx({ tls: { cert, key }, auth: { user: 'relay', password: 'a-relay-password-of-16+' } });
      const { client: smtp } = await RawSmtp.connect(mx.port);
      const ehlo = await smtp.command('EHLO client.example');
      assert.match(ehlo.text, /250[- ]STARTTLS/);
      const clear = await smtp.command(`AUTH PLAIN ${Buffer.from('\0relay\0a-relay-password-of-16+').toString('base64')}`);
      assert.ok(clear.code >= 500, `no AUTH in clear text: ${clear.text}`);
      smtp.end();
      const id = unique('smtp-relay');
      const info = await transport(mx.port, { ignoreTLS: false, requireTLS: true, tls: { ca: await readFile(tls.caCert) }, auth: { user: 'relay', pass: 'a-relay-password-of-16+' } }).sendMail({
        envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] },
        raw: await message(id),
      });
      assert.match(info.response, /^250 /);
      const stored = (await store.getBuffer(mx.answers.at(-1)!.rawKey!)).toString('latin1');
      assert.match(stored, /with ESMTPSA id/);
      await assert.rejects(
        transport(mx.port, { ignoreTLS: false, requireTLS: true, tls: { ca: await readFile(tls.caCert) }, auth: { user: 'relay', pass: 'wrong-password-of-16+' } }).sendMail({
          envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] },
          raw: await message(id),
        }),
        (error: { responseCode?: number }) => error.responseCode === 535,
      );
    } finally {
      await tls.remove();
    }
  });
});

test('every answer at the end of DATA is counted by code', async () => {
  const values = (await smtpRegistry.getSingleMetric('helpdesk_smtp_replies_total')?.get())?.values ?? [];
  const count = (stage: string, code: string): number => values.find((v) => v.labels.stage === stage && v.labels.code === code)?.value ?? 0;
  await eventually('counted replies', async () => (count('data', '250') > 0 && count('data', '451') > 0 && count('data', '552') > 0 ? true : undefined));
});
