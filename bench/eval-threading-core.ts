/**
 * Threading evaluation: reply scenarios of EMAIL-RULES.md §3 posted to a running Mailgate; each
 * says which ticket the probe email must land on (the parent's, or a new one) and by which rule.
 * Used by bench/eval-threading.ts (prints accuracy) and test/slow/threading-eval.test.ts.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';
import { deliveryReport } from '../test/helpers/reports';

export interface ThreadingView {
  state: {
    outcome: string;
    ticketId: string | null;
    ticketNumber: number | null;
    messageId: string | null;
    threadRule: string | null;
    /** The ticket a new ticket follows up (a stranger's reply, issue 12). */
    linkedTicketId?: string | null;
    acknowledgement: { messageId: string } | null;
  } | null;
  runStatus: string;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  expected: string;
  actual: string;
}

interface Context {
  send(mail: Mail.Options, options?: { raw?: string; delayMs?: number }): Promise<ThreadingView>;
  post(raw: Buffer | string): Promise<string>;
  settle(workflowId: string): Promise<ThreadingView>;
  id(tag: string): string;
  customer(tag: string): string;
  ackMail(to: string): Promise<{ replyTo: string; text: string }>;
  /** The running Mailgate's threadBySubject rules option (off unless the caller says otherwise). */
  subjectRule: { enabled: boolean; windowDays: number };
}

/** `linked`: a new ticket linked to that one (a stranger named it by `rule`; issue 12). */
type Expectation = { same: ThreadingView; rule: string } | { new: true } | { linked: ThreadingView; rule: string } | { suppressed: true };

interface Scenario {
  name: string;
  run(ctx: Context): Promise<{ probe: ThreadingView; expect: Expectation }>;
}

const SUPPORT = 'support@mailgate.local';

/** A first email from `customer`, settled, with its acknowledgement's Message-ID. */
async function opened(ctx: Context, customer: string, subject = 'Printer jam'): Promise<ThreadingView> {
  return ctx.send({ from: customer, to: SUPPORT, subject, messageId: `<${ctx.id('parent')}@customer.example>`, text: 'It jams.' });
}

const parentId = (v: ThreadingView): string => v.state!.messageId!;
const ackId = (v: ThreadingView): string => v.state!.acknowledgement!.messageId;
const token = (v: ThreadingView): string => `[MG-${v.state!.ticketNumber}]`;

function reply(ctx: Context, from: string, extra: Mail.Options): Mail.Options {
  return { from, to: SUPPORT, subject: 'Re: Printer jam', messageId: `<${ctx.id('reply')}@customer.example>`, text: 'Still jammed.', ...extra };
}

export const SCENARIOS: Scenario[] = [
  // In-Reply-To only
  ...['bracketed', 'bare'].map((form) => ({
    name: `In-Reply-To only (${form}) names the original`,
    async run(ctx: Context) {
      const c = ctx.customer('irt');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { inReplyTo: form === 'bare' ? parentId(parent) : `<${parentId(parent)}>` }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  })),
  {
    name: 'In-Reply-To with an unknown id first and the original second',
    async run(ctx) {
      const c = ctx.customer('irt2');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { inReplyTo: `<${ctx.id('unknown')}@x.example> <${parentId(parent)}>` }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  },
  // References only
  {
    name: 'References only, naming the original',
    async run(ctx) {
      const c = ctx.customer('refs');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { references: [`<${parentId(parent)}>`] }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  },
  {
    name: 'References only, original between unknown ids (newest first)',
    async run(ctx) {
      const c = ctx.customer('refs2');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { references: [`<${ctx.id('old')}@x.example>`, `<${parentId(parent)}>`, `<${ctx.id('new')}@x.example>`] }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  },
  {
    name: 'References only, ending with our acknowledgement',
    async run(ctx) {
      const c = ctx.customer('refs3');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { references: [`<${parentId(parent)}>`, `<${ackId(parent)}>`] }));
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  // Replies to the acknowledgement
  {
    name: 'reply to the acknowledgement (In-Reply-To)',
    async run(ctx) {
      const c = ctx.customer('ack');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { inReplyTo: `<${ackId(parent)}>` }));
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  {
    name: 'reply to the acknowledgement by a colleague of the requester',
    async run(ctx) {
      const c = ctx.customer('ack2');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, ctx.customer('colleague'), { inReplyTo: `<${ackId(parent)}>` }));
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  {
    name: 'reply to the acknowledgement with References only',
    async run(ctx) {
      const c = ctx.customer('ack3');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { references: [`<${ackId(parent)}>`] }));
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  // Subject token
  {
    name: 'subject token only, from the requester',
    async run(ctx) {
      const c = ctx.customer('tok');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { subject: `Re: ${token(parent)} Printer jam` }));
      return { probe, expect: { same: parent, rule: 'subject-token' } };
    },
  },
  {
    name: 'subject token only, from the requester writing the address in capitals',
    async run(ctx) {
      const c = ctx.customer('tokcase');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c.toUpperCase(), { subject: `Re: ${token(parent)} Printer jam` }));
      return { probe, expect: { same: parent, rule: 'subject-token' } };
    },
  },
  {
    name: 'subject token only, from a colleague Cc\'d by the requester who already commented',
    async run(ctx) {
      const c = ctx.customer('tokcol');
      const colleague = ctx.customer('tokcol2');
      const parent = await opened(ctx, c);
      await ctx.send(reply(ctx, c, { inReplyTo: `<${parentId(parent)}>`, cc: colleague }));
      await ctx.send(reply(ctx, colleague, { inReplyTo: `<${parentId(parent)}>` }));
      const probe = await ctx.send(reply(ctx, colleague, { subject: `Re: ${token(parent)} Printer jam` }));
      return { probe, expect: { same: parent, rule: 'subject-token' } };
    },
  },
  ...['[MG-n]', '[mg-n]'].map((form) => ({
    name: `subject token ${form} from a stranger opens a new ticket`,
    async run(ctx: Context) {
      const parent = await opened(ctx, ctx.customer('victim'));
      const t = form === '[MG-n]' ? token(parent) : token(parent).toLowerCase();
      const probe = await ctx.send(reply(ctx, ctx.customer('stranger'), { subject: `Re: ${t} Printer jam` }));
      return { probe, expect: { new: true } as const };
    },
  })),
  {
    name: 'subject token of a ticket that does not exist opens a new ticket',
    async run(ctx) {
      const probe = await ctx.send(reply(ctx, ctx.customer('ghost'), { subject: 'Re: [MG-99999999] Printer jam' }));
      return { probe, expect: { new: true } };
    },
  },
  // Strangers who know a Message-ID (issue 12): a linked new ticket, never a comment
  ...(['inReplyTo', 'references'] as const).map((header) => ({
    name: `a stranger with the parent's Message-ID in ${header === 'inReplyTo' ? 'In-Reply-To' : 'References only'} opens a linked ticket`,
    async run(ctx: Context) {
      const parent = await opened(ctx, ctx.customer('victim2'));
      const id = `<${parentId(parent)}>`;
      const probe = await ctx.send(reply(ctx, ctx.customer('stranger2'), header === 'inReplyTo' ? { inReplyTo: id } : { references: [id] }));
      return { probe, expect: { linked: parent, rule: 'message-id' } };
    },
  })),
  // Outlook-style replies without threading headers: our body marker
  ...['quoted', 'html', 'forwarded-by-colleague'].map((form) => ({
    name: `no threading headers, body marker ${form}`,
    async run(ctx: Context) {
      const c = ctx.customer('marker');
      const parent = await opened(ctx, c);
      const { text } = await ctx.ackMail(c);
      const marker = /\[ref:MG-\d+:[0-9a-f]{16}\]/.exec(text)?.[0] ?? 'missing-marker';
      const from = form === 'forwarded-by-colleague' ? ctx.customer('fwdcol') : c;
      const body =
        form === 'html'
          ? { html: `<p>Fixed, thanks.</p><blockquote>We received your message<br>${marker}</blockquote>` }
          : { text: `Fixed, thanks.\n\n> We received your message\n> ${marker}\n` };
      const probe = await ctx.send({ from, to: SUPPORT, subject: 'RE: Printer jam', messageId: `<${ctx.id('outlook')}@customer.example>`, ...body });
      // A forward hands the signed marker to whoever receives it: a stranger opens a linked ticket.
      return { probe, expect: form === 'forwarded-by-colleague' ? { linked: parent, rule: 'body-marker' } : { same: parent, rule: 'body-marker' } };
    },
  })),
  // Forwards
  {
    name: 'forward by the requester keeping References',
    async run(ctx) {
      const c = ctx.customer('fwd');
      const parent = await opened(ctx, c);
      const probe = await ctx.send(reply(ctx, c, { subject: 'Fwd: Printer jam', references: [`<${parentId(parent)}>`] }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  },
  {
    name: 'forward by a colleague without references or marker opens a new ticket',
    async run(ctx) {
      await opened(ctx, ctx.customer('fwd2'));
      const probe = await ctx.send({ from: ctx.customer('fwdcol2'), to: SUPPORT, subject: 'Fwd: Printer jam', messageId: `<${ctx.id('fwd')}@c.example>`, text: '---------- Forwarded message ---------\nIt jams.' });
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'forward as an attached message without references opens a new ticket',
    async run(ctx) {
      const parent = await opened(ctx, ctx.customer('fwd3'));
      const attached = `From: someone@customer.example\r\nTo: ${SUPPORT}\r\nMessage-ID: <${parentId(parent)}>\r\nSubject: Printer jam\r\n\r\nIt jams.\r\n`;
      const probe = await ctx.send({
        from: ctx.customer('fwdcol3'),
        to: SUPPORT,
        subject: 'Fwd: Printer jam',
        messageId: `<${ctx.id('fwdatt')}@c.example>`,
        text: 'See attached.',
        attachments: [{ filename: 'original.eml', content: attached, contentType: 'message/rfc822' }],
      });
      return { probe, expect: { new: true } };
    },
  },
  // Bounces of our acknowledgement
  ...[
    { status: '5.1.1', action: 'failed', asMessage: false, label: 'hard, returned headers' },
    { status: '4.2.2', action: 'delayed', asMessage: true, label: 'soft, returned message' },
  ].map((b) => ({
    name: `bounce of an acknowledgement (${b.label})`,
    async run(ctx: Context) {
      const c = ctx.customer('bounced');
      const parent = await opened(ctx, c);
      const wf = await ctx.post(deliveryReport({ recipient: c, status: b.status, action: b.action, original: ackId(parent), asMessage: b.asMessage, id: ctx.id('dsn') }));
      return { probe: await ctx.settle(wf), expect: { same: parent, rule: 'bounce-original' } };
    },
  })),
  {
    name: 'bounce without a report, answering the acknowledgement',
    async run(ctx) {
      const c = ctx.customer('bounced3');
      const parent = await opened(ctx, c);
      const probe = await ctx.send({
        from: 'MAILER-DAEMON@mx.customer.example',
        to: SUPPORT,
        subject: 'Undeliverable: Printer jam',
        messageId: `<${ctx.id('nd')}@mx.customer.example>`,
        inReplyTo: `<${ackId(parent)}>`,
        text: 'Your message could not be delivered.',
      });
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  // Replies that overtake their parent
  ...[1500, 3000].map((delayMs) => ({
    name: `reply arriving ${delayMs} ms before its parent`,
    async run(ctx: Context) {
      const c = ctx.customer('race');
      const pid = `${ctx.id('late-parent')}@customer.example`;
      const child = await ctx.post(
        await new MailComposer(reply(ctx, c, { inReplyTo: `<${pid}>`, references: [`<${pid}>`] })).compile().build(),
      );
      await new Promise((r) => setTimeout(r, delayMs));
      const parent = await ctx.send({ from: c, to: SUPPORT, subject: 'Printer jam', messageId: `<${pid}>`, text: 'It jams.' });
      return { probe: await ctx.settle(child), expect: { same: parent, rule: 'message-id' } };
    },
  })),
  {
    name: 'reply whose parent never arrives opens a new ticket after the wait',
    async run(ctx) {
      const probe = await ctx.send(reply(ctx, ctx.customer('orphan'), { inReplyTo: `<${ctx.id('never')}@customer.example>` }));
      return { probe, expect: { new: true } };
    },
  },
  // Reply tokens in the recipient address
  ...['as sent', 'upper-case'].map((form) => ({
    name: `reply to the plus-address reply token (${form})`,
    async run(ctx: Context) {
      const c = ctx.customer('plus');
      const parent = await opened(ctx, c);
      const { replyTo } = await ctx.ackMail(c);
      const to = form === 'upper-case' ? replyTo.toUpperCase() : replyTo;
      const probe = await ctx.send({ from: c, to, subject: 'about my ticket', messageId: `<${ctx.id('plus')}@customer.example>`, text: 'x' });
      return { probe, expect: { same: parent, rule: 'reply-token' } };
    },
  })),
  {
    name: 'a forged reply token opens a new ticket',
    async run(ctx) {
      const parent = await opened(ctx, ctx.customer('forge'));
      const probe = await ctx.send({
        from: ctx.customer('forger'),
        to: `support+mg${parent.state!.ticketNumber}.0123456789abcdef@mailgate.local`,
        subject: 'let me in',
        messageId: `<${ctx.id('forge')}@evil.example>`,
        text: 'x',
      });
      return { probe, expect: { new: true } };
    },
  },
  // New conversations and edge cases
  {
    name: 'a brand-new email opens a new ticket',
    async run(ctx) {
      return { probe: await opened(ctx, ctx.customer('fresh'), 'A new problem'), expect: { new: true } };
    },
  },
  {
    name: 'an email whose In-Reply-To names itself opens a new ticket',
    async run(ctx) {
      const id = `${ctx.id('self')}@customer.example`;
      const probe = await ctx.send({ from: ctx.customer('self'), to: SUPPORT, subject: 'Loop?', messageId: `<${id}>`, inReplyTo: `<${id}>`, text: 'x' });
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'a reply to a ticket of another queue still threads onto it',
    async run(ctx) {
      const c = ctx.customer('xqueue');
      const parent = await ctx.send({ from: c, to: 'billing@mailgate.local', subject: 'Invoice', messageId: `<${ctx.id('bill')}@customer.example>`, text: 'x' });
      const probe = await ctx.send(reply(ctx, c, { inReplyTo: `<${parentId(parent)}>` }));
      return { probe, expect: { same: parent, rule: 'message-id' } };
    },
  },
  {
    name: 'a second reply in a long thread (References of three, our acknowledgement among them): our signed id decides',
    async run(ctx) {
      const c = ctx.customer('long');
      const parent = await opened(ctx, c);
      const first = await ctx.send(reply(ctx, c, { inReplyTo: `<${parentId(parent)}>`, references: [`<${parentId(parent)}>`] }));
      const probe = await ctx.send(
        reply(ctx, c, { inReplyTo: `<${first.state!.messageId}>`, references: [`<${parentId(parent)}>`, `<${ackId(parent)}>`, `<${first.state!.messageId}>`] }),
      );
      // EMAIL-RULES.md §3 tries our own signed Message-IDs (rule 2) before stored ones (rule 3).
      return { probe, expect: { same: parent, rule: 'own-message-id' } };
    },
  },
  {
    name: 'a reply quoting a Message-ID we never saw, with a stranger subject token, opens a new ticket',
    async run(ctx) {
      const parent = await opened(ctx, ctx.customer('mix'));
      const probe = await ctx.send(reply(ctx, ctx.customer('mix2'), { subject: `Re: ${token(parent)}`, references: [`<${ctx.id('unseen')}@x.example>`] }));
      return { probe, expect: { new: true } };
    },
  },
];

/** A subject no other scenario or run uses: ambiguity is judged over every ticket of the queue. */
const uniqueSubject = (ctx: Context, words: string): string => `${words} ${ctx.id('subj')}`;

/** A reply with no threading header, token or marker: only its subject and sender say where it belongs. */
function headerless(ctx: Context, from: string, subject: string, extra: Mail.Options = {}): Mail.Options {
  return { from, to: SUPPORT, subject, messageId: `<${ctx.id('headerless')}@customer.example>`, text: 'Any news on this?', ...extra };
}

/** Threading by subject and participant (issue 14, class 7): only when the rules enable it. */
export const SUBJECT_SCENARIOS: Scenario[] = [
  {
    name: 'a header-less "Re:" from the requester joins the one ticket with its subject (subject-participant, when enabled)',
    async run(ctx) {
      const c = ctx.customer('subj');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      const parent = await opened(ctx, c, subject);
      const probe = await ctx.send(headerless(ctx, c, `Re: ${subject}`));
      return { probe, expect: ctx.subjectRule.enabled ? { same: parent, rule: 'subject-participant' } : { new: true } };
    },
  },
  {
    name: 'a header-less "AW: [tag]" reply from a colleague who already commented joins it too (when enabled)',
    async run(ctx) {
      const c = ctx.customer('subjcol');
      const colleague = ctx.customer('subjcol2');
      const subject = uniqueSubject(ctx, 'Scanner drivers missing');
      const parent = await opened(ctx, c, subject);
      await ctx.send(reply(ctx, colleague, { subject: `Re: ${subject}`, inReplyTo: `<${ackId(parent)}>` }));
      const probe = await ctx.send(headerless(ctx, colleague, `AW: [intern] ${subject}`));
      return { probe, expect: ctx.subjectRule.enabled ? { same: parent, rule: 'subject-participant' } : { new: true } };
    },
  },
  {
    name: 'a header-less reply with the subject from a non-participant opens a new ticket',
    async run(ctx) {
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, ctx.customer('subjowner'), subject);
      const probe = await ctx.send(headerless(ctx, ctx.customer('subjstranger'), `Re: ${subject}`));
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'a header-less reply from the requester after the window opens a new ticket',
    async run(ctx) {
      const c = ctx.customer('subjlate');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, c, subject);
      if (ctx.subjectRule.enabled) await new Promise((r) => setTimeout(r, ctx.subjectRule.windowDays * 86_400_000 + 3000));
      const probe = await ctx.send(headerless(ctx, c, `Re: ${subject}`));
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'two tickets of the requester with the subject: a header-less reply is ambiguous and opens a new ticket',
    async run(ctx) {
      const c = ctx.customer('subjtwo');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, c, subject);
      await ctx.send({ from: c, to: SUPPORT, subject, messageId: `<${ctx.id('second')}@customer.example>`, text: 'The other printer too.' });
      const probe = await ctx.send(headerless(ctx, c, `Re: ${subject}`));
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'a new email (no reply prefix) with the subject of the requester\'s ticket opens a new ticket',
    async run(ctx) {
      const c = ctx.customer('subjfresh');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, c, subject);
      const probe = await ctx.send(headerless(ctx, c, subject));
      return { probe, expect: { new: true } };
    },
  },
  {
    name: 'a reply naming a parent never seen, with the subject of the requester\'s ticket, waits and opens a new ticket (threading headers exclude the subject rule)',
    async run(ctx) {
      const c = ctx.customer('subjparent');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, c, subject);
      const probe = await ctx.send(headerless(ctx, c, `Re: ${subject}`, { inReplyTo: `<${ctx.id('unseen')}@customer.example>` }));
      return { probe, expect: { new: true } };
    },
  },
  ...['Hello', 'Question', '(no subject)', ''].map((generic) => ({
    name: `a generic subject ("${generic}") never threads by subject`,
    async run(ctx: Context) {
      const c = ctx.customer('subjgeneric');
      await opened(ctx, c, generic);
      const probe = await ctx.send(headerless(ctx, c, `Re: ${generic}`));
      return { probe, expect: { new: true } as const };
    },
  })),
  {
    name: 'an auto-reply with the subject of the requester\'s ticket never threads by subject (suppressed)',
    async run(ctx) {
      const c = ctx.customer('subjauto');
      const subject = uniqueSubject(ctx, 'Label printer offline');
      await opened(ctx, c, subject);
      const probe = await ctx.send(headerless(ctx, c, `Re: ${subject}`, { headers: { 'Auto-Submitted': 'auto-replied' }, text: 'I am away until Monday.' }));
      return { probe, expect: { suppressed: true } };
    },
  },
];

export async function evaluateThreading(options: {
  /** A fetch that signs ingress requests and sends the admin token (src/api/signing.ts). */
  fetch: typeof fetch;
  baseUrl: string;
  mailViewUrl: string;
  run: string;
  onResult?: (result: ScenarioResult) => void;
  /** The running Mailgate's threadBySubject option: the subject scenarios expect a join only when enabled. */
  subjectRule?: { enabled: boolean; windowDays: number };
}): Promise<ScenarioResult[]> {
  const { baseUrl } = options;
  let counter = 0;
  const settle = async (workflowId: string): Promise<ThreadingView> => {
    const deadline = Date.now() + 120_000;
    // What the last answer said, so a run that never settles says where it stood.
    let last = 'no answer';
    while (Date.now() < deadline) {
      const response = await options.fetch(`${baseUrl}/v1/emails/${workflowId}`);
      if (response.ok) {
        const view = (await response.json()) as ThreadingView & { stateError?: string; state: (ThreadingView['state'] & { step?: string; parked?: unknown }) | null };
        if (view.runStatus === 'COMPLETED' && view.state) return view;
        if (view.runStatus === 'FAILED') throw new Error(`${workflowId} failed`);
        last = `${view.runStatus}, step ${view.state?.step ?? '?'}${view.state?.parked ? `, parked ${JSON.stringify(view.state.parked)}` : ''}${view.stateError ? `, ${view.stateError}` : ''}`;
      } else {
        last = `HTTP ${response.status}`;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${workflowId} did not settle in 120 s (last seen: ${last})`);
  };
  const post = async (raw: Buffer | string): Promise<string> => {
    const response = await options.fetch(`${baseUrl}/v1/inbound/mime`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822' },
      body: typeof raw === 'string' ? raw : new Uint8Array(raw),
    });
    const body = (await response.json()) as { emails?: { workflowId: string }[] };
    if (response.status !== 202 || !body.emails?.[0]) throw new Error(`POST answered ${response.status}: ${JSON.stringify(body)}`);
    return body.emails[0].workflowId;
  };
  const ctx: Context = {
    post,
    settle,
    send: async (mail) => settle(await post(await new MailComposer(mail).compile().build())),
    id: (tag) => `${tag}.${options.run}.${++counter}`,
    customer: (tag) => `${tag}.${options.run}.${++counter}@customer.example`,
    subjectRule: options.subjectRule ?? { enabled: false, windowDays: 14 },
    async ackMail(to) {
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const mail = (await (await fetch(`${options.mailViewUrl}/email`)).json()) as { to: { address: string }[]; headers: Record<string, string>; text?: string }[];
        const ack = mail.find((m) => m.to.some((t) => t.address === to));
        if (ack) return { replyTo: String(ack.headers['reply-to'] ?? ''), text: ack.text ?? '' };
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`no acknowledgement to ${to}`);
    },
  };
  const results: ScenarioResult[] = [];
  for (const scenario of [...SCENARIOS, ...SUBJECT_SCENARIOS]) {
    let result: ScenarioResult;
    try {
      const { probe, expect } = await scenario.run(ctx);
      const actual = `${probe.state?.outcome} ticket=${probe.state?.ticketId} rule=${probe.state?.threadRule}`;
      if ('suppressed' in expect) {
        const ok = probe.state?.outcome === 'suppressed' && probe.state.threadRule === null;
        result = { name: scenario.name, ok, expected: 'suppressed, no thread', actual };
      } else if ('new' in expect) {
        const ok = probe.state?.outcome === 'ticket_created' && probe.state.threadRule === null;
        result = { name: scenario.name, ok, expected: 'new ticket', actual };
      } else if ('linked' in expect) {
        const parentTicket = expect.linked.state?.ticketId;
        const ok = probe.state?.outcome === 'ticket_created' && probe.state.ticketId !== parentTicket && probe.state.linkedTicketId === parentTicket && probe.state.threadRule === expect.rule;
        result = { name: scenario.name, ok, expected: `new ticket linked to ${parentTicket} rule=${expect.rule}`, actual: `${actual} linked=${probe.state?.linkedTicketId}` };
      } else {
        const ok = probe.state?.ticketId === expect.same.state?.ticketId && probe.state?.threadRule === expect.rule;
        result = { name: scenario.name, ok, expected: `ticket=${expect.same.state?.ticketId} rule=${expect.rule}`, actual };
      }
    } catch (error) {
      result = { name: scenario.name, ok: false, expected: 'a result', actual: `error: ${error instanceof Error ? error.message : String(error)}` };
    }
    results.push(result);
    options.onResult?.(result);
  }
  return results;
}
