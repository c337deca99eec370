/**
 * Sender authentication at the MX (src/ingress/smtp/sender-auth.ts) with mailauth, on real
 * signatures: test mail is DKIM-signed by nodemailer with keys made here, a forwarder ARC-seals with
 * mailauth, and every DNS answer comes from a zone the test controls (mailauth's resolver hook). The
 * stamped header is then read by the trust rule the workers apply (src/domain/auth-results.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { authenticate as mailauthAuthenticate, sealMessage } from 'mailauth';
import nodemailer from 'nodemailer';
import { authenticate, parseAuthenticationResults, trustedResults } from '../../src/domain/auth-results';
import { DMARC_ACTIONS, type DmarcAction } from '../../src/config';
import { dmarcOutcome } from '../../src/ingress/smtp/listener';
import { authenticateSender, withoutClaimedResults, withoutHeaderFields, type SenderAuthResults } from '../../src/ingress/smtp/sender-auth';
import { txt, zoneResolver, type Zone } from '../helpers/dns-zone';

const MX = 'mx.mailgate.test';
const CUSTOMER_IP = '192.0.2.10';
const FORWARDER_IP = '198.51.100.20';
const STRANGER_IP = '203.0.113.99';

function rsaKey(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${der}` };
}

const customerKey = rsaKey();
const forwarderKey = rsaKey();

const zone: Zone = {
  'customer.example': { TXT: [txt(`v=spf1 ip4:${CUSTOMER_IP} -all`)] },
  's1._domainkey.customer.example': { TXT: [txt(customerKey.record)] },
  '_dmarc.customer.example': { TXT: [txt('v=DMARC1; p=reject')] },
  'soft.example': { TXT: [txt(`v=spf1 ip4:${CUSTOMER_IP} ~all`)] },
  'quarantined.example': { TXT: [txt(`v=spf1 ip4:${CUSTOMER_IP} -all`)] },
  '_dmarc.quarantined.example': { TXT: [txt('v=DMARC1; p=quarantine')] },
  'relaxed.example': { TXT: [txt(`v=spf1 ip4:${CUSTOMER_IP} -all`)] },
  '_dmarc.relaxed.example': { TXT: [txt('v=DMARC1; p=none')] },
  'forwarder.example': { TXT: [txt(`v=spf1 ip4:${FORWARDER_IP} -all`)] },
  'arc._domainkey.forwarder.example': { TXT: [txt(forwarderKey.record)] },
};
const dns = zoneResolver(zone);

async function mail(from: string, options: { sign?: boolean; text?: string } = {}): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    ...(options.sign ? { dkim: { domainName: 'customer.example', keySelector: 's1', privateKey: customerKey.privateKey } } : {}),
  });
  const info = await transport.sendMail({ from, to: 'support@mailgate.local', subject: 'Where is my order?', text: options.text ?? 'Order 1234 has not arrived.', messageId: `<${Date.now()}.${Math.random()}@x>` });
  return info.message as Buffer;
}

async function check(raw: Buffer, ip: string, mailFrom: string) {
  const auth = await authenticateSender({ raw, ip, helo: 'client.example', mailFrom, authservId: MX, resolver: dns.resolver });
  const value = (/^Authentication-Results: ([^]*?)\r\n(?![ \t])/m.exec(auth.headers)?.[1] ?? '').replace(/\r\n[ \t]/g, ' ');
  return { ...auth, value, parsed: parseAuthenticationResults(value) };
}

/** What the workers conclude from the stamped header alone (the trust rule of src/domain/auth-results.ts). */
function verdictOf(value: string, fromDomain: string): string {
  return authenticate(trustedResults([value], [MX]), fromDomain).authentication;
}

describe('SPF, DKIM and DMARC from a zone the test controls', () => {
  test('a message DKIM-signed by its From domain, sent from an address its SPF lists: spf, dkim and dmarc pass under our authserv-id, and the workers read it as authenticated', async () => {
    const result = await check(await mail('buyer@customer.example', { sign: true }), CUSTOMER_IP, 'buyer@customer.example');
    assert.deepEqual([result.results.spf, result.results.dkim, result.results.dmarc], ['pass', ['pass'], 'pass']);
    assert.equal(result.parsed?.authservId, MX);
    assert.deepEqual(result.parsed?.results.map((r) => `${r.method}=${r.result}`).sort(), ['dkim=pass', 'dmarc=pass', 'spf=pass']);
    assert.equal(verdictOf(result.value, 'customer.example'), 'pass');
    assert.match(result.headers, /^Received-SPF: pass/m);
  });

  test('an unsigned message from an address SPF does not list: spf fail, dmarc fail with the domain\'s reject policy, and the workers read it as a failure', async () => {
    const result = await check(await mail('ceo@customer.example'), STRANGER_IP, 'ceo@customer.example');
    assert.equal(result.results.spf, 'fail');
    assert.equal(result.results.dmarc, 'fail');
    assert.equal(result.results.dmarcPolicy, 'reject');
    assert.equal(result.results.fromDomain, 'customer.example');
    assert.equal(verdictOf(result.value, 'customer.example'), 'fail');
  });

  test('a signed message whose body was changed on the way fails DKIM (reported neutral by mailauth: body hash mismatch), yet passes DMARC through aligned SPF', async () => {
    const signed = (await mail('buyer@customer.example', { sign: true })).toString('latin1');
    const tampered = Buffer.from(signed.replace('Order 1234', 'Order 9999'), 'latin1');
    const result = await check(tampered, CUSTOMER_IP, 'buyer@customer.example');
    assert.notEqual(result.results.dkim[0], 'pass');
    assert.equal(result.results.spf, 'pass');
    assert.equal(result.results.dmarc, 'pass');
  });

  test('SPF ~all from an unlisted address is softfail', async () => {
    const result = await check(await mail('a@soft.example'), STRANGER_IP, 'a@soft.example');
    assert.equal(result.results.spf, 'softfail');
    assert.equal(result.results.dmarc, 'none', 'no DMARC record');
  });

  test('DMARC policies are reported as the domain publishes them: quarantine and none', async () => {
    const quarantine = await check(await mail('a@quarantined.example'), STRANGER_IP, 'a@quarantined.example');
    assert.equal(quarantine.results.dmarc, 'fail');
    assert.equal(quarantine.results.dmarcPolicy, 'quarantine');
    const none = await check(await mail('a@relaxed.example'), STRANGER_IP, 'a@relaxed.example');
    assert.equal(none.results.dmarc, 'fail');
    assert.equal(none.results.dmarcPolicy, 'none');
  });

  test('a DNS server failing (SERVFAIL) is a temperror, never a pass; the stamp is still ours', async () => {
    const failing = zoneResolver(zone, ['customer.example', '_dmarc.customer.example', 's1._domainkey.customer.example']);
    const auth = await authenticateSender({ raw: await mail('buyer@customer.example', { sign: true }), ip: CUSTOMER_IP, helo: 'client.example', mailFrom: 'buyer@customer.example', authservId: MX, resolver: failing.resolver });
    assert.equal(auth.results.spf, 'temperror');
    assert.notEqual(auth.results.dmarc, 'pass');
    assert.match(auth.headers, new RegExp(`^Authentication-Results: ${MX.replace(/\./g, '\\.')};`, 'm'));
  });
});

describe('a forwarded message with ARC', () => {
  test('a forwarder that changed the message and sealed it: DKIM and DMARC fail at our MX, the ARC chain passes and is stamped', async () => {
    const original = await mail('buyer@customer.example', { sign: true });
    // The forwarder authenticates what it received (all pass), appends a footer, and seals.
    const atForwarder = await mailauthAuthenticate(original, { ip: CUSTOMER_IP, helo: 'client.example', sender: 'buyer@customer.example', mta: 'mx.forwarder.example', resolver: dns.resolver, disableBimi: true });
    assert.equal(atForwarder.dmarc && atForwarder.dmarc.status.result, 'pass');
    const changed = Buffer.concat([original.subarray(0, original.length - 2), Buffer.from('\r\n-- \r\nsent through the forwarder\r\n')]);
    const arAtForwarder = /^Authentication-Results: mx\.forwarder\.example;\s*([^]*?)\r\n(?![ \t])/m.exec(atForwarder.headers)?.[1] ?? '';
    const seal = await sealMessage(changed, { signingDomain: 'forwarder.example', selector: 'arc', privateKey: forwarderKey.privateKey, cv: 'none', authResults: `mx.forwarder.example; ${arAtForwarder}` });
    const forwarded = Buffer.concat([seal, changed]);

    const result = await check(forwarded, FORWARDER_IP, 'bounce+buyer=customer.example@forwarder.example');
    assert.notEqual(result.results.dkim[0], 'pass');
    assert.equal(result.results.spf, 'pass', 'the forwarder\'s own SPF');
    assert.equal(result.results.dmarc, 'fail');
    assert.equal(result.results.arc, 'pass');
    assert.ok(result.parsed?.results.some((r) => r.method === 'arc' && r.result === 'pass'));
  });
});

describe('Authentication-Results claiming a trusted authserv-id are removed on the way in', () => {
  const body = 'Subject: hi\r\nFrom: a@customer.example\r\n\r\nAuthentication-Results: mx.mailgate.test; dmarc=pass\r\n';

  test('every header claiming one of the ids goes, folded lines and all, wherever it stands; other servers\' headers and the body stay', () => {
    const raw = Buffer.from(
      'Authentication-Results: MX.mailgate.test; dmarc=pass\r\n header.from=customer.example\r\n' +
        'Authentication-Results: other.example; dkim=pass\r\n' +
        'Received: from x\r\n' +
        'Authentication-Results: mx2.mailgate.test (forged); spf=pass\r\n' +
        body,
    );
    const { raw: cleaned, removed } = withoutClaimedResults(raw, [MX, 'mx2.mailgate.test']);
    assert.equal(removed, 2);
    assert.equal(cleaned.toString(), `Authentication-Results: other.example; dkim=pass\r\nReceived: from x\r\n${body}`);
  });

  test('an unreadable header is judged by its first word; a message without any is returned as the same bytes', () => {
    const raw = Buffer.from(`Authentication-Results: mx.mailgate.test; dmarc\n${body}`);
    assert.equal(withoutClaimedResults(raw, [MX]).removed, 1);
    const clean = Buffer.from(body);
    assert.equal(withoutClaimedResults(clean, [MX]).raw, clean);
  });
});

describe('what a DMARC failure leads to, by SMTP_INGRESS_DMARC_ACTION and the domain policy', () => {
  const results = (dmarc: string, dmarcPolicy: string | null): SenderAuthResults => ({ spf: 'fail', dkim: [], dmarc, arc: 'none', dmarcPolicy, fromDomain: 'forged.example' });
  const outcome = (action: DmarcAction, dmarc: string, policy: string | null) => {
    const o = dmarcOutcome(action, results(dmarc, policy));
    return [o.refuse ? `refuse ${o.refuse.code}` : null, o.quarantine ? 'quarantine' : null, o.tag ? 'tag' : null].filter(Boolean).join('+') || 'nothing';
  };

  test('every action against every policy: only quarantine holds, only reject refuses, and only under the policies that ask for it', () => {
    const table: Record<DmarcAction, Record<string, string>> = {
      record: { reject: 'nothing', quarantine: 'nothing', none: 'nothing' },
      tag: { reject: 'tag', quarantine: 'tag', none: 'tag' },
      quarantine: { reject: 'quarantine+tag', quarantine: 'quarantine+tag', none: 'tag' },
      reject: { reject: 'refuse 550', quarantine: 'tag', none: 'tag' },
    };
    for (const action of DMARC_ACTIONS) {
      for (const policy of ['reject', 'quarantine', 'none']) assert.equal(outcome(action, 'fail', policy), table[action][policy], `${action} under p=${policy}`);
      for (const result of ['pass', 'none', 'temperror', 'permerror']) assert.equal(outcome(action, result, 'reject'), 'nothing', `${action} with dmarc=${result}`);
    }
    assert.equal(outcome('quarantine', 'fail', null), 'tag', 'no policy known: nothing to enforce');
  });

  test('the quarantine reason and tag name the domain and its policy', () => {
    const o = dmarcOutcome('quarantine', results('fail', 'reject'));
    assert.match(o.quarantine ?? '', /^DMARC failed for forged\.example, whose policy is p=reject/);
    assert.equal(o.tag, 'X-Mailgate-DMARC: fail; policy=reject; domain=forged.example; action=quarantine\r\n');
  });
});

describe('header fields are removed by name, folded lines and all', () => {
  test("a sender's own X-Mailgate-DMARC fields go, wherever they stand; other fields and the body stay byte for byte", () => {
    const raw = Buffer.from(
      'x-mailgate-dmarc: pass\r\nFrom: a@b.example\r\nX-Mailgate-DMARC : fail; policy=reject;\r\n\tdomain=rival.example\r\nSubject: caf\xe9\r\n\r\nX-Mailgate-DMARC: in the body\r\n',
      'latin1',
    );
    const { raw: out, removed } = withoutHeaderFields(raw, (name) => name === 'x-mailgate-dmarc');
    assert.equal(removed, 2);
    assert.equal(out.toString('latin1'), 'From: a@b.example\r\nSubject: caf\xe9\r\n\r\nX-Mailgate-DMARC: in the body\r\n');
    const untouched = Buffer.from('From: a@b.example\nSubject: x\n\nbody\n');
    assert.equal(withoutHeaderFields(untouched, (name) => name === 'x-mailgate-dmarc').raw, untouched);
  });
});
