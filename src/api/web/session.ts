/**
 * Who is signed in to the web view. A session is a random 256-bit id in a cookie (HttpOnly,
 * SameSite=Strict, Secure and `__Host-` prefixed behind TLS); the database keeps only its SHA-256,
 * with the session's CSRF token. Every POST carries that token in a hidden field and is refused
 * (403) without it: the synchronizer token pattern, on top of SameSite=Strict. Sign-in has a token of
 * its own (a short-lived cookie), so a forged sign-in form cannot sign a victim into our account.
 *
 * Passwords are bcrypt hashes in WEB_USERS_FILE; an unknown name is compared against a dummy hash,
 * so the time taken does not say which names exist. Optional reverse-proxy sign-on: with
 * WEB_AUTH_HEADER set, the proxy's header names the user and a session is made for it.
 * Session ids, CSRF tokens and passwords are never logged.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { NextFunction, Request, Response } from 'express';
import type { WebConfig } from '../../config';
import type { WebRole, WebUser } from '../../domain/web-users';
import type { Logger } from '../../logger';
import type { WebStore } from '../../adapters/ticket-store/types';

export interface SignedIn {
  username: string;
  role: WebRole;
  csrfToken: string;
}

const LOGIN_CSRF_MAX_AGE_S = 30 * 60;
/** A hash of a random password at the default cost: unknown names cost what known ones do. */
const DUMMY_HASH = bcrypt.hashSync(randomBytes(16).toString('hex'), 10);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
const token = (): string => randomBytes(32).toString('base64url');

export function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

/** Cookies by name from the Cookie header (RFC 6265 §5.4); a malformed pair is skipped. */
export function readCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at).trim();
    const value = pair.slice(at + 1).trim();
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export class WebSessions {
  readonly cookieName: string;
  readonly loginCookieName: string;

  constructor(
    private readonly deps: { config: WebConfig; store: WebStore; log: Logger },
  ) {
    // __Host-: the browser only accepts it Secure, for Path=/, from this host, so a sibling subdomain cannot plant one.
    this.cookieName = deps.config.secureCookies ? '__Host-mailgate_session' : 'mailgate_session';
    this.loginCookieName = deps.config.secureCookies ? '__Host-mailgate_login' : 'mailgate_login';
  }

  private cookie(name: string, value: string, maxAgeSeconds: number): string {
    const secure = this.deps.config.secureCookies ? '; Secure' : '';
    return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`;
  }

  private user(name: string): WebUser | undefined {
    return this.deps.config.users.find((u) => u.name.toLowerCase() === name.toLowerCase());
  }

  /** The sign-in form's token, set as a cookie and echoed by the form. */
  loginToken(res: Response): string {
    const value = token();
    res.append('Set-Cookie', this.cookie(this.loginCookieName, value, LOGIN_CSRF_MAX_AGE_S));
    return value;
  }

  loginTokenValid(req: Request, formToken: unknown): boolean {
    const cookie = readCookies(req.get('cookie')).get(this.loginCookieName);
    return typeof formToken === 'string' && cookie !== undefined && sameSecret(formToken, cookie);
  }

  /** The user when the name and password match, else null (same work either way). */
  async checkPassword(name: string, password: string): Promise<WebUser | null> {
    const user = NAME.test(name) ? this.user(name) : undefined;
    const ok = await bcrypt.compare(password, user?.passwordHash ?? DUMMY_HASH);
    return ok && user ? user : null;
  }

  /** Starts a session for `username` and sets its cookie (a fresh id: no fixation). */
  async start(res: Response, username: string): Promise<SignedIn> {
    const id = token();
    const csrfToken = token();
    const now = Date.now();
    const seconds = this.deps.config.sessionHours * 3600;
    await this.deps.store.createSession({
      idSha256: sha256(id),
      username,
      csrfToken,
      created: new Date(now).toISOString(),
      expires: new Date(now + seconds * 1000).toISOString(),
    });
    res.append('Set-Cookie', this.cookie(this.cookieName, id, seconds));
    res.append('Set-Cookie', this.cookie(this.loginCookieName, '', 0));
    // Expired sessions go now and then, not on every request.
    if (Math.random() < 0.05) {
      this.deps.store.deleteExpiredSessions(new Date(now).toISOString()).catch((error: unknown) => this.deps.log.warn('expired sessions not removed', { error }));
    }
    return { username, role: this.user(username)?.role ?? this.deps.config.authHeaderRole, csrfToken };
  }

  async end(req: Request, res: Response): Promise<void> {
    const id = readCookies(req.get('cookie')).get(this.cookieName);
    if (id) await this.deps.store.deleteSession(sha256(id));
    res.append('Set-Cookie', this.cookie(this.cookieName, '', 0));
  }

  /** The proxy's user name, when reverse-proxy sign-on is on and the header holds a valid one. */
  private proxyUser(req: Request): string | undefined {
    const header = this.deps.config.authHeader;
    const value = header ? req.get(header)?.trim() : undefined;
    return value && NAME.test(value) ? value : undefined;
  }

  /**
   * Middleware: `res.locals.signedIn` for a valid session whose user still exists (a user removed
   * from the file is signed out at the next request), or for the proxy's user.
   */
  identify() {
    return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
      try {
        const id = readCookies(req.get('cookie')).get(this.cookieName);
        const session = id ? await this.deps.store.getSession(sha256(id), new Date().toISOString()) : null;
        const proxied = this.proxyUser(req);
        if (session && (proxied === undefined || proxied.toLowerCase() === session.username.toLowerCase())) {
          const user = this.user(session.username);
          if (user || proxied) {
            res.locals.signedIn = { username: session.username, role: user?.role ?? this.deps.config.authHeaderRole, csrfToken: session.csrfToken } satisfies SignedIn;
          }
        } else if (proxied) {
          res.locals.signedIn = await this.start(res, this.user(proxied)?.name ?? proxied);
        }
        next();
      } catch (error) {
        next(error);
      }
    };
  }
}

export function signedIn(res: Response): SignedIn | undefined {
  return res.locals.signedIn as SignedIn | undefined;
}
