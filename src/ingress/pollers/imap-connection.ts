/**
 * Opening an IMAP connection for a configured mailbox, and what its failures mean. A refused login
 * is RemoteCredentials (permanent until an operator fixes it); anything else on the way (refused
 * connection, timeout, dropped socket, a server's NO to SELECT) is RemoteUnavailable, which the
 * activity's retry policy rides out.
 */
import { ImapFlow } from 'imapflow';
import { ErrorType, TypedError } from '../../domain/errors';
import { readSecret, type ImapPollerSettings } from './settings';

/** How long connecting and each command may take before the connection counts as lost. */
const CONNECT_TIMEOUT_MS = 30_000;
/** IDLE is restarted this often (RFC 9051 §6.3.13: servers may drop an IDLE after 30 minutes). */
export const MAX_IDLE_MS = 60_000;

export function imapFailure(error: unknown, settings: Pick<ImapPollerSettings, 'name'>): TypedError {
  if (error instanceof TypedError) return error;
  const e = error as { authenticationFailed?: boolean; code?: string; message?: string; responseText?: string } | null;
  if (e?.authenticationFailed || e?.code === 'AuthenticationFailure') {
    return new TypedError(ErrorType.RemoteCredentials, `IMAP poller ${settings.name}: the server refused the login`, { cause: error });
  }
  // The server's own words (a NO's text) say more than imapflow's "Command failed".
  const detail = [e?.message ?? String(error), e?.responseText].filter(Boolean).join(': ');
  return new TypedError(ErrorType.RemoteUnavailable, `IMAP poller ${settings.name}: ${detail.slice(0, 300)}`, { cause: error });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** A connected, authenticated client; the credential is read now, never kept in settings or logs. */
export async function connectImap(settings: ImapPollerSettings): Promise<ImapFlow> {
  const ref = 'password' in settings.auth ? settings.auth.password : settings.auth.accessToken;
  const secret = readSecret(ref);
  if (secret === null) {
    const where = 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
    throw new TypedError(ErrorType.RemoteCredentials, `IMAP poller ${settings.name}: its credential (${where}) is missing or empty`);
  }
  const client = new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    // Without TLS from the start, STARTTLS is required (a stripped capability list must not send
    // the credential in clear text), except to a server on this machine's loopback.
    ...(settings.secure ? {} : { doSTARTTLS: !isLoopback(settings.host) }),
    auth: 'password' in settings.auth ? { user: settings.user, pass: secret } : { user: settings.user, accessToken: secret },
    // imapflow's own logger would write protocol lines (addresses, subjects) to stdout.
    logger: false,
    disableAutoIdle: true,
    maxIdleTime: MAX_IDLE_MS,
    connectionTimeout: CONNECT_TIMEOUT_MS,
    greetingTimeout: CONNECT_TIMEOUT_MS,
    socketTimeout: 5 * 60_000,
  });
  // An 'error' event without a listener would crash the worker; the failing command reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.close();
    throw imapFailure(error, settings);
  }
  return client;
}

/** Logs out, or drops the connection when the server no longer answers. Never throws. */
export async function closeImap(client: ImapFlow): Promise<void> {
  try {
    if (client.usable) await client.logout();
  } catch {
    // The connection is gone either way.
  } finally {
    client.close();
  }
}
