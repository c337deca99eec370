/**
 * The Temporal UI's wording (src/workflows/user-metadata.ts): the static summary fits Temporal's
 * 200 bytes with the sender and queue always whole, text from an email cannot become markup, the
 * subject at the ingress is decoded and redacted, and the current details say what an operator
 * needs (the step, why it parked, the exact commands, the ticket number).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headlineOf } from '../../src/ingress/start-email-workflow';
import { readHeaderBlock } from '../../src/ingress/mime-headers';
import { initialState } from '../../src/workflows/email-state';
import type { ProcessInboundEmailInput } from '../../src/workflows/types';
import { activitySummaries, clip, emailDetails, emailStartDetails, emailSummary, markdownText, parkSummary, reprocessSummary, SUMMARY_MAX_BYTES } from '../../src/workflows/user-metadata';

const input: ProcessInboundEmailInput = {
  rawKey: `raw/${'a'.repeat(64)}`,
  rawSha256: 'a'.repeat(64),
  rawSize: 2048,
  recipient: 'support+t42@mailgate.local',
  queue: 'support@mailgate.local',
  idempotencyKey: 'k1',
  envelopeFrom: 'bounces@customer.example',
  receivedAt: '2026-12-07T09:00:00.000Z',
};
const WORKFLOW_ID = 'inbound-email/k1';

/** What a CommonMark reader sees of escaped text: each backslash-escaped character as itself. */
const unescape = (markdown: string): string => markdown.replace(/\\([!-/:-@[-`{-~])/g, '$1');
/** Markup that is not escaped: an unescaped `[`, `<`, `*`, `_`, backtick or `!`. */
const liveMarkup = /(^|[^\\])[[<*_`!]/;

test('the summary names subject, sender and queue, and fits 200 bytes with the subject cut first', () => {
  const short = emailSummary({ subject: 'Printer on fire', from: 'ann@customer.example' }, 'support@mailgate.local');
  assert.equal(unescape(short), '“Printer on fire” from ann@customer.example to support@mailgate.local');

  const long = emailSummary({ subject: 'Ärger über die Rechnung 😡 '.repeat(20), from: 'ann@customer.example' }, 'billing@mailgate.local');
  assert.ok(Buffer.byteLength(long) <= SUMMARY_MAX_BYTES, `${Buffer.byteLength(long)} bytes`);
  assert.match(unescape(long), /^“Ärger über die Rechnung.*…” from ann@customer\.example to billing@mailgate\.local$/u);
  assert.ok(!long.includes('\uFFFD'), 'cut on a character boundary');

  const none = emailSummary({ subject: null, from: null }, 'support@mailgate.local');
  assert.equal(unescape(none), '“(no subject)” from unknown sender to support@mailgate.local');
});

test('text from an email shows literally: no link, image, HTML or line break can be made of it', () => {
  const hostile = 'Click [here](https://evil.example) ![x](https://evil.example/p.png) <img src=x onerror=alert(1)> **bold** `code`\nsecond line';
  const shown = markdownText(hostile);
  assert.doesNotMatch(shown, liveMarkup);
  assert.ok(!shown.includes('\n'));
  assert.equal(unescape(shown), hostile.replace('\n', ' '));
  const summary = emailSummary({ subject: hostile, from: 'a@b.example' }, 'support@mailgate.local');
  assert.doesNotMatch(summary.replace(/^“|”/g, ''), liveMarkup);
  // A cut never leaves a dangling backslash that would escape the ellipsis.
  for (let n = 10; n < 40; n += 1) assert.doesNotMatch(clip(markdownText('a[b]c<d>e*f_g'.repeat(3)), n), /(^|[^\\])\\…$/);
});

test('the ingress decodes the subject and redacts it with every kind, whatever the queue', () => {
  const card = '4111 1111 1111 1111';
  const encoded = `=?UTF-8?B?${Buffer.from(`Zahlung mit ${card} fehlgeschlagen`).toString('base64')}?=`;
  const headers = readHeaderBlock(Buffer.from(`From: "Ann" <ann@customer.example>\r\nTo: support@mailgate.local\r\nSubject: ${encoded}\r\n\r\nbody`));
  const headline = headlineOf(headers);
  assert.equal(headline.from, 'ann@customer.example');
  assert.match(headline.subject ?? '', /^Zahlung mit .+ fehlgeschlagen$/);
  assert.ok(!headline.subject?.includes('4111'), headline.subject ?? '');
  assert.ok(!emailSummary(headline, 'support@mailgate.local').includes('4111'));
});

test('the static details say what arrived and how to look it up', () => {
  const details = unescape(emailStartDetails(WORKFLOW_ID, { subject: 'Printer on fire', from: 'ann@customer.example' }, input));
  assert.match(details, /Subject:\*\* Printer on fire/);
  assert.match(details, /From:\*\* ann@customer\.example \(envelope bounces@customer\.example\)/);
  assert.match(details, /Queue:\*\* support@mailgate\.local \(delivered to support\+t42@mailgate\.local\)/);
  assert.ok(details.includes(`scripts/mailgate emails show ${WORKFLOW_ID}`));
  assert.ok(details.includes(`GET /v1/emails/${WORKFLOW_ID}`));
});

test('the current details say the step, and when parked why, since when and the exact commands', () => {
  const state = initialState(input);
  state.step = 'scanning';
  assert.match(emailDetails(state, WORKFLOW_ID), /\*\*Step:\*\* scanning: scanning attachments/);

  state.outcome = 'parked';
  state.parked = { step: 'scanning', errorType: 'ScannerUnavailable', message: 'clamd at 127.0.0.1:3320: connect ECONNREFUSED', since: '2026-12-07T09:01:02.000Z' };
  const parked = emailDetails(state, WORKFLOW_ID);
  const read = unescape(parked);
  assert.match(read, /\*\*Parked at scanning\*\* since 2026-12-07T09:01:02\.000Z/);
  assert.match(read, /\*\*Why:\*\* ScannerUnavailable: clamd at 127\.0\.0\.1:3320: connect ECONNREFUSED/);
  for (const command of [
    `scripts/mailgate emails reprocess ${WORKFLOW_ID}`,
    `scripts/mailgate emails discard ${WORKFLOW_ID} --reason "why"`,
    `POST /v1/emails/${WORKFLOW_ID}/reprocess`,
    `POST /v1/emails/${WORKFLOW_ID}/discard`,
  ]) {
    assert.ok(parked.includes(`\`${command}\``), `the details hold ${command} as code`);
  }

  state.parked = null;
  state.outcome = 'ticket_created';
  state.step = 'done';
  state.ticketId = 'tkt_01';
  state.ticketNumber = 42;
  state.emailClass = 'human';
  state.acknowledgement = { messageId: '<m@x>', sent: true, reason: 'sent' };
  const done = unescape(emailDetails(state, WORKFLOW_ID));
  assert.match(done, /\*\*Outcome:\*\* ticket_created: ticket created/);
  assert.match(done, /\*\*Ticket:\*\* #42, id `tkt_01`/);
  assert.match(done, /\*\*Class:\*\* human/);
  assert.match(done, /\*\*Acknowledgement:\*\* sent/);
});

test('every activity call has a summary made from its input', () => {
  assert.equal(activitySummaries.scanAttachments({ parts: [0, 1, 2].map((index) => ({ index, partKey: `p${index}`, skippedReason: null })) }), 'scan 3 attachments with ClamAV');
  assert.equal(
    activitySummaries.sendAcknowledgement({ workflowId: WORKFLOW_ID, ticketId: 't', ticketNumber: 42, queue: 'support@mailgate.local', to: 'ann@customer.example', subject: 's', originalMessageId: '<m@x>', references: [] }),
    'acknowledge ticket #42 to ann@customer.example from support@mailgate.local',
  );
  const ticketInput = { queue: 'support@mailgate.local', requester: 'ann@customer.example', automated: false, thread: null } as Parameters<typeof activitySummaries.recordTicket>[0];
  assert.equal(activitySummaries.recordTicket(ticketInput), 'open a ticket in support@mailgate.local for ann@customer.example');
  assert.equal(
    activitySummaries.recordTicket({ ...ticketInput, thread: { ticketId: 't', ticketNumber: 7, messageId: '<p@x>', rule: 'message-id' } }),
    'add to ticket #7 in support@mailgate.local (matched by message-id)',
  );
});

test('a reprocess run is listed by the original email', () => {
  const original = emailSummary({ subject: 'Printer on fire', from: 'ann@customer.example' }, 'support@mailgate.local');
  assert.equal(reprocessSummary(original, WORKFLOW_ID), `reprocess: ${original}`);
  assert.equal(reprocessSummary(`reprocess: ${original}`, WORKFLOW_ID), `reprocess: ${original}`);
  assert.equal(unescape(reprocessSummary(undefined, WORKFLOW_ID)), `reprocess: ${WORKFLOW_ID}`);
});

test("a parked email's timer says where and why it waits, within 200 bytes, whatever the error's length", () => {
  const parked = { step: 'acknowledging' as const, errorType: 'SmtpRejected', message: `550 5.1.1 <ann@customer.example>: ${'no such user '.repeat(40)}`, since: '2026-12-07T09:01:02.000Z' };
  const summary = parkSummary(parked);
  assert.ok(Buffer.byteLength(summary) <= SUMMARY_MAX_BYTES, `${Buffer.byteLength(summary)} bytes`);
  assert.match(unescape(summary), /^parked at acknowledging: SmtpRejected: 550 5\.1\.1 <ann@customer\.example>: no such user .*… · waiting for an operator to reprocess or discard/);
});

test('a header as long as the ingress allows still makes details Temporal accepts', () => {
  const huge = 'Rechnung '.repeat(30_000);
  const details = emailStartDetails(WORKFLOW_ID, { subject: huge, from: `${'a'.repeat(5_000)}@customer.example` }, input);
  assert.ok(Buffer.byteLength(details) <= 8_000, `${Buffer.byteLength(details)} bytes`);
  assert.ok(details.includes(`GET /v1/emails/${WORKFLOW_ID}`), 'the lookup survives the cut');
  assert.ok(Buffer.byteLength(emailSummary({ subject: huge, from: 'b'.repeat(5_000) }, 'support@mailgate.local')) <= SUMMARY_MAX_BYTES);
});
