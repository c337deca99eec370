/**
 * Rate limits key on the mailbox, not the spelling, through the real pipeline: `ann+1@`, `ann+2@`
 * and `Ann@` share one new-ticket budget and one acknowledgement budget, and the acknowledgements
 * of one domain share a budget of their own. Runs with test/fixtures/rules/trust-rate-keys.json
 * (4 new tickets per sender, 2 acknowledgements per recipient, 3 per domain).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startApp, type RunningApp } from '../helpers/app';
import { compose, postMime } from '../helpers/mail';
import { receivedMail } from '../helpers/maildev';
import { settled, type EmailView } from '../helpers/pipeline';
import { ROOT, unique } from '../helpers/stack';

const RULES = path.join(ROOT, 'test/fixtures/rules/trust-rate-keys.json');

async function send(app: RunningApp, from: string, subject: string): Promise<EmailView> {
  const raw = await compose({ from, to: 'support@mailgate.local', subject, text: 'hello', messageId: `<${unique('m')}@customer.example>` });
  const posted = await postMime(app.url, raw);
  assert.equal(posted.status, 202, JSON.stringify(posted.body));
  return settled(app.url, posted.body.emails![0]!.workflowId, 90_000);
}

async function sendAll(app: RunningApp, senders: string[]): Promise<EmailView[]> {
  const views: EmailView[] = [];
  for (const [i, sender] of senders.entries()) views.push(await send(app, sender, `Probe ${i}`));
  return views;
}

/** A domain of this run only, so budgets spent by earlier runs or other tests do not count. */
function domain(prefix: string): string {
  return `${unique(prefix)}.example`;
}

describe('rate limits key on the mailbox, not the spelling', () => {
  let app: RunningApp;
  before(async () => {
    app = await startApp({ env: { MAILGATE_RULES_FILE: RULES } });
  });
  after(async () => {
    await app?.stop();
  });

  test('plus-tags and upper case share one acknowledgement budget; each acknowledgement goes to the address as written', async () => {
    const d = domain('ack');
    const views = await sendAll(app, [`ann+1@${d}`, `ann+2@${d}`, `Ann@${d}`]);
    assert.deepEqual(views.map((v) => v.state?.outcome), ['ticket_created', 'ticket_created', 'ticket_created']);
    assert.deepEqual(views.map((v) => v.state?.acknowledgement?.sent), [true, true, false]);
    assert.match(views[2]!.state?.acknowledgement?.reason ?? '', new RegExp(`per-recipient rate limit of 2 acknowledgements per 3600 s to ann@${d.replace(/\./g, '\\.')} reached`));
    const acks = (await receivedMail()).filter((m) => m.to.some((t) => t.address.endsWith(`@${d}`)));
    assert.deepEqual(acks.flatMap((m) => m.to.map((t) => t.address)).sort(), [`ann+1@${d}`, `ann+2@${d}`], 'sent to the tagged addresses as written, none to the third');
  });

  test('one more new ticket than the budget, each from another spelling of one mailbox: the last is suppressed with the rate-limit reason', async () => {
    const d = domain('flood');
    const views = await sendAll(app, [`ann+1@${d}`, `ann+2@${d}`, `Ann@${d}`, `ANN+x@${d.toUpperCase()}`, `ann+1+2@${d}`]);
    assert.deepEqual(views.map((v) => v.state?.outcome), ['ticket_created', 'ticket_created', 'ticket_created', 'ticket_created', 'suppressed']);
    assert.match(views[4]!.state?.reasons.join(' ') ?? '', /rate limit of 4 new tickets per 3600 s/);
    assert.equal(views[4]!.state?.ticketId, null);
    assert.deepEqual(views.slice(0, 4).map((v) => v.state?.acknowledgement?.sent), [true, true, false, false], 'only 2 acknowledgements per mailbox');
    for (const view of views.slice(2, 4)) assert.match(view.state?.acknowledgement?.reason ?? '', /per-recipient rate limit of 2 acknowledgements/);
  });

  test('different mailboxes of one domain share the per-domain budget, and the reason names it; another domain is not affected', async () => {
    const d = domain('scatter');
    const views = await sendAll(app, [`a@${d}`, `b@${d}`, `c@${d.toUpperCase()}`, `d+1@${d}`]);
    assert.deepEqual(views.map((v) => v.state?.outcome), ['ticket_created', 'ticket_created', 'ticket_created', 'ticket_created']);
    assert.deepEqual(views.map((v) => v.state?.acknowledgement?.sent), [true, true, true, false]);
    assert.match(views[3]!.state?.acknowledgement?.reason ?? '', new RegExp(`per-domain rate limit of 3 acknowledgements per 3600 s to the domain ${d.replace(/\./g, '\\.')} reached`));
    const elsewhere = await send(app, `a@${domain('other')}`, 'Unrelated');
    assert.equal(elsewhere.state?.acknowledgement?.sent, true);
    const acks = (await receivedMail()).filter((m) => m.to.some((t) => t.address.endsWith(`@${d}`)));
    assert.equal(acks.length, 3, 'no acknowledgement past the domain budget reached the SMTP server');
  });
});
