/**
 * The Mailgun event poller's round (src/ingress/pollers/mailgun-events.ts) against the stateful
 * stand-in (test/helpers/mailgun-stand-in.ts), with a recording accept path and an in-memory cursor.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorType, TypedError } from '../../src/domain/errors';
import { nextInterval } from '../../src/domain/poll-interval';
import { pollMailgunEvents, type MailgunPollDeps } from '../../src/ingress/pollers/mailgun-events';
import { parsePollerSettings, type MailgunPollerSettings } from '../../src/ingress/pollers/settings';
import type { AcceptAnswer } from '../../src/ingress/types';
import type { SinceCursor } from '../../src/ports/ledger';
import { startMailgunStandIn, type MailgunStandIn } from '../helpers/mailgun-stand-in';

function raw(i: number): string {
  return `From: c${i}@customer.example\r\nTo: support@mailgate.local\r\nSubject: #${i}\r\nMessage-ID: <${i}@c.example>\r\n\r\nbody ${i}\r\n`;
}

function harness(answers: (i: number) => AcceptAnswer['answer'] = () => 'accepted') {
  const cursors = new Map<string, SinceCursor>();
  const accepted: { subject: string; rcptTo: string[] | undefined; mailFrom: string | null }[] = [];
  const deps: MailgunPollDeps = {
    acceptEmail: async (bytes, envelope) => {
      const text = Buffer.isBuffer(bytes) ? bytes.toString() : '';
      accepted.push({ subject: /Subject: (.*)\r\n/.exec(text)?.[1] ?? '', rcptTo: envelope.rcptTo, mailFrom: envelope.mailFrom });
      const answer = answers(accepted.length - 1);
      return { answer, reason: '', rawKey: 'raw/x', workflowIds: [], recipients: [], refused: [], ...(answer === 'retry-later' ? { cause: 'workflow-engine' } : {}), ...(answer === 'refused' ? { refusal: 'not-an-email' } : {}) } as AcceptAnswer;
    },
    cursors: { sinceCursor: async (s) => cursors.get(s) ?? null, saveSinceCursor: async (c) => void cursors.set(c.source, c) },
    maxMessageBytes: 1024 * 1024,
    log: { warn: () => undefined },
    progress: () => undefined,
  };
  return { deps, cursors, accepted };
}

describe('the Mailgun event poller', () => {
  let mg: MailgunStandIn;
  let settings: MailgunPollerSettings;
  const t0 = Math.floor(Date.now() / 1000) - 3600;
  before(async () => {
    mg = await startMailgunStandIn();
    process.env.TEST_MAILGUN_KEY = mg.apiKey;
    settings = parsePollerSettings({ mailgun: [{ name: 'mg', baseUrl: mg.baseUrl, domain: mg.domain, apiKey: { env: 'TEST_MAILGUN_KEY' }, pageSize: 2, settleSeconds: 60 }] }).mailgun[0]!;
  });
  after(async () => {
    await mg.close();
  });

  test('settled stored events are accepted in time order across pages, each with its envelope, and the cursor ends at the last one', async () => {
    mg.store([0, 1, 2, 3, 4].map((i) => ({ raw: raw(i), recipient: 'support@mailgate.local', sender: `c${i}@customer.example`, timestamp: t0 + i })));
    const h = harness();
    h.cursors.set('mg', { source: 'mg', since: String(t0 - 10) });
    const batch = await pollMailgunEvents(h.deps, settings);
    assert.deepEqual(h.accepted.map((a) => a.subject), ['#0', '#1', '#2', '#3', '#4']);
    assert.deepEqual(h.accepted[0], { subject: '#0', rcptTo: ['support@mailgate.local'], mailFrom: 'c0@customer.example' });
    assert.equal(batch.accepted, 5);
    assert.equal(batch.more, false);
    assert.equal(h.cursors.get('mg')?.since, (t0 + 4).toFixed(6));
    assert.ok(mg.requests.every((r) => r.authorized), 'every request carried the API key');
  });

  test('a replay from the cursor is idempotent: the event at the cursor comes again and its duplicate answer moves nothing back', async () => {
    const h = harness((i) => (i === 0 ? 'duplicate' : 'accepted'));
    h.cursors.set('mg', { source: 'mg', since: (t0 + 4).toFixed(6) });
    const batch = await pollMailgunEvents(h.deps, settings);
    assert.deepEqual(h.accepted.map((a) => a.subject), ['#4']);
    assert.equal(batch.duplicates, 1);
    assert.equal(h.cursors.get('mg')?.since, (t0 + 4).toFixed(6));
  });

  test('the first round fixes its starting point in the ledger, so an event indexed late is still read', async () => {
    const h = harness();
    await pollMailgunEvents(h.deps, { ...settings, settleSeconds: 0 });
    const start = h.cursors.get('mg')?.since;
    assert.ok(start !== undefined && Math.abs(Number(start) - Date.now() / 1000) < 5, 'the first cursor is the settled edge');
    assert.equal(h.accepted.length, 0, 'older events are not imported without a lookback');
  });

  test('events younger than the settle time are left for a later round (Mailgun indexes events out of order)', async () => {
    mg.store([{ raw: raw(5), recipient: 'support@mailgate.local', sender: 'c5@customer.example' }]);
    const h = harness();
    h.cursors.set('mg', { source: 'mg', since: (t0 + 4).toFixed(6) });
    await pollMailgunEvents(h.deps, settings);
    assert.deepEqual(h.accepted.map((a) => a.subject), ['#4'], 'the fresh event is not taken yet');
  });

  test('retry-later from the accept path stops the round before that event: the cursor stays on the last accepted one', async () => {
    const h = harness((i) => (i === 2 ? 'retry-later' : 'accepted'));
    h.cursors.set('mg', { source: 'mg', since: String(t0 - 10) });
    const batch = await pollMailgunEvents(h.deps, settings);
    assert.equal(batch.retryLater, 1);
    assert.equal(batch.more, true);
    assert.equal(h.cursors.get('mg')?.since, (t0 + 1).toFixed(6));
  });

  test('a 503 is RemoteUnavailable, a 429 RemoteRateLimited with its Retry-After, a wrong key RemoteCredentials', async () => {
    const h = harness();
    mg.failNext(1, 503);
    await assert.rejects(pollMailgunEvents(h.deps, settings), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteUnavailable);
    mg.failNext(1, 429);
    await assert.rejects(pollMailgunEvents(h.deps, settings), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteRateLimited && e.retryAfterMs === 1000);
    process.env.TEST_MAILGUN_KEY = 'wrong';
    try {
      await assert.rejects(pollMailgunEvents(h.deps, settings), (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteCredentials);
    } finally {
      process.env.TEST_MAILGUN_KEY = mg.apiKey;
    }
  });

  test('a paging URL on another host is not followed with the API key', async () => {
    const h = harness();
    const foreign: typeof fetch = async (url, init) => {
      const answer = await fetch(url, init);
      const body = (await answer.json()) as { items: unknown[]; paging: { next: string } };
      return new Response(JSON.stringify({ ...body, paging: { next: 'http://elsewhere.example/v3/x/events/abc' } }), { status: 200 });
    };
    h.cursors.set('mg', { source: 'mg', since: String(t0 - 10) });
    await assert.rejects(pollMailgunEvents({ ...h.deps, fetch: foreign }, settings), /not followed/);
  });

  test('the interval: none while a backlog remains, the minimum after mail, doubling while idle or while the accept path answers retry-later', () => {
    const bounds = { minIntervalSeconds: 5, maxIntervalSeconds: 60 };
    const none = { more: false, retryLater: 0, accepted: 0, duplicates: 0 };
    assert.equal(nextInterval(5, { ...none, more: true }, bounds), 0);
    assert.equal(nextInterval(40, { ...none, accepted: 3 }, bounds), 5);
    assert.equal(nextInterval(5, none, bounds), 10);
    assert.equal(nextInterval(40, none, bounds), 60);
    assert.equal(nextInterval(0, { ...none, retryLater: 1, more: true }, bounds), 5);
    assert.equal(nextInterval(20, { ...none, retryLater: 1, more: true }, bounds), 40);
  });
});

describe('the pollers file', () => {
  test('credentials are references only: a password written in the file is refused', () => {
    assert.throws(
      () => parsePollerSettings({ imap: [{ name: 'a', host: 'h', user: 'u', password: 'hunter2', recipient: 'support@mailgate.local' }] }),
      /must be \{"env"/,
    );
  });

  test('defaults: INBOX, TLS on 993, \\Seen after acceptance, batches of 100', () => {
    const [imap] = parsePollerSettings({ imap: [{ name: 'a', host: 'h', user: 'u', accessToken: { file: '/run/token' }, recipient: 'Support@Mailgate.local' }] }).imap;
    assert.deepEqual(imap, {
      name: 'a', host: 'h', port: 993, secure: true, user: 'u', auth: { accessToken: { file: '/run/token' } }, mailbox: 'INBOX',
      recipient: 'support@mailgate.local', afterAccept: { seen: true }, batchSize: 100, idleSeconds: 300,
    });
  });

  test('a Mailgun poller trusts only events half an hour old by default and starts at that edge', () => {
    const [mg] = parsePollerSettings({ mailgun: [{ name: 'm', domain: 'mg.example.com', apiKey: { env: 'K' } }] }).mailgun;
    assert.equal(mg?.baseUrl, 'https://api.mailgun.net');
    assert.equal(mg?.settleSeconds, 1800);
    assert.equal(mg?.lookbackSeconds, 0);
  });

  test('a name used twice, an unknown kind, or a move into the polled mailbox itself is refused', () => {
    const entry = { name: 'a', host: 'h', user: 'u', password: { env: 'P' }, recipient: 'support@mailgate.local' };
    assert.throws(() => parsePollerSettings({ imap: [entry, entry] }), /used twice/);
    assert.throws(() => parsePollerSettings({ pop3: [] }), /unknown kind/);
    assert.throws(() => parsePollerSettings({ imap: [{ ...entry, moveTo: 'INBOX' }] }), /must differ/);
  });
});
