import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnsweredSignatures, authorizedFetch, MAX_REMEMBERED_BODY_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature } from '../../src/api/signing';

test('a client redelivering the same bytes never reuses a signature and never signs outside the window', async (t) => {
  let clock = 1_800_000_000_000;
  t.mock.method(Date, 'now', () => clock);
  const sent: Headers[] = [];
  t.mock.method(globalThis, 'fetch', async (_input: unknown, init?: RequestInit) => {
    sent.push(new Headers(init?.headers));
    return new Response('{}');
  });
  const client = authorizedFetch({ ingressSecret: 'the-ingress-secret-for-tests', adminToken: 'admin' });
  const body = 'From: a@b.example\r\n\r\nhello\r\n';
  const post = (): Promise<Response> => client('http://127.0.0.1:1/v1/inbound/mime', { method: 'POST', body });

  // Three copies at once, then the same again 400 s later (twice in one second), then a long
  // retry loop: one delivery a second for ten minutes.
  await Promise.all([post(), post(), post()]);
  clock += 400_000;
  await post();
  await post();
  for (let i = 0; i < 600; i++) {
    clock += 1_000;
    await post();
  }
  const signatures = sent.map((h) => h.get(SIGNATURE_HEADER));
  assert.equal(new Set(signatures).size, sent.length, 'every signature is new');
  // Each request verifies against the receiver's clock at the moment it was sent.
  let at = 1_800_000_000_000;
  for (const [i, headers] of sent.entries()) {
    if (i === 3) at += 400_000;
    if (i >= 5) at += 1_000;
    const verdict = verifySignature({
      secrets: ['the-ingress-secret-for-tests'],
      timestamp: headers.get(TIMESTAMP_HEADER) ?? undefined,
      signature: headers.get(SIGNATURE_HEADER) ?? undefined,
      body: Buffer.from(body),
      nowMs: at,
      maxSkewSeconds: 300,
    });
    assert.equal(verdict.ok, true, `request ${i}: ${JSON.stringify(verdict)}`);
  }
  // Admin requests carry the bearer token, not a signature.
  await client('http://127.0.0.1:1/v1/tickets');
  assert.equal(sent.at(-1)?.get('authorization'), 'Bearer admin');
  assert.equal(sent.at(-1)?.get(SIGNATURE_HEADER), null);
});

test('answered signatures are kept for their time to live and at most maxEntries of them, the oldest dropped first', async () => {
  let clock = 1_000;
  const answered = new AnsweredSignatures(10_000, 3, () => clock);
  for (const sig of ['a', 'b', 'c']) {
    answered.begin(sig, `body-${sig}`);
    answered.answer(sig, { status: 202, json: '{"emails":[]}' });
  }
  answered.begin('d', 'body-d');
  assert.equal(answered.size, 3);
  assert.equal(answered.get('a'), undefined, 'the oldest went first');
  assert.deepEqual(answered.get('b')?.answer, { status: 202, json: '{"emails":[]}' });
  assert.equal(answered.get('d')?.answer, null, 'still in flight');
  clock += 10_000;
  assert.equal(answered.get('b'), undefined, 'expired');
  assert.equal(answered.size, 0);
});

test('a waiter on an in-flight signature wakes when it is answered or dropped; a body too large to keep leaves no entry', async () => {
  const answered = new AnsweredSignatures(60_000);
  answered.begin('s', 'x');
  const waiting = answered.get('s')!.settled;
  answered.answer('s', { status: 202, json: JSON.stringify({ emails: [], pad: 'p'.repeat(MAX_REMEMBERED_BODY_BYTES) }) });
  await waiting;
  assert.equal(answered.get('s'), undefined);
  answered.begin('t', 'y');
  const dropped = answered.get('t')!.settled;
  answered.drop('t');
  await dropped;
  assert.equal(answered.get('t'), undefined);
  assert.throws(() => new AnsweredSignatures(0), /ttlMs must be a positive integer/);
});
