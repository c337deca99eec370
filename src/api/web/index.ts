/**
 * The web view under /web: sign-in, agents' ticket pages, operators' pages. Order matters: the
 * stylesheet and the CSP report endpoint need no session; everything else does (a GET without one
 * goes to the sign-in page, any other method is refused), and every POST must carry the session's
 * CSRF token before a handler runs.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Client } from '@temporalio/client';
import type { TicketStore } from '../../adapters/ticket-store/types';
import type { Config } from '../../config';
import type { Logger } from '../../logger';
import { rateLimit } from '../auth';
import { html, query } from './html';
import { CSP_REPORT_PATH, securityHeaders, sendPage, sendProblem, STYLE, STYLE_PATH, WEB } from './layout';
import { messageFrameRouter } from './message-frame';
import { operatorPagesRouter } from './operator-pages';
import { sameSecret, signedIn, WebSessions } from './session';
import { ticketPagesRouter } from './ticket-pages';

export interface WebDeps {
  config: Config;
  tickets: TicketStore;
  temporal: Client;
  log: Logger;
}

const SIGN_IN = `${WEB}/login`;
/**
 * Sign-in attempts per source address: a minute's worth is a team behind one NAT signing in at the
 * start of a shift, and still only 60 guesses a minute, each a bcrypt check.
 */
const SIGN_IN_PER_MINUTE = 60;
const SIGN_IN_BURST = 20;

/** Only a path of ours, so the sign-in form cannot be made to send anyone elsewhere. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/web\/[A-Za-z0-9/_.?=&%-]*$/.test(value) && !value.startsWith('//') ? value : `${WEB}/tickets`;
}

function signInPage(res: Response, token: string, next: string, failed: boolean, proxyOnly: boolean): void {
  sendPage(res, {
    title: 'Sign in',
    user: undefined,
    status: failed ? 401 : 200,
    body: html`<h1>Sign in</h1>
${failed ? html`<p class="error" role="alert">The name or the password is not right.</p>` : ''}
${
  proxyOnly
    ? html`<p>Sign-in is through your organisation's single sign-on.</p>`
    : html`<form method="post" action="${SIGN_IN}">
  <input type="hidden" name="_login" value="${token}">
  <input type="hidden" name="next" value="${next}">
  <p><label>Name <input name="username" autocomplete="username" required maxlength="64"></label></p>
  <p><label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="200"></label></p>
  <p><button type="submit">Sign in</button></p>
</form>`
}`,
  });
}

export function webRouter(deps: WebDeps): Router {
  const router = express.Router();
  const sessions = new WebSessions({ config: deps.config.web, store: deps.tickets, log: deps.log });
  const form = express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 });
  // Read once for the CSRF check, before the page routers (whose own parsers then skip): a reply's size.
  const anyForm = express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 20 });
  const proxyOnly = deps.config.web.users.length === 0 && deps.config.web.authHeader !== undefined;

  router.get(WEB, (_req, res) => res.redirect(303, `${WEB}/tickets`));
  router.get(STYLE_PATH, (_req, res) => {
    securityHeaders(res);
    res.set('Cache-Control', 'public, max-age=3600').type('css').send(STYLE);
  });
  // Browsers report what the policy blocked: a script in an email, a remote image. Logged, never answered with content.
  router.post(
    CSP_REPORT_PATH,
    rateLimit(120, 30),
    express.json({ type: ['application/csp-report', 'application/reports+json', 'application/json'], limit: '16kb' }),
    (req, res) => {
      const report = ((req.body as { 'csp-report'?: Record<string, unknown> } | undefined)?.['csp-report'] ?? {}) as Record<string, unknown>;
      const field = (name: string): string => String(report[name] ?? '').slice(0, 300);
      deps.log.warn('content security policy violation', {
        directive: field('effective-directive') || field('violated-directive'),
        blocked: field('blocked-uri'),
        document: field('document-uri').replace(/\?.*$/, ''),
        sample: field('script-sample').slice(0, 80),
      });
      res.status(204).end();
    },
  );

  router.use(WEB, sessions.identify());

  router.get(SIGN_IN, (req, res) => {
    if (signedIn(res)) {
      res.redirect(303, safeNext(req.query.next));
      return;
    }
    signInPage(res, sessions.loginToken(res), safeNext(req.query.next), false, proxyOnly);
  });
  router.post(SIGN_IN, rateLimit(SIGN_IN_PER_MINUTE, SIGN_IN_BURST), form, async (req, res) => {
    const body = req.body as Record<string, unknown>;
    if (!sessions.loginTokenValid(req, body._login)) {
      sendProblem(res, undefined, 403, 'Sign-in refused', 'The sign-in form has expired or did not come from this site. Open the sign-in page again.');
      return;
    }
    const user = proxyOnly ? null : await sessions.checkPassword(String(body.username ?? ''), String(body.password ?? ''));
    if (!user) {
      deps.log.warn('web sign-in refused', { source: req.socket.remoteAddress });
      signInPage(res, sessions.loginToken(res), safeNext(body.next), true, proxyOnly);
      return;
    }
    await sessions.start(res, user.name);
    deps.log.info('web sign-in', { user: user.name, source: req.socket.remoteAddress });
    await deps.tickets.recordAudit({ at: new Date().toISOString(), username: user.name, action: 'sign-in', target: 'web', detail: '' });
    res.redirect(303, safeNext(body.next));
  });

  // From here on: a session, and on every POST its CSRF token.
  router.use(WEB, anyForm, (req: Request, res: Response, next: NextFunction) => {
    const user = signedIn(res);
    if (!user) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        res.redirect(303, `${SIGN_IN}${query({ next: req.originalUrl })}`);
        return;
      }
      sendProblem(res, undefined, 401, 'Sign in first', 'You are not signed in, or your session has ended.');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameSecret((req.body as { _csrf?: string } | undefined)?._csrf, user.csrfToken)) {
      deps.log.warn('web request refused: CSRF token missing or wrong', { user: user.username, path: req.path });
      sendProblem(res, user, 403, 'Request refused', 'The form did not carry this session\'s token. Reload the page and try again.');
      return;
    }
    next();
  });

  router.post(`${WEB}/logout`, async (req, res) => {
    await sessions.end(req, res);
    res.redirect(303, SIGN_IN);
  });
  router.use(messageFrameRouter(deps));
  router.use(ticketPagesRouter(deps));
  router.use(operatorPagesRouter(deps));
  router.use(WEB, (_req, res) => sendProblem(res, signedIn(res), 404, 'Not found', 'There is no such page.'));
  router.use(WEB, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    deps.log.error('web request failed', { error });
    sendProblem(res, signedIn(res), 500, 'Something went wrong', 'The request could not be completed. Try again in a moment.');
  });
  return router;
}
