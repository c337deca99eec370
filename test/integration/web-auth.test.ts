/**
 * The web view's gatekeeping without a browser: the real app in this process over a fresh SQLite
 * store, spoken to with fetch. Sign-in, sessions and their cookies, the CSRF token on every form,
 * roles, escaping of what email brings in, and the policies the pages and message frames carry.
 * Temporal is a lazy connection to a port nothing listens on: none of these pages needs it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { Client, Connection } from '@temporalio/client';
import { createClamdScanner } from '../../src/adapters/clamd';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { openTicketStore } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { createApp } from '../../src/api/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { freePort } from '../helpers/app';
import { MINIMAL_ENV } from '../helpers/env';

const PASSWORD = 'correct horse battery staple';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  cookies: string[];
}

/** A client with a cookie jar of its own, like one browser. */
class Agent {
  private readonly jar = new Map<string, string>();
  constructor(private readonly base: string) {}

  async request(pathname: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Answer> {
    const response = await fetch(`${this.base}${pathname}`, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      redirect: 'manual',
      headers: {
        ...(this.jar.size ? { cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(init.form ? { body: new URLSearchParams(init.form).toString() } : {}),
    });
    const cookies = response.headers.getSetCookie();
    for (const cookie of cookies) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (/Max-Age=0/.test(cookie) || value === '') this.jar.delete(pair.slice(0, at));
      else this.jar.set(pair.slice(0, at), value);
    }
    return { status: response.status, headers: response.headers, text: await response.text(), cookies };
  }

  /** The hidden field `name` of the last form on a page. */
  static field(page: string, name: string): string {
    const all = [...page.matchAll(new RegExp(`name="${name}" value="([^"]*)"`, 'g'))];
    const value = all.at(-1)?.[1];
    assert.ok(value, `no ${name} field on the page`);
    return value;
  }

  async signIn(username: string, password = PASSWORD): Promise<Answer> {
    const page = await this.request('/web/login');
    return this.request('/web/login', { form: { _login: Agent.field(page.text, '_login'), username, password, next: '/web/tickets' } });
  }
}

/** The real app in this process over a fresh SQLite store, with a users file and extra settings. */
async function startWebApp(usersFile: string, env: Record<string, string>, onLog: (line: string) => void): Promise<{ server: Server; base: string; tickets: TicketStore }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-web-'));
  const users = path.join(dir, 'users');
  writeFileSync(users, usersFile);
  const config = loadConfig({ ...MINIMAL_ENV, ...env, WEB_USERS_FILE: users, DATABASE_URL: `sqlite:${path.join(dir, 'tickets.sqlite')}` });
  const tickets = openTicketStore(config.databaseUrl);
  await tickets.migrate();
  const temporal = new Client({ connection: Connection.lazy({ address: `127.0.0.1:${await freePort()}`, connectTimeout: 1_000 }) });
  const app = createApp({ config, store: createS3ObjectStore(config.s3), scanner: createClamdScanner(config.clamd), tickets, temporal, log: createLogger({ process: 'api' }, 'info', onLog) });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tickets };
}

describe('the web view: sign-in, sessions, CSRF, escaping', () => {
  let server: Server;
  let base: string;
  let tickets: TicketStore;
  let ticketNumber: number;
  const logged: string[] = [];

  before(async () => {
    // Cost 4, the least bcrypt allows: these tests check the flow, not the cost.
    ({ server, base, tickets } = await startWebApp(`ann:${bcrypt.hashSync(PASSWORD, 4)}\nola:${bcrypt.hashSync(PASSWORD, 4)}:operator\n`, {}, (line) => logged.push(line)));
    const { ticket } = await tickets.createTicket({
      originKey: 'web-auth-1',
      subject: 'Help <script>alert(1)</script> "quoted"',
      requester: 'cus@customer.example',
      queue: 'support@mailgate.local',
      comment: {
        messageId: 'first@customer.example',
        author: 'Cus <cus@customer.example>',
        text: 'plain <b>text</b>',
        html: '<p>Hello <b>there</b></p>',
        attachments: [],
      },
    });
    ticketNumber = ticket.number;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await tickets.close();
  });

  test('a page without a session sends the browser to sign in, and a form post without one is refused', async () => {
    const agent = new Agent(base);
    const page = await agent.request(`/web/tickets/${ticketNumber}`);
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), `/web/login?next=%2Fweb%2Ftickets%2F${ticketNumber}`);
    const post = await agent.request(`/web/tickets/${ticketNumber}/update`, { form: { status: 'closed', _csrf: 'x' } });
    assert.equal(post.status, 401);
    assert.equal((await tickets.getTicketByNumber(ticketNumber))?.status, 'open');
  });

  test('a wrong password or an unknown name is refused alike; the right one starts a strict, HttpOnly session', async () => {
    const agent = new Agent(base);
    assert.equal((await agent.signIn('ann', 'wrong password!')).status, 401);
    assert.equal((await agent.signIn('nobody', PASSWORD)).status, 401);
    const ok = await agent.signIn('ann');
    assert.equal(ok.status, 303);
    const session = ok.cookies.find((c) => c.startsWith('mailgate_session='));
    assert.ok(session, ok.cookies.join('\n'));
    assert.match(session, /HttpOnly/);
    assert.match(session, /SameSite=Strict/);
    assert.match(session, /Path=\//);
    assert.equal((await agent.request('/web/tickets')).status, 200);
    const all = logged.join('\n');
    assert.ok(!all.includes(PASSWORD), 'a password was logged');
    assert.ok(!all.includes(session.split(';')[0]!.split('=')[1]!), 'a session id was logged');
  });

  test('sign-in without the form token of this site is refused (login CSRF)', async () => {
    const answer = await new Agent(base).request('/web/login', { form: { username: 'ann', password: PASSWORD, _login: 'forged' } });
    assert.equal(answer.status, 403);
  });

  test('pages escape what email brings in and carry a policy that allows no script', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    for (const url of ['/web/tickets', `/web/tickets/${ticketNumber}`]) {
      const page = await agent.request(url);
      assert.equal(page.status, 200);
      assert.ok(!page.text.includes('<script>alert(1)</script>'), `${url} echoes a script tag`);
      assert.ok(page.text.includes('Help &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot;'), url);
      const policy = page.headers.get('content-security-policy') ?? '';
      assert.match(policy, /default-src 'none'/);
      assert.doesNotMatch(policy, /script-src/);
      assert.match(policy, /frame-ancestors 'none'/);
      assert.equal(page.headers.get('cache-control'), 'no-store');
    }
  });

  test('an email\'s HTML is only ever in a sandboxed frame whose own policy sandboxes it and allows no script', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    const page = await agent.request(`/web/tickets/${ticketNumber}`);
    assert.ok(!page.text.includes('<b>there</b>'), 'the HTML was inlined into the page');
    const frame = /<iframe class="message" sandbox="([^"]*)"[^>]*src="([^"]+)"/.exec(page.text);
    assert.ok(frame, 'no message frame');
    assert.doesNotMatch(frame[1]!, /allow-scripts|allow-same-origin/);
    const body = await agent.request(frame[2]!.replace(/&amp;/g, '&'));
    assert.equal(body.status, 200);
    assert.ok(body.text.includes('<p>Hello <b>there</b></p>'));
    const policy = body.headers.get('content-security-policy') ?? '';
    assert.match(policy, /^sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'/);
    assert.doesNotMatch(policy, /script-src|allow-scripts|allow-same-origin/);
    assert.equal((await new Agent(base).request(frame[2]!)).status, 303, 'a frame without a session');
  });

  test('a form without this session\'s CSRF token is refused, with it the change is made and audited', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    const page = await agent.request(`/web/tickets/${ticketNumber}`);
    const csrf = Agent.field(page.text, '_csrf');
    const form = { status: 'pending', priority: 'high', queue: 'support@mailgate.local', assignee: 'ann' };
    assert.equal((await agent.request(`/web/tickets/${ticketNumber}/update`, { form })).status, 403);
    assert.equal((await agent.request(`/web/tickets/${ticketNumber}/update`, { form: { ...form, _csrf: `${csrf}x` } })).status, 403);
    // Another user's token is not this session's either.
    const other = new Agent(base);
    await other.signIn('ola');
    const otherToken = Agent.field((await other.request(`/web/tickets/${ticketNumber}`)).text, '_csrf');
    assert.equal((await agent.request(`/web/tickets/${ticketNumber}/update`, { form: { ...form, _csrf: otherToken } })).status, 403);
    assert.equal((await tickets.getTicketByNumber(ticketNumber))?.status, 'open');

    const done = await agent.request(`/web/tickets/${ticketNumber}/update`, { form: { ...form, _csrf: csrf } });
    assert.equal(done.status, 303);
    const after = await tickets.getTicketByNumber(ticketNumber);
    assert.equal(after?.status, 'pending');
    assert.equal(after?.priority, 'high');
    assert.equal(await tickets.ticketAssignee(after!.id), 'ann');
    const audit = await tickets.listAudit(10);
    assert.ok(audit.some((a) => a.username === 'ann' && a.action === 'update' && a.detail === 'status open → pending'), JSON.stringify(audit));
    assert.ok(audit.some((a) => a.detail === 'assignee nobody → ann'));
  });

  test('an internal note is added once per form, however often it is sent', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    const page = await agent.request(`/web/tickets/${ticketNumber}`);
    const form = { _csrf: Agent.field(page.text, '_csrf'), nonce: Agent.field(page.text, 'nonce'), text: 'Called the customer <i>back</i>' };
    assert.equal((await agent.request(`/web/tickets/${ticketNumber}/note`, { form })).status, 303);
    assert.equal((await agent.request(`/web/tickets/${ticketNumber}/note`, { form })).status, 303);
    const notes = (await tickets.getTicketByNumber(ticketNumber))!.comments.filter((c) => c.internal);
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.author, 'ann (agent)');
    const shown = await agent.request(`/web/tickets/${ticketNumber}`);
    assert.ok(shown.text.includes('Called the customer &lt;i&gt;back&lt;/i&gt;'));
  });

  test('operator pages are refused to an agent', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    assert.equal((await agent.request('/web/emails')).status, 403);
    assert.equal((await agent.request('/web/health')).status, 403);
    const page = await agent.request('/web/tickets');
    const refused = await agent.request('/web/emails/discard', { form: { _csrf: Agent.field(page.text, '_csrf'), workflowId: 'inbound-email/x', reason: 'no' } });
    assert.equal(refused.status, 403);
  });

  test('signing out ends the session in the database, so its cookie no longer works', async () => {
    const agent = new Agent(base);
    const signedIn = await agent.signIn('ann');
    const cookie = signedIn.cookies.find((c) => c.startsWith('mailgate_session='))!.split(';')[0]!;
    const page = await agent.request('/web/tickets');
    assert.equal((await agent.request('/web/logout', { form: { _csrf: Agent.field(page.text, '_csrf') } })).status, 303);
    const replay = await fetch(`${base}/web/tickets`, { redirect: 'manual', headers: { cookie } });
    assert.equal(replay.status, 303);
  });

  test('the ticket list filters by text, status and priority and escapes the query it echoes', async () => {
    const agent = new Agent(base);
    await agent.signIn('ann');
    const hit = await agent.request('/web/tickets?q=HELP');
    assert.ok(hit.text.includes(`MG-${ticketNumber}`));
    const miss = await agent.request('/web/tickets?q=%22%3E%3Cimg%20src%3Dx%3E');
    assert.ok(!miss.text.includes(`MG-${ticketNumber}<`));
    assert.ok(miss.text.includes('value="&quot;&gt;&lt;img src=x&gt;"'));
    assert.ok(!(await agent.request('/web/tickets?status=closed')).text.includes(`>MG-${ticketNumber}<`));
  });

  test('a CSP report is taken and logged without echoing anything', async () => {
    const answer = await fetch(`${base}/web/csp-report`, {
      method: 'POST',
      headers: { 'content-type': 'application/csp-report' },
      body: JSON.stringify({ 'csp-report': { 'document-uri': `${base}/web/x?secret=1`, 'violated-directive': 'script-src', 'blocked-uri': 'inline' } }),
    });
    assert.equal(answer.status, 204);
    const line = logged.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'content security policy violation');
    assert.equal(line?.directive, 'script-src');
    assert.equal(line?.document, `${base}/web/x`);
  });
});

describe('the web view behind a single-sign-on proxy (WEB_AUTH_HEADER)', () => {
  let server: Server;
  let base: string;
  let tickets: TicketStore;

  before(async () => {
    // Only the proxy signs people in; ola is an operator by the users file, everyone else an agent.
    ({ server, base, tickets } = await startWebApp(`ola:${bcrypt.hashSync(PASSWORD, 4)}:operator\n`, { WEB_AUTH_HEADER: 'X-Forwarded-User' }, () => undefined));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await tickets.close();
  });

  const get = (pathname: string, user?: string) => fetch(`${base}${pathname}`, { redirect: 'manual', headers: user === undefined ? {} : { 'x-forwarded-user': user } });

  test('the proxy\'s user is signed in with a session of their own; without the header nobody is', async () => {
    const page = await get('/web/tickets', 'bea@example.org');
    assert.equal(page.status, 200);
    assert.match(await page.text(), /bea@example\.org/);
    const cookie = page.headers.getSetCookie().find((c) => c.startsWith('mailgate_session='));
    assert.ok(cookie, 'a session cookie is set for the proxied user');
    assert.match(cookie, /HttpOnly/);
    assert.equal((await get('/web/tickets')).status, 303, 'no header, no cookie: sent to sign in');
  });

  test('a header value that is not a plain user name signs nobody in', async () => {
    for (const value of ['', 'bea example', 'bea<script>', 'x'.repeat(65)]) {
      assert.notEqual((await get('/web/tickets', value)).status, 200, JSON.stringify(value));
    }
  });

  test('a proxied user gets the role the users file gives them, agent otherwise', async () => {
    assert.equal((await get('/web/health', 'ola')).status, 200, 'ola is an operator by the file');
    assert.equal((await get('/web/health', 'bea@example.org')).status, 403, 'an agent may not see the pipeline pages');
    assert.equal((await get('/web/emails', 'bea@example.org')).status, 403, 'nor the parked emails');
  });
});
