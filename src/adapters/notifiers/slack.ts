/**
 * Slack: an incoming webhook (the URL is the secret; no answer to thread under) or chat.postMessage
 * with a bot token (answers the message's ts, so the follow-ups of one ticket thread under the
 * first). Block Kit: a header, fields, and a button to the ticket. Text in mrkdwn escapes &, < and >
 * (Slack's "Formatting text for app surfaces"), so a subject cannot mention @channel or forge a link.
 */
import { ErrorType, TypedError } from '../../domain/errors';
import { failOnStatus, postJson } from './http';
import { cut, facts, headline, type NotificationMessage, type Notifier } from './types';

/** Block Kit limits: header text 150, a section field 2000, ten fields per section, fallback text 4000 advised. */
const HEADER_MAX = 150;
const FIELD_MAX = 2000;
const FIELDS_MAX = 10;
const TEXT_MAX = 4000;

const CREDENTIAL_ERRORS = ['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'missing_scope', 'invalid_token', 'no_service', 'action_prohibited', 'ekm_access_denied'];
const UNAVAILABLE_ERRORS = ['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'rollup_error'];

export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function slackBlocks(message: NotificationMessage): { text: string; blocks: unknown[] } {
  const title = headline(message);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(title, HEADER_MAX), emoji: false } },
    {
      type: 'section',
      fields: facts(message)
        .slice(0, FIELDS_MAX)
        .map(([label, value]) => ({ type: 'mrkdwn', text: cut(`*${label}*\n${escapeMrkdwn(value)}`, FIELD_MAX) })),
    },
  ];
  if (message.ticket?.url) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open ticket' }, url: message.ticket.url, action_id: 'open_ticket' }] });
  }
  return { text: cut(escapeMrkdwn(title), TEXT_MAX), blocks };
}

/** Slack's error string in a typed error: credentials, rate limit, outage, or a refusal of the message. */
function slackError(target: string, error: string, retryAfterMs?: number): TypedError {
  const said = `notification target ${target}: Slack answered ${error}`;
  if (CREDENTIAL_ERRORS.includes(error)) return new TypedError(ErrorType.RemoteCredentials, said);
  if (error === 'ratelimited' || error === 'rate_limited') return new TypedError(ErrorType.RemoteRateLimited, said, { retryAfterMs });
  if (UNAVAILABLE_ERRORS.includes(error)) return new TypedError(ErrorType.RemoteUnavailable, said);
  return new TypedError(ErrorType.RemoteRejected, said);
}

export function slackWebhookNotifier(options: { target: string; webhookUrl: string }): Notifier {
  return {
    async send(message) {
      const answer = await postJson(options.target, options.webhookUrl, slackBlocks(message));
      // A webhook answers plain text: "ok", or an error code such as invalid_blocks or no_service.
      if (answer.status === 429 || answer.status >= 500) failOnStatus(options.target, answer, answer.text.trim());
      if (answer.status !== 200 || answer.text.trim() !== 'ok') throw slackError(options.target, answer.text.trim().slice(0, 100) || `HTTP ${answer.status}`);
      return { ref: null };
    },
  };
}

export function slackBotNotifier(options: { target: string; baseUrl: string; token: string; channel: string }): Notifier {
  return {
    async send(message, { threadRef }) {
      const body = { channel: options.channel, ...slackBlocks(message), unfurl_links: false, unfurl_media: false, ...(threadRef ? { thread_ts: threadRef } : {}) };
      const answer = await postJson(options.target, `${options.baseUrl}/chat.postMessage`, body, { headers: { authorization: `Bearer ${options.token}` } });
      failOnStatus(options.target, answer, '');
      const reply = answer.json as { ok?: unknown; error?: unknown; ts?: unknown } | undefined;
      if (reply?.ok !== true) throw slackError(options.target, typeof reply?.error === 'string' ? reply.error.slice(0, 100) : 'an unreadable answer');
      if (typeof reply.ts !== 'string') throw new TypedError(ErrorType.RemoteUnavailable, `notification target ${options.target}: Slack answered ok without a ts`);
      return { ref: reply.ts };
    },
  };
}
