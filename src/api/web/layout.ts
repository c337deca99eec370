/**
 * The web view's page frame and headers. Pages load nothing but their own stylesheet: no script at
 * all, so the policy allows none (`default-src 'none'`), forms post only here, no site may frame
 * them, and violations are reported to /web/csp-report (logged). An email's HTML is never part of a
 * page: it is served alone, sandboxed, in a frame (see ./message-frame.ts).
 */
import type { Response } from 'express';
import { html, type Html } from './html';
import type { SignedIn } from './session';

export const WEB = '/web';
export const CSP_REPORT_PATH = `${WEB}/csp-report`;
export const STYLE_PATH = `${WEB}/static/style.css`;

export const PAGE_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "frame-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  `report-uri ${CSP_REPORT_PATH}`,
].join('; ');

/** Headers every web answer carries: no caching of tickets, no sniffing, no referrer with links in it. */
export function securityHeaders(res: Response, policy = PAGE_POLICY): void {
  res.set({
    'Content-Security-Policy': policy,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

function nav(user: SignedIn | undefined, current: string): Html {
  if (!user) return html``;
  const item = (href: string, label: string): Html =>
    html`<li><a href="${href}"${current === href ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<nav aria-label="Main"><ul>
    ${item(`${WEB}/tickets`, 'Tickets')}
    ${user.role === 'operator' ? [item(`${WEB}/emails`, 'Parked emails'), item(`${WEB}/health`, 'Pipeline health')] : []}
  </ul>
  <form method="post" action="${WEB}/logout" class="signout">
    <input type="hidden" name="_csrf" value="${user.csrfToken}">
    <span>Signed in as <strong>${user.username}</strong> (${user.role})</span>
    <button type="submit">Sign out</button>
  </form></nav>`;
}

export interface PageOptions {
  title: string;
  user: SignedIn | undefined;
  /** The nav entry to mark current. */
  current?: string;
  /** A notice at the top (role=status), e.g. after a form. */
  notice?: string;
  status?: number;
  body: Html;
}

export function sendPage(res: Response, options: PageOptions): void {
  securityHeaders(res);
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · Mailgate</title>
<link rel="stylesheet" href="${STYLE_PATH}">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><span class="brand">Mailgate</span>${nav(options.user, options.current ?? '')}</header>
<main id="main">
${options.notice ? html`<p class="notice" role="status">${options.notice}</p>` : ''}
${options.body}
</main>
</body>
</html>`;
  res.status(options.status ?? 200).type('html').send(page.value);
}

/** A short page that says why a request was refused. */
export function sendProblem(res: Response, user: SignedIn | undefined, status: number, title: string, detail: string): void {
  sendPage(res, { title, user, status, body: html`<h1>${title}</h1><p>${detail}</p>` });
}

/** Plain, readable, high-contrast; focus always visible for keyboard use. */
export const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4b5563; --line: #d0d7de; --accent: #0b57d0; --bg: #fff; --soft: #f6f8fa; --warn: #8a1c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -1000px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; }
header { display: flex; flex-wrap: wrap; gap: 16px; align-items: center; padding: 8px 24px; border-bottom: 1px solid var(--line); background: var(--soft); }
.brand { font-weight: 700; }
nav { display: flex; flex: 1; flex-wrap: wrap; gap: 16px; align-items: center; justify-content: space-between; }
nav ul { display: flex; gap: 16px; list-style: none; margin: 0; padding: 0; }
nav a[aria-current="page"] { font-weight: 700; }
.signout { display: flex; gap: 8px; align-items: center; }
main { padding: 16px 24px; max-width: 1200px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
h2 { font-size: 1.2rem; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); }
form.filters, form.inline { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 8px 0 16px; }
label { display: flex; flex-direction: column; font-size: 0.9rem; color: var(--muted); gap: 2px; }
input, select, textarea, button { font: inherit; color: var(--fg); }
input, select, textarea { border: 1px solid #6b7280; border-radius: 4px; padding: 4px 6px; background: var(--bg); }
textarea { width: 100%; min-height: 8rem; }
button { border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; padding: 5px 12px; cursor: pointer; }
button.secondary { background: var(--bg); color: var(--accent); }
.notice { background: #e8f0fe; border: 1px solid #9ab6f0; padding: 8px 12px; border-radius: 4px; }
.error { color: var(--warn); }
.badge { display: inline-block; font-size: 0.8rem; padding: 0 6px; border-radius: 8px; border: 1px solid var(--line); background: var(--soft); }
.internal { background: #fff8e1; }
.comment { border: 1px solid var(--line); border-radius: 6px; margin: 12px 0; padding: 8px 12px; }
.comment header { background: none; border: 0; padding: 0 0 4px; gap: 8px; }
.comment pre { white-space: pre-wrap; word-break: break-word; font: inherit; margin: 0; }
iframe.message { width: 100%; height: 320px; border: 1px solid var(--line); resize: vertical; overflow: auto; background: #fff; }
.paging { display: flex; gap: 16px; margin: 12px 0; }
.meta { color: var(--muted); font-size: 0.9rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px; }
.card .value { font-size: 1.6rem; font-weight: 700; }
`;
