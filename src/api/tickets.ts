/**
 * The built-in ticket store over HTTP: list and read tickets. Each clean attachment on a ticket
 * carries a signed link (./attachment-links.ts) that an agent opens without the admin token; it
 * expires after ATTACHMENT_LINK_TTL_SECONDS, and reading the ticket again gives fresh ones. A link
 * redirects to a presigned object-store URL that lives ATTACHMENT_URL_TTL_SECONDS, so a leaked
 * URL expires too. Quarantined or skipped files have no link at all. Operators with the admin token
 * can also open /v1/attachments/<id>.
 */
import express, { type Request, type Response, type Router } from 'express';
import type { ObjectStore } from '../adapters/object-store';
import { InvalidTicketQueryError } from '../adapters/ticket-store/errors';
import type { StoredAttachment, TicketStatus, TicketStore, TicketWithComments } from '../adapters/ticket-store/types';
import type { Logger } from '../logger';
import type { TicketClosed } from './resolve-pages';
import { ATTACHMENT_LINK_PATH, checkAttachmentLink, signedAttachmentLink, type AttachmentLinkSettings } from './attachment-links';

export interface TicketsDeps {
  tickets: TicketStore;
  store: ObjectStore;
  publicUrl: string;
  attachmentUrlTtlSeconds: number;
  attachmentLinks: AttachmentLinkSettings;
  /** Called after a ticket's status changed to closed (issue 19: resolve its pages). */
  onClosed?: TicketClosed;
}

/** Redirects to the stored file, or says why a file has none (410: it was never kept for download). */
async function download(deps: Pick<TicketsDeps, 'store' | 'attachmentUrlTtlSeconds'>, attachment: StoredAttachment, res: Response): Promise<void> {
  if (attachment.scanStatus !== 'clean' || !attachment.storageKey) {
    res.status(410).json({
      error: 'not_available',
      reason:
        attachment.scanStatus === 'infected'
          ? `quarantined: ${attachment.scanDetail ?? 'infected'}`
          : attachment.scanStatus === 'unscannable'
            ? `not scanned whole: ${attachment.scanDetail ?? 'unscannable'}`
            : `not stored: ${attachment.scanDetail ?? attachment.scanStatus}`,
    });
    return;
  }
  const url = await deps.store.presignGet(attachment.storageKey, deps.attachmentUrlTtlSeconds, attachment.filename);
  res.set('Cache-Control', 'no-store').redirect(302, url);
}

/**
 * GET /v1/attachment-links/<id>: mounted before the admin token check, since the signature is the
 * credential. Checked before the attachment is looked up, so a forged link learns nothing about
 * which ids exist.
 */
export function attachmentLinkRouter(deps: Pick<TicketsDeps, 'tickets' | 'store' | 'attachmentUrlTtlSeconds' | 'attachmentLinks'> & { log: Logger }): Router {
  const router = express.Router();
  router.get(`${ATTACHMENT_LINK_PATH}/:id`, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const check = checkAttachmentLink({ secret: deps.attachmentLinks.secret, id, expires: req.query.expires, signature: req.query.signature });
    if (!check.ok) {
      deps.log.info('attachment link refused', { reason: check.reason, source: req.socket.remoteAddress });
      res.set('Cache-Control', 'no-store').status(403).json({ error: 'forbidden', reason: check.reason });
      return;
    }
    const attachment = await deps.tickets.getAttachment(id);
    if (!attachment) {
      res.status(404).json({ error: 'not_found', reason: 'no such attachment' });
      return;
    }
    await download(deps, attachment, res);
  });
  return router;
}

const STATUSES: TicketStatus[] = ['open', 'pending', 'closed'];

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function one(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * A ticket as agents see it: each clean attachment with a fresh signed link, and inline images
 * (RFC 2392 cid: URLs) pointing at those links. Shared by the JSON API and the web view.
 */
export function ticketPresenter(deps: Pick<TicketsDeps, 'publicUrl' | 'attachmentLinks'>) {
  const link = (a: StoredAttachment): string | null =>
    a.scanStatus === 'clean' && a.storageKey ? signedAttachmentLink(deps.publicUrl, deps.attachmentLinks, a.id) : null;
  // Inline images (RFC 2392 cid: URLs) point at our attachment links; an image that is not linkable
  // (quarantined, blocked, too large) loses its source instead of pointing anywhere.
  const inlineImages = (html: string | null, attachments: StoredAttachment[]): string | null =>
    html?.replace(/(<img\b[^>]*?\ssrc=")cid:([^"]+)"/gi, (_match, before: string, cid: string) => {
      const target = attachments.find((a) => a.contentId !== null && a.contentId.toLowerCase() === safeDecode(cid).toLowerCase());
      const url = target ? link(target) : null;
      return url ? `${before}${url.replace(/"/g, '%22')}"` : `${before}"`;
    }) ?? null;
  return (ticket: TicketWithComments) => ({
    ...ticket,
    comments: ticket.comments.map((c) => ({
      ...c,
      html: inlineImages(c.html, c.attachments),
      attachments: c.attachments.map(({ storageKey: _key, ...a }) => ({ ...a, link: link({ storageKey: _key, ...a }) })),
    })),
  });
}

export function ticketsRouter(deps: TicketsDeps): Router {
  const router = express.Router();
  const present = ticketPresenter(deps);
  router.get('/v1/tickets', async (req, res) => {
    const status = one(req.query.status);
    if (status !== undefined && !STATUSES.includes(status as TicketStatus)) {
      res.status(400).json({ error: 'bad_request', reason: `status must be one of ${STATUSES.join(', ')}` });
      return;
    }
    const limitText = one(req.query.limit);
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) {
      res.status(400).json({ error: 'bad_request', reason: 'limit must be an integer from 1 to 100' });
      return;
    }
    try {
      const page = await deps.tickets.listTickets({
        queue: one(req.query.queue)?.toLowerCase(),
        requester: one(req.query.requester)?.toLowerCase(),
        status: status as TicketStatus | undefined,
        limit,
        cursor: one(req.query.cursor),
      });
      res.json(page);
    } catch (error) {
      if (error instanceof InvalidTicketQueryError) {
        res.status(400).json({ error: 'bad_request', reason: error.message });
        return;
      }
      throw error;
    }
  });

  router.get('/v1/tickets/:id', async (req, res) => {
    const id = req.params.id;
    const ticket = /^\d+$/.test(id) ? await deps.tickets.getTicketByNumber(Number(id)) : await deps.tickets.getTicket(id);
    if (!ticket) {
      res.status(404).json({ error: 'not_found', reason: `no ticket ${id}` });
      return;
    }
    res.json(present(ticket));
  });

  router.patch('/v1/tickets/:id', express.json({ limit: '4kb', inflate: false }), async (req, res) => {
    const status = (req.body as { status?: unknown } | undefined)?.status;
    if (typeof status !== 'string' || !STATUSES.includes(status as TicketStatus)) {
      res.status(400).json({ error: 'bad_request', reason: `body must be {"status": one of ${STATUSES.join(', ')}}` });
      return;
    }
    const id = req.params.id;
    const ticket = /^\d+$/.test(id) ? await deps.tickets.getTicketByNumber(Number(id)) : await deps.tickets.getTicket(id);
    if (!ticket) {
      res.status(404).json({ error: 'not_found', reason: `no ticket ${id}` });
      return;
    }
    const updated = await deps.tickets.setStatus(ticket.id, status as TicketStatus);
    if (status === 'closed' && ticket.status !== 'closed') await deps.onClosed?.(updated);
    res.json(updated);
  });

  router.get('/v1/attachments/:id', async (req, res) => {
    const attachment = await deps.tickets.getAttachment(req.params.id);
    if (!attachment) {
      res.status(404).json({ error: 'not_found', reason: 'no such attachment' });
      return;
    }
    await download(deps, attachment, res);
  });
  return router;
}
