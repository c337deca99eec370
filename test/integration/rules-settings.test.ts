/**
 * Settings an administrator expects (issue 13, point 9): per-queue acknowledgement templates and
 * languages, rendered into real acknowledgements that MailDev receives; and a rules file reloaded on
 * SIGHUP by the API (routing) and the worker (templates), where a broken file keeps the old rules.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readJsonLogs, startApp, type RunningApp } from '../helpers/app';
import { mailMatching, type ReceivedMail } from '../helpers/maildev';
import { compose, postMime } from '../helpers/mail';
import { settled } from '../helpers/pipeline';
import { eventually, ROOT, unique } from '../helpers/stack';

const FIXTURE = path.join(ROOT, 'test/fixtures/rules/ack-templates.json');

describe('acknowledgement templates and rules reload', () => {
  let app: RunningApp;
  let rulesFile: string;

  before(async () => {
    // startApp makes the log folder; the rules file is written next to the test's other files.
    rulesFile = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', `${unique('rules')}.json`);
    copyFileSync(FIXTURE, rulesFile);
    app = await startApp({ env: { MAILGATE_RULES_FILE: rulesFile } });
  });
  after(async () => {
    await app?.stop();
  });

  /** Sends one email to `to` and returns the queue it reached and its acknowledgement. */
  async function sendTo(to: string, options: { fromName?: string; subject?: string } = {}): Promise<{ queue: string; ticketNumber: number; ack: ReceivedMail }> {
    const id = unique('tpl');
    const customer = `${id}@customer.example`;
    const raw = await compose({
      from: options.fromName ? { name: options.fromName, address: customer } : customer,
      to,
      subject: options.subject ?? `Question ${id}`,
      messageId: `<${id}@customer.example>`,
      text: 'Hello.',
    });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const email = posted.body.emails![0]!;
    const view = await settled(app.url, email.workflowId);
    assert.equal(view.state?.outcome, 'ticket_created');
    assert.equal(view.state?.acknowledgement?.sent, true, JSON.stringify(view.state?.reasons));
    const [ack] = await mailMatching(`the acknowledgement to ${customer}`, (m) => m.to.some((t) => t.address === customer));
    const ticketNumber = Number(/\[MG-(\d+)\]/.exec(ack!.subject)?.[1]);
    return { queue: email.queue, ticketNumber, ack: ack! };
  }

  test('a queue\'s own templates fill every variable: HTML values escaped, the subject one line, the marker kept', async () => {
    const { ack, ticketNumber } = await sendTo('it@mailgate.local', { fromName: 'Ann <b>Bold</b>', subject: 'Printer <i>jam</i>' });
    assert.equal(ack.subject, `[it@mailgate.local] [MG-${ticketNumber}] Printer <i>jam</i>`);
    assert.match(ack.text ?? '', new RegExp(`^Dear Ann <b>Bold</b>, ticket number ${ticketNumber} is open in it@mailgate\\.local\\.\\n\\n\\[ref:MG-${ticketNumber}:[0-9a-f]{16}\\]`));
    assert.match(ack.html ?? '', new RegExp(`^<h1>Printer &#60;i&#62;jam&#60;/i&#62;</h1><p>Dear Ann &#60;b&#62;Bold&#60;/b&#62;, ticket ${ticketNumber}\\.</p>`));
    assert.doesNotMatch(ack.html ?? '', /<b>|<i>/, 'no customer markup reaches the HTML');
    assert.equal(ack.headers['content-language'], 'en');
  });

  test('a German queue acknowledges in German; a queue without templates gets the English defaults', async () => {
    const german = await sendTo('billing@mailgate.local', { fromName: 'Jörg' });
    assert.match(german.ack.text ?? '', /^Guten Tag Jörg,\n\nwir haben Ihre Nachricht erhalten und das Ticket \[MG-\d+\] eröffnet\./);
    assert.match(german.ack.html ?? '', /<p>Guten Tag Jörg,<\/p>/);
    assert.equal(german.ack.headers['content-language'], 'de');
    const english = await sendTo('support@mailgate.local');
    assert.match(english.ack.text ?? '', /^Hello \S+@customer\.example,\n\nwe received your message and opened ticket \[MG-\d+\]\./, 'no display name: the address');
    assert.match(english.ack.subject, /^\[MG-\d+\] Question /);
  });

  test('SIGHUP reloads the rules in the API (routing) and the worker (templates); a broken file keeps the old rules, logged and counted', async () => {
    assert.equal((await sendTo('help@mailgate.local')).queue, 'support@mailgate.local');

    const rules = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { queues: { address: string; aliases?: string[]; acknowledgement?: Record<string, string> }[] };
    rules.queues[0]!.aliases = [];
    rules.queues[0]!.acknowledgement = { subject: 'Reloaded {{ticketToken}}' };
    rules.queues[1]!.aliases = ['help@mailgate.local'];
    writeFileSync(rulesFile, JSON.stringify(rules));
    app.signal('SIGHUP');
    const reloaded = (prefix: string, msg: string, count: number) =>
      eventually(`${count} "${msg}" in the ${prefix} log`, async () => (readJsonLogs(app.logDir, prefix).lines.filter((l) => l.msg === msg).length >= count ? true : undefined));
    await reloaded('api', 'rules reloaded', 1);
    await reloaded('worker', 'rules reloaded', 1);
    assert.equal((await sendTo('help@mailgate.local')).queue, 'billing@mailgate.local', 'the API routes by the new file');
    const after = await sendTo('support@mailgate.local');
    assert.equal(after.ack.subject, `Reloaded [MG-${after.ticketNumber}]`, 'the worker acknowledges with the new template');

    rules.queues[0]!.acknowledgement = { subject: 'Broken {{ticketNo}}' };
    rules.queues[1]!.aliases = [];
    writeFileSync(rulesFile, JSON.stringify(rules));
    app.signal('SIGHUP');
    await reloaded('api', 'rules reload failed; the previous rules stay in force', 1);
    await reloaded('worker', 'rules reload failed; the previous rules stay in force', 1);
    const failure = readJsonLogs(app.logDir, 'api').lines.find((l) => l.msg === 'rules reload failed; the previous rules stay in force');
    assert.match(String(failure?.error), /queues\[0\] \(support@mailgate\.local\): acknowledgement\.subject: unknown variable \{\{ticketNo\}\}/);
    assert.equal((await sendTo('help@mailgate.local')).queue, 'billing@mailgate.local', 'the old routing stays');
    const still = await sendTo('support@mailgate.local');
    assert.equal(still.ack.subject, `Reloaded [MG-${still.ticketNumber}]`, 'the old templates stay');
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    assert.match(metrics, /^helpdesk_rules_reloads_total\{result="ok"\} 1$/m);
    assert.match(metrics, /^helpdesk_rules_reloads_total\{result="error"\} 1$/m);
  });
});
