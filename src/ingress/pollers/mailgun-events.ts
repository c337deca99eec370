/**
 * Pulling inbound mail from Mailgun's Events API (the "REST polling alternative" to its webhooks,
 * issue 17): list `stored` events in ascending time from the since-cursor, fetch each stored
 * message's raw MIME (GET the event's storage URL with `Accept: message/rfc2822`, answered as JSON
 * with `body-mime`), and hand it to the one accept path. The cursor, kept in the ledger, moves to an
 * event's timestamp only once its message was accepted (or refused for good).
 *
 * Replays are idempotent: `begin` is inclusive, so the events at the cursor's own timestamp come
 * again and are answered "duplicate" by the accept path (same Message-ID and content). Only events
 * older than `settleSeconds` are taken: Mailgun's events reach its index out of order, and a page
 * of recent events may still gain some (documentation "Event Polling").
 *
 * The API key goes only to the configured origin: paging and storage URLs that name another host are
 * refused rather than followed.
 */
import { ErrorType, TypedError } from '../../domain/errors';
import type { Envelope } from '../types';
import type { PollCounts, PollRoundDeps } from './poll-round';
import { readSecret, type MailgunPollerSettings } from './settings';

/** Pages read per call: bounded work per activity call; `more` says the backlog goes on. */
const PAGES_PER_CALL = 5;
const REQUEST_TIMEOUT_MS = 30_000;
/** A stored message's JSON carries its MIME once more as text fields: room for both. */
const MAX_JSON_FACTOR = 3;

export interface MailgunPollDeps extends PollRoundDeps<'sinceCursor' | 'saveSinceCursor', { since: string }> {
  fetch?: typeof fetch;
  now?: () => number;
}

export interface MailgunBatch extends PollCounts {
  /** Events left to read now (a page limit reached); false once the settled events ran out. */
  more: boolean;
  since: string | null;
}

interface StoredEvent {
  id: string;
  timestamp: number;
  storageUrl: string;
  recipient: string | null;
  sender: string | null;
}

function remoteError(status: number, what: string, retryAfter: string | null): TypedError {
  if (status === 401 || status === 403) return new TypedError(ErrorType.RemoteCredentials, `${what}: Mailgun refused the API key (${status})`);
  if (status === 429) {
    const seconds = Number(retryAfter);
    return new TypedError(ErrorType.RemoteRateLimited, `${what}: rate limited (429)`, Number.isFinite(seconds) && seconds > 0 ? { retryAfterMs: seconds * 1000 } : {});
  }
  if (status >= 500) return new TypedError(ErrorType.RemoteUnavailable, `${what}: Mailgun answered ${status}`);
  return new TypedError(ErrorType.RemoteRejected, `${what}: Mailgun answered ${status}`);
}

function parseEvent(item: unknown): StoredEvent | null {
  if (typeof item !== 'object' || item === null) return null;
  const e = item as Record<string, unknown>;
  const storage = e['storage'] as Record<string, unknown> | undefined;
  const envelope = e['envelope'] as Record<string, unknown> | undefined;
  if (e['event'] !== 'stored' || typeof e['timestamp'] !== 'number' || typeof storage?.['url'] !== 'string') return null;
  return {
    id: String(e['id'] ?? ''),
    timestamp: e['timestamp'],
    storageUrl: storage['url'],
    recipient: typeof e['recipient'] === 'string' ? e['recipient'] : null,
    sender: typeof envelope?.['sender'] === 'string' ? envelope['sender'] : null,
  };
}

/** Mailgun's timestamps are epoch seconds with a fraction; kept as text so no digit is lost. */
function cursorText(timestamp: number): string {
  return timestamp.toFixed(6);
}

export async function pollMailgunEvents(deps: MailgunPollDeps, settings: MailgunPollerSettings): Promise<MailgunBatch> {
  const doFetch = deps.fetch ?? fetch;
  const now = deps.now ?? Date.now;
  const key = readSecret(settings.apiKey);
  if (key === null) throw new TypedError(ErrorType.RemoteCredentials, `Mailgun poller ${settings.name}: its API key reference is missing or empty`);
  const authorization = `Basic ${Buffer.from(`api:${key}`).toString('base64')}`;
  const origin = new URL(settings.baseUrl).origin;
  const what = `Mailgun poller ${settings.name}`;

  const get = async (url: string, accept: string, maxBytes: number): Promise<unknown> => {
    if (new URL(url).origin !== origin) throw new TypedError(ErrorType.RemoteRejected, `${what}: a URL outside ${origin} is not followed`);
    let response: Response;
    try {
      response = await doFetch(url, { headers: { authorization, accept }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch (error) {
      throw new TypedError(ErrorType.RemoteUnavailable, `${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw remoteError(response.status, what, response.headers.get('retry-after'));
    }
    const length = Number(response.headers.get('content-length') ?? 0);
    if (length > maxBytes) {
      await response.body?.cancel();
      return null;
    }
    const text = await response.text();
    if (text.length > maxBytes) return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new TypedError(ErrorType.RemoteUnavailable, `${what}: the answer was not JSON`, { cause: error });
    }
  };

  const settledUntil = now() / 1000 - settings.settleSeconds;
  let saved = await deps.cursors.sinceCursor(settings.name);
  if (saved === null) {
    // The first round fixes where polling starts (the settled edge, less the lookback) before it
    // reads anything: recomputed each round from the clock, it would pass by events indexed late.
    saved = { source: settings.name, since: cursorText(settledUntil - settings.lookbackSeconds) };
    await deps.cursors.saveSinceCursor(saved);
  }
  const begin = saved.since;
  const batch: MailgunBatch = { accepted: 0, duplicates: 0, refused: 0, retryLater: 0, more: false, since: saved.since };
  const query = new URLSearchParams({ event: 'stored', ascending: 'yes', begin, limit: String(settings.pageSize) });
  let url: string | null = `${settings.baseUrl}/v3/${encodeURIComponent(settings.domain)}/events?${query}`;

  for (let page = 0; url !== null; page += 1) {
    if (page >= PAGES_PER_CALL) {
      batch.more = true;
      break;
    }
    const body = (await get(url, 'application/json', 16 * 1024 * 1024)) as { items?: unknown[]; paging?: { next?: unknown } } | null;
    const items = Array.isArray(body?.items) ? body.items : [];
    if (items.length === 0) break;
    for (const item of items) {
      const event = parseEvent(item);
      if (!event) continue;
      // Not settled yet: this page may still gain events; the next poll reads it again.
      if (event.timestamp > settledUntil) return batch;
      const stored = (await get(event.storageUrl, 'message/rfc2822', deps.maxMessageBytes * MAX_JSON_FACTOR)) as Record<string, unknown> | null;
      const mime = stored?.['body-mime'];
      let answer: string;
      if (typeof mime !== 'string') {
        deps.log.warn('mailgun stored message missing or too large; passed', { poller: settings.name, eventId: event.id });
        answer = 'refused';
      } else {
        const envelope: Envelope = {
          mailFrom: event.sender,
          ...(event.recipient ?? settings.recipient ? { rcptTo: [(event.recipient ?? settings.recipient)!] } : {}),
        };
        answer = (await deps.acceptEmail(Buffer.from(mime, 'utf8'), envelope, { kind: 'poll', name: `mailgun:${settings.name}` })).answer;
      }
      if (answer === 'retry-later') {
        batch.retryLater += 1;
        batch.more = true;
        return batch;
      }
      if (answer === 'accepted') batch.accepted += 1;
      else if (answer === 'duplicate') batch.duplicates += 1;
      else batch.refused += 1;
      const since = cursorText(event.timestamp);
      if (since !== batch.since) {
        await deps.cursors.saveSinceCursor({ source: settings.name, since });
        batch.since = since;
      }
      deps.progress({ since });
    }
    const next = body?.paging?.next;
    url = typeof next === 'string' && items.length >= settings.pageSize ? next : null;
  }
  return batch;
}
