/**
 * Agents' pages: the ticket list (queue, status, priority and text filters, paging) and a ticket's
 * page (the conversation, attachments with their scan verdict and short-lived links, internal notes,
 * reply, status / priority / queue / assignee). Every page works without JavaScript; every form
 * posts its session's CSRF token (checked in ./index.ts before any handler here runs).
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { TicketStore, TicketWithComments, WebTicketEmail } from '../../adapters/ticket-store/types';
import type { Config } from '../../config';
import type { TicketPriority, TicketStatus } from '../../domain/vocabulary';
import type { Logger } from '../../logger';
import { agentReply } from '../../workflows';
import { agentReplyWorkflowId } from '../../workflows/ids';
import { ticketPresenter } from '../tickets';
import { html, query, type Html } from './html';
import { sendPage, sendProblem, WEB } from './layout';
import { messageFrameUrl } from './message-frame';
import { signedIn, type SignedIn } from './session';

export interface TicketPagesDeps {
  config: Config;
  tickets: TicketStore;
  temporal: Client;
  log: Logger;
}

export const STATUSES: readonly TicketStatus[] = ['open', 'pending', 'closed'];
export const PRIORITIES: readonly TicketPriority[] = ['low', 'normal', 'high', 'urgent'];
const PAGE_SIZE = 25;
const MAX_TEXT = 20_000;
/** How long the reply form waits for the send before showing the ticket anyway. */
const REPLY_WAIT_MS = 15_000;
const NONCE = /^[0-9a-f]{32}$/;

/** Fixed notices by code: a redirect never carries text of its own into the page. */
const NOTICES: Record<string, string> = {
  'reply-sent': 'Your reply was sent and added to the conversation.',
  'reply-sending': 'Your reply is being sent; it appears below once it is out.',
  'note-added': 'Internal note added.',
  updated: 'Ticket updated.',
  unchanged: 'Nothing to change.',
};

const nonce = (): string => randomBytes(16).toString('hex');
const one = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

function csrfField(user: SignedIn): Html {
  return html`<input type="hidden" name="_csrf" value="${user.csrfToken}">`;
}

function options<T extends string>(values: readonly T[], selected: string | undefined, anyLabel?: string): Html {
  return html`${anyLabel !== undefined ? html`<option value="">${anyLabel}</option>` : ''}${values.map(
    (v) => html`<option value="${v}"${v === selected ? html` selected` : ''}>${v}</option>`,
  )}`;
}

function when(iso: string): Html {
  return html`<time datetime="${iso}">${iso.replace('T', ' ').slice(0, 16)} UTC</time>`;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function temporalWorkflowUrl(config: Config, workflowId: string): string {
  return `${config.web.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function ticketListBody(
  filter: { queue?: string; status?: string; priority?: string; q?: string },
  page: number,
  result: Awaited<ReturnType<TicketStore['findTickets']>>,
  queues: string[],
): Html {
  const link = (p: number): string => `${WEB}/tickets${query({ ...filter, page: p > 1 ? p : undefined })}`;
  return html`<h1>Tickets</h1>
<form class="filters" method="get" action="${WEB}/tickets" role="search" aria-label="Filter tickets">
  <label>Queue <select name="queue">${options(queues, filter.queue, 'any queue')}</select></label>
  <label>Status <select name="status">${options(STATUSES, filter.status, 'any status')}</select></label>
  <label>Priority <select name="priority">${options(PRIORITIES, filter.priority, 'any priority')}</select></label>
  <label>Subject or requester <input type="search" name="q" value="${filter.q ?? ''}" maxlength="200"></label>
  <button type="submit">Filter</button>
</form>
${
  result.tickets.length === 0
    ? html`<p>No tickets match.</p>`
    : html`<table>
<caption class="meta">Page ${page}, newest activity first</caption>
<thead><tr><th scope="col">Ticket</th><th scope="col">Subject</th><th scope="col">Requester</th><th scope="col">Queue</th><th scope="col">Status</th><th scope="col">Priority</th><th scope="col">Assignee</th><th scope="col">Updated</th></tr></thead>
<tbody>${result.tickets.map(
        (t) => html`<tr>
  <td><a href="${WEB}/tickets/${t.number}">MG-${t.number}</a></td>
  <td><a href="${WEB}/tickets/${t.number}">${t.subject || '(no subject)'}</a></td>
  <td>${t.requester}</td><td>${t.queue}</td>
  <td><span class="badge">${t.status}</span></td><td>${t.priority}</td>
  <td>${t.assignee ?? html`<span class="meta">nobody</span>`}</td><td>${when(t.updated)}</td>
</tr>`,
      )}</tbody></table>`
}
<nav class="paging" aria-label="Pages">
  ${page > 1 ? html`<a href="${link(page - 1)}" rel="prev">Newer tickets</a>` : ''}
  ${result.more ? html`<a href="${link(page + 1)}" rel="next">Older tickets</a>` : ''}
</nav>`;
}

function conversation(deps: TicketPagesDeps, ticket: ReturnType<ReturnType<typeof ticketPresenter>>): Html {
  return html`${ticket.comments.map(
    (c, i) => html`<article class="comment${c.internal ? ' internal' : ''}" aria-labelledby="comment-${i}">
  <header><strong id="comment-${i}">${c.author}</strong>
    ${c.internal ? html`<span class="badge">internal note</span>` : ''}
    <span class="meta">${when(c.created)}</span></header>
  ${
    c.html
      ? html`<iframe class="message" sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" loading="lazy" title="Message from ${c.author}" src="${messageFrameUrl(ticket.number, c.id)}"></iframe>
  <details><summary>Plain text</summary><pre>${c.text}</pre></details>`
      : html`<pre>${c.text}</pre>`
  }
  ${
    c.attachments.length
      ? html`<h3 class="meta">Attachments</h3><ul class="attachments">${c.attachments.map(
          (a) => html`<li>${a.link ? html`<a href="${a.link}" rel="noreferrer">${a.filename}</a>` : html`<span>${a.filename}</span>`}
      <span class="meta">${size(a.size)}, ${a.contentType}</span>
      <span class="badge">virus scan: ${a.scanStatus}${a.scanDetail ? html` (${a.scanDetail})` : ''}</span>
      ${a.link ? html`<span class="meta">link valid ${Math.round(deps.config.attachmentLinks.ttlSeconds / 60)} minutes</span>` : html`<span class="meta">no link: not a clean file</span>`}</li>`,
        )}</ul>`
      : ''
  }
</article>`,
  )}`;
}

function ticketBody(
  deps: TicketPagesDeps,
  user: SignedIn,
  ticket: ReturnType<ReturnType<typeof ticketPresenter>>,
  assignee: string | null,
  emails: WebTicketEmail[],
): Html {
  const action = (what: string): string => `${WEB}/tickets/${ticket.number}/${what}`;
  const queues = [...new Set([ticket.queue, ...deps.config.rules.queues.map((q) => q.address)])];
  const agents = deps.config.web.users.map((u) => u.name);
  if (assignee && !agents.includes(assignee)) agents.push(assignee);
  return html`<h1>MG-${ticket.number}: ${ticket.subject || '(no subject)'}</h1>
<dl class="facts">
  <dt>Requester</dt><dd>${ticket.requester}</dd>
  <dt>Queue</dt><dd>${ticket.queue}${ticket.extraQueues.length ? html` <span class="meta">(also ${ticket.extraQueues.join(', ')})</span>` : ''}</dd>
  <dt>Status</dt><dd><span class="badge">${ticket.status}</span></dd>
  <dt>Priority</dt><dd>${ticket.priority}</dd>
  <dt>Assignee</dt><dd>${assignee ?? 'nobody'}</dd>
  <dt>Opened</dt><dd>${when(ticket.created)}</dd>
  ${ticket.tags.length ? html`<dt>Tags</dt><dd>${ticket.tags.join(', ')}</dd>` : ''}
</dl>
<h2 id="change">Change</h2>
<form class="inline" method="post" action="${action('update')}" aria-labelledby="change">
  ${csrfField(user)}
  <label>Status <select name="status">${options(STATUSES, ticket.status)}</select></label>
  <label>Priority <select name="priority">${options(PRIORITIES, ticket.priority)}</select></label>
  <label>Queue <select name="queue">${options(queues, ticket.queue)}</select></label>
  <label>Assignee <select name="assignee"><option value="">nobody</option>${options(agents, assignee ?? undefined)}</select></label>
  <button type="submit">Save</button>
</form>
<h2>Conversation</h2>
${conversation(deps, ticket)}
<h2 id="reply">Reply to ${ticket.requester}</h2>
<form method="post" action="${action('reply')}" aria-labelledby="reply">
  ${csrfField(user)}
  <input type="hidden" name="nonce" value="${nonce()}">
  <label>Message <textarea name="text" required maxlength="${MAX_TEXT}"></textarea></label>
  <p><button type="submit">Send reply</button></p>
</form>
<h2 id="note">Internal note</h2>
<form method="post" action="${action('note')}" aria-labelledby="note">
  ${csrfField(user)}
  <input type="hidden" name="nonce" value="${nonce()}">
  <label>Note (agents only, never mailed) <textarea name="text" required maxlength="${MAX_TEXT}"></textarea></label>
  <p><button type="submit" class="secondary">Add note</button></p>
</form>
${
  emails.length
    ? html`<h2>Emails on this ticket</h2><ul>${emails.map(
        (e) => html`<li>${when(e.created)} ${e.subject} <span class="badge">${e.outcome}</span>
      <a href="${temporalWorkflowUrl(deps.config, e.workflowId)}" rel="noreferrer">workflow in the Temporal UI</a></li>`,
      )}</ul>`
    : ''
}`;
}

/** The latest message of the conversation and the ids before it, for In-Reply-To and References. */
function threadOf(ticket: TicketWithComments): { inReplyTo: string | null; references: string[] } {
  const ids = ticket.comments.filter((c) => !c.internal).map((c) => c.messageId);
  return { inReplyTo: ids.at(-1) ?? null, references: ids.slice(-20) };
}

export function ticketPagesRouter(deps: TicketPagesDeps): Router {
  const router = express.Router();
  const present = ticketPresenter({ publicUrl: deps.config.api.publicUrl, attachmentLinks: deps.config.attachmentLinks });
  const queues = (): string[] => deps.config.rules.queues.map((q) => q.address);
  const form = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 20 });

  const load = async (req: Request, res: Response): Promise<TicketWithComments | undefined> => {
    const number = String(req.params.number);
    const ticket = /^\d{1,12}$/.test(number) ? await deps.tickets.getTicketByNumber(Number(number)) : null;
    if (!ticket) sendProblem(res, signedIn(res), 404, 'No such ticket', `There is no ticket MG-${number}.`);
    return ticket ?? undefined;
  };
  const audit = (user: SignedIn, action: string, target: string, detail: string): Promise<void> =>
    deps.tickets.recordAudit({ at: new Date().toISOString(), username: user.username, action, target, detail });
  /** A reply or note form: its ticket, its text and its nonce, or a page saying what is wrong. */
  const textForm = async (req: Request, res: Response, refusal: string) => {
    const ticket = await load(req, res);
    if (!ticket) return undefined;
    const user = signedIn(res)!;
    const body = req.body as Record<string, unknown>;
    const text = typeof body.text === 'string' ? body.text.replace(/\r\n/g, '\n').trim() : '';
    const formNonce = typeof body.nonce === 'string' && NONCE.test(body.nonce) ? body.nonce : undefined;
    if (!text || text.length > MAX_TEXT || !formNonce) {
      sendProblem(res, user, 400, refusal, `Write 1 to ${MAX_TEXT} characters.`);
      return undefined;
    }
    return { ticket, user, text, nonce: formNonce };
  };
  const back = (res: Response, number: number, notice: string): void => {
    res.redirect(303, `${WEB}/tickets/${number}${query({ notice })}`);
  };

  router.get(`${WEB}/tickets`, async (req, res) => {
    const filter = {
      queue: one(req.query.queue)?.toLowerCase(),
      status: STATUSES.find((s) => s === req.query.status),
      priority: PRIORITIES.find((p) => p === req.query.priority),
      q: one(req.query.q)?.slice(0, 200),
    };
    const pageText = one(req.query.page) ?? '1';
    const page = /^\d{1,6}$/.test(pageText) && Number(pageText) >= 1 ? Number(pageText) : 1;
    const result = await deps.tickets.findTickets({ ...filter, text: filter.q, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE });
    sendPage(res, { title: 'Tickets', user: signedIn(res), current: `${WEB}/tickets`, body: ticketListBody(filter, page, result, queues()) });
  });

  router.get(`${WEB}/tickets/:number`, async (req, res) => {
    const ticket = await load(req, res);
    if (!ticket) return;
    const user = signedIn(res)!;
    const [assignee, emails] = await Promise.all([deps.tickets.ticketAssignee(ticket.id), deps.tickets.emailsOfTicket(ticket.id, 50)]);
    sendPage(res, {
      title: `MG-${ticket.number}`,
      user,
      current: `${WEB}/tickets`,
      notice: NOTICES[String(req.query.notice)],
      body: ticketBody(deps, user, present(ticket), assignee ?? null, emails),
    });
  });

  router.post(`${WEB}/tickets/:number/reply`, form, async (req, res) => {
    const posted = await textForm(req, res, 'Reply not sent');
    if (!posted) return;
    const { ticket, user, text, nonce: replyNonce } = posted;
    const workflowId = agentReplyWorkflowId(ticket.id, replyNonce);
    let handle;
    try {
      handle = await deps.temporal.workflow.start(agentReply, {
        workflowId,
        taskQueue: deps.config.temporal.taskQueue,
        args: [{ ticketId: ticket.id, ticketNumber: ticket.number, queue: ticket.queue, to: ticket.requester, subject: ticket.subject, text, agent: user.username, ...threadOf(ticket) }],
        staticSummary: `reply by ${user.username} to ticket #${ticket.number}`,
        // A finished reply's id is not reused: the same form sent after the send is still the one reply.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
      await audit(user, 'reply', `MG-${ticket.number}`, workflowId);
    } catch (error) {
      // The same form sent twice: the first run is the reply.
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      handle = deps.temporal.workflow.getHandle(workflowId);
    }
    let timer: NodeJS.Timeout | undefined;
    const sent = await Promise.race([
      handle.result().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), REPLY_WAIT_MS))),
    ]).finally(() => clearTimeout(timer));
    back(res, ticket.number, sent ? 'reply-sent' : 'reply-sending');
  });

  router.post(`${WEB}/tickets/:number/note`, form, async (req, res) => {
    const posted = await textForm(req, res, 'Note not added');
    if (!posted) return;
    const { ticket, user, text, nonce: noteNonce } = posted;
    // Keyed by the form's nonce: the same form sent twice is one note.
    const { created } = await deps.tickets.addComment(ticket.id, {
      messageId: `note.${noteNonce}@web.mailgate.invalid`,
      author: `${user.username} (agent)`,
      text,
      html: null,
      internal: true,
      attachments: [],
    });
    if (created) await audit(user, 'note', `MG-${ticket.number}`, `${text.length} characters`);
    back(res, ticket.number, 'note-added');
  });

  router.post(`${WEB}/tickets/:number/update`, form, async (req, res) => {
    const ticket = await load(req, res);
    if (!ticket) return;
    const user = signedIn(res)!;
    const body = req.body as Record<string, unknown>;
    const status = STATUSES.find((s) => s === body.status);
    const priority = PRIORITIES.find((p) => p === body.priority);
    const queue = typeof body.queue === 'string' ? body.queue.toLowerCase() : undefined;
    const assigneeText = typeof body.assignee === 'string' ? body.assignee : undefined;
    const agents = deps.config.web.users.map((u) => u.name);
    const current = (await deps.tickets.ticketAssignee(ticket.id)) ?? null;
    const assignee = assigneeText === '' ? null : agents.find((a) => a === assigneeText) ?? (assigneeText === current ? current : undefined);
    if (
      (body.status !== undefined && !status) ||
      (body.priority !== undefined && !priority) ||
      (queue !== undefined && queue !== ticket.queue && !queues().includes(queue)) ||
      (assigneeText !== undefined && assignee === undefined)
    ) {
      sendProblem(res, user, 400, 'Ticket not changed', 'Choose a status, priority, queue and assignee from the lists.');
      return;
    }
    const now = new Date().toISOString();
    const target = `MG-${ticket.number}`;
    const changes: string[] = [];
    if (status && status !== ticket.status) {
      await deps.tickets.setStatus(ticket.id, status);
      changes.push(`status ${ticket.status} → ${status}`);
    }
    if (priority && priority !== ticket.priority) {
      await deps.tickets.setPriority(ticket.id, priority, now);
      changes.push(`priority ${ticket.priority} → ${priority}`);
    }
    if (queue && queue !== ticket.queue) {
      await deps.tickets.moveTicket(ticket.id, queue);
      changes.push(`queue ${ticket.queue} → ${queue}`);
    }
    if (assignee !== undefined && assignee !== current) {
      await deps.tickets.setAssignee(ticket.id, assignee, now);
      changes.push(`assignee ${current ?? 'nobody'} → ${assignee ?? 'nobody'}`);
    }
    for (const change of changes) await audit(user, 'update', target, change);
    back(res, ticket.number, changes.length ? 'updated' : 'unchanged');
  });
  return router;
}
