/**
 * An email's HTML, alone in a document of its own, shown in an <iframe sandbox> on the ticket page.
 * The HTML was sanitized at parse time; this is the second wall, for the day a sanitizer misses
 * something: the document is sandboxed by its own policy too (opaque origin, no scripts, no forms,
 * no top navigation), runs no script whatever it contains (`default-src 'none'`, no script-src),
 * loads images only from our attachment links and the object store they redirect to (no remote
 * tracking pixels), and reports any attempt to /web/csp-report.
 */
import express, { type Router } from 'express';
import type { TicketStore } from '../../adapters/ticket-store/types';
import type { Config } from '../../config';
import { ticketPresenter } from '../tickets';
import { html, trusted } from './html';
import { CSP_REPORT_PATH, securityHeaders, sendProblem, WEB } from './layout';
import { signedIn } from './session';

export function messageFrameUrl(ticketNumber: number, commentId: string): string {
  return `${WEB}/tickets/${ticketNumber}/messages/${encodeURIComponent(commentId)}`;
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export function framePolicy(config: Config): string {
  // Attachment links redirect to presigned object-store URLs: that origin must be allowed as well.
  const store = originOf(config.s3.publicEndpoint ?? config.s3.endpoint) ?? 'https://*.amazonaws.com';
  const images = [originOf(config.api.publicUrl), store].filter((o): o is string => o !== undefined);
  return [
    // Links open in a new tab outside the sandbox; nothing else is allowed.
    'sandbox allow-popups allow-popups-to-escape-sandbox',
    "default-src 'none'",
    `img-src ${images.join(' ')} data:`,
    // Email layouts are inline styles; CSS cannot run script, and the sandbox holds whatever it loads.
    "style-src 'unsafe-inline'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    `report-uri ${CSP_REPORT_PATH}`,
  ].join('; ');
}

export function messageFrameRouter(deps: { config: Config; tickets: TicketStore }): Router {
  const router = express.Router();
  const present = ticketPresenter({ publicUrl: deps.config.api.publicUrl, attachmentLinks: deps.config.attachmentLinks });
  const policy = framePolicy(deps.config);
  router.get(`${WEB}/tickets/:number/messages/:commentId`, async (req, res) => {
    const number = String(req.params.number);
    const ticket = /^\d{1,12}$/.test(number) ? await deps.tickets.getTicketByNumber(Number(number)) : null;
    const comment = ticket ? present(ticket).comments.find((c) => c.id === req.params.commentId) : undefined;
    if (!comment?.html) {
      sendProblem(res, signedIn(res), 404, 'No such message', 'The message has no HTML part.');
      return;
    }
    securityHeaders(res, policy);
    // Framed by our own page only (frame-ancestors above); the sanitizer's output, never raw mail.
    res.set('X-Frame-Options', 'SAMEORIGIN');
    res.type('html').send(
      html`<!doctype html><html><head><meta charset="utf-8"><base target="_blank"><title>Message</title></head><body>${trusted(comment.html)}</body></html>`.value,
    );
  });
  return router;
}
