import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEFAULT_ACK_TEMPLATES, renderAcknowledgement, type AckValues } from '../../src/domain/ack-template';
import { registry } from '../../src/metrics';
import { acknowledgementFor, parseRules, queueFor, RulesError } from '../../src/rules';
import { reloadRules } from '../../src/rules-reload';

const values: AckValues = {
  ticketNumber: '42',
  ticketToken: '[MG-42]',
  subject: 'Printer <b>on fire</b>',
  requesterName: 'Ann "<script>" O\'Neil',
  queue: 'support@mailgate.local',
};
const MARKER = '[ref:MG-42:0123456789abcdef]';

describe('acknowledgement templates in the rules', () => {
  test('without settings every queue gets the English defaults; a queue may choose German', () => {
    const rules = parseRules({
      queues: [{ address: 'support@x.example' }, { address: 'de@x.example', acknowledgement: { language: 'de' } }],
      defaultQueue: 'support@x.example',
    });
    assert.deepEqual(acknowledgementFor(rules, 'support@x.example'), DEFAULT_ACK_TEMPLATES.en);
    assert.deepEqual(acknowledgementFor(rules, 'de@x.example'), DEFAULT_ACK_TEMPLATES.de);
    assert.deepEqual(acknowledgementFor(rules, 'unlisted@x.example'), DEFAULT_ACK_TEMPLATES.en);
  });

  test('a queue inherits the rules-wide templates of its own language, and its language\'s defaults otherwise', () => {
    const rules = parseRules({
      acknowledgement: { subject: 'Ticket {{ticketToken}}: {{subject}}' },
      queues: [
        { address: 'a@x.example', acknowledgement: { text: 'Hi {{requesterName}}, {{ticketNumber}} in {{queue}}.' } },
        { address: 'b@x.example', acknowledgement: { language: 'de' } },
      ],
      defaultQueue: 'a@x.example',
    });
    const a = acknowledgementFor(rules, 'a@x.example');
    assert.equal(a.subject, 'Ticket {{ticketToken}}: {{subject}}');
    assert.equal(a.text, 'Hi {{requesterName}}, {{ticketNumber}} in {{queue}}.');
    assert.equal(a.html, DEFAULT_ACK_TEMPLATES.en.html);
    assert.deepEqual(acknowledgementFor(rules, 'b@x.example'), DEFAULT_ACK_TEMPLATES.de);
  });

  test('an unknown variable, a bad language, a multi-line subject or an unknown field is refused naming the queue', () => {
    const queue = (acknowledgement: unknown) => ({ queues: [{ address: 'a@x.example' }, { address: 'billing@x.example', acknowledgement }], defaultQueue: 'a@x.example' });
    assert.throws(
      () => parseRules(queue({ text: 'Your ticket {{ticketNo}}' })),
      (e: Error) => e instanceof RulesError && e.message === 'queues[1] (billing@x.example): acknowledgement.text: unknown variable {{ticketNo}} (known: ticketNumber, ticketToken, subject, requesterName, queue)',
    );
    assert.throws(() => parseRules(queue({ language: 'fr' })), /^RulesError: queues\[1\] \(billing@x\.example\): acknowledgement\.language must be one of en, de$/);
    assert.throws(() => parseRules(queue({ subject: 'a\nb' })), /queues\[1\] \(billing@x\.example\): acknowledgement\.subject must be a single line/);
    assert.throws(() => parseRules(queue({ html: '<p>{{subject}</p>' })), /queues\[1\] \(billing@x\.example\): acknowledgement\.html: a \{\{ without its \}\}/);
    assert.throws(() => parseRules(queue({ body: 'x' })), /queues\[1\] \(billing@x\.example\): acknowledgement: unknown field "body"/);
    assert.throws(() => parseRules({ acknowledgement: { language: 'xx' } }), /^RulesError: acknowledgement\.language must be one of en, de$/);
  });
});

describe('rendering an acknowledgement', () => {
  test('HTML values are escaped, the text is not, and both end with the body marker', () => {
    const out = renderAcknowledgement({ ...DEFAULT_ACK_TEMPLATES.en, html: '<p>{{requesterName}}: {{subject}}</p>' }, values, MARKER);
    assert.equal(out.html, `<p>Ann &#34;&#60;script&#62;&#34; O&#39;Neil: Printer &#60;b&#62;on fire&#60;/b&#62;</p>\n<p style="color:#888888;font-size:small">${MARKER}</p>\n`);
    assert.match(out.text, /^Hello Ann "<script>" O'Neil,\n\nwe received your message and opened ticket \[MG-42\]\./);
    assert.ok(out.text.endsWith(`\n\n${MARKER}\n`));
  });

  test('the subject is one line, carries the ticket token in front unless the template places it, and is capped', () => {
    assert.equal(renderAcknowledgement(DEFAULT_ACK_TEMPLATES.en, { ...values, subject: 'two\r\nlines' }, MARKER).subject, '[MG-42] two lines');
    assert.equal(renderAcknowledgement({ ...DEFAULT_ACK_TEMPLATES.en, subject: 'Re: {{subject}} {{ticketToken}}' }, values, MARKER).subject, 'Re: Printer <b>on fire</b> [MG-42]');
    const long = renderAcknowledgement({ ...DEFAULT_ACK_TEMPLATES.en, subject: '{{subject}} {{ticketToken}}' }, { ...values, subject: 'x'.repeat(2000) }, MARKER).subject;
    assert.equal(long.length, 900);
    assert.ok(long.startsWith('[MG-42] '), 'a token the cap would cut goes in front');
  });

  test('German defaults read German', () => {
    const out = renderAcknowledgement(DEFAULT_ACK_TEMPLATES.de, values, MARKER);
    assert.match(out.text, /^Guten Tag Ann/);
    assert.match(out.text, /Ticket \[MG-42\] eröffnet/);
    assert.equal(out.subject, '[MG-42] Printer <b>on fire</b>');
  });
});

describe('reloading the rules', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-rules-reload-'));
  const file = path.join(dir, 'rules.json');
  const counted = async (result: string): Promise<number> =>
    (await registry.getSingleMetric('helpdesk_rules_reloads_total')!.get()).values.find((v) => v.labels.result === result)?.value ?? NaN;

  test('a valid file replaces the rules in place; a broken one keeps them, and each is counted', async () => {
    writeFileSync(file, JSON.stringify({ queues: [{ address: 'a@x.example', aliases: ['help@x.example'] }], defaultQueue: 'a@x.example' }));
    const rules = parseRules(JSON.parse('{"queues":[{"address":"a@x.example"},{"address":"help@x.example"}],"defaultQueue":"a@x.example"}'));
    assert.equal(queueFor(rules, 'help@x.example'), 'help@x.example');
    const [ok, error] = [await counted('ok'), await counted('error')];
    assert.deepEqual(reloadRules(rules, file), { ok: true, queues: ['a@x.example'] });
    assert.equal(queueFor(rules, 'help@x.example'), 'a@x.example', 'the same object now routes by the new file');
    writeFileSync(file, JSON.stringify({ queues: [{ address: 'b@x.example', acknowledgement: { text: '{{nope}}' } }], defaultQueue: 'b@x.example' }));
    const failed = reloadRules(rules, file);
    assert.equal(failed.ok, false);
    assert.match(failed.ok ? '' : failed.error, /queues\[0\] \(b@x\.example\): acknowledgement\.text: unknown variable \{\{nope\}\}/);
    assert.equal(queueFor(rules, 'help@x.example'), 'a@x.example', 'the old rules stay');
    writeFileSync(file, '{ not json');
    assert.equal(reloadRules(rules, file).ok, false);
    assert.equal(await counted('ok'), ok + 1);
    assert.equal(await counted('error'), error + 2);
  });
});
