/**
 * What every provider webhook adapter shares: the dependencies it is built from, credential checks
 * in constant time, the replay claim of a provider's one-time value, the trace fields it prepends,
 * and the mapping of acceptEmail's answer onto the provider's retry semantics
 * (/work/shared/INGRESS-FORMATS.md §0 rule 2: 200 only once durable, 5xx for anything transient,
 * the provider's "do not retry" code only for a permanent refusal).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Agent } from 'node:https';
import type { Response } from 'express';
import type { Config } from '../../config';
import type { Ledger } from '../../ports/ledger';
import type { Logger } from '../../logger';
import { findMailStart } from '../../parsing/mail-prefix';
import type { AcceptAnswer, AcceptEmail } from '../types';

export interface WebhookDeps {
  config: Config;
  acceptEmail: AcceptEmail;
  claims: Pick<Ledger, 'claimOnce' | 'releaseClaim' | 'answerClaim' | 'claimAnswer'>;
  log: Logger;
  /** HTTPS agent for outbound fetches (SNS certificates, subscription confirmation); default: Node's. */
  httpsAgent?: Agent;
  now?: () => number;
}

export const RETRY_AFTER_SECONDS = '30';

/** Constant-time equality of two strings of any length (both hashed first, so lengths leak nothing). */
export function sameSecret(a: string | Buffer, b: string | Buffer): boolean {
  const digest = (v: string | Buffer): Buffer => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** True when the Authorization header carries one of the configured `user:password` pairs. */
export function basicAuthMatches(header: string | undefined, pairs: readonly string[]): boolean {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  const offered = match?.[1] ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  // Every pair is compared, so the time taken does not say which one (or whether any) matched.
  let ok = false;
  for (const pair of pairs) ok = sameSecret(offered, pair) || ok;
  return ok && offered.length > 0;
}

// eslint-disable-next-line no-control-regex -- a provider value must not split a header line
const UNSAFE = /[\u0000-\u001f\u007f]+/g;

/** A provider value made safe for one header line: no control characters, at most 200 characters. */
export function headerValue(value: string): string {
  return value.replace(UNSAFE, ' ').trim().slice(0, 200);
}

/**
 * The trace fields a webhook prepends: the provider's event id (to find the email from the
 * provider's dashboard) and its verdicts. Verdicts are the provider's claims, kept as evidence and
 * never as Authentication-Results, which only a trusted authserv-id may write (TRUSTED_AUTHSERV_IDS).
 * X-Original-To carries the envelope recipients as the Rails ingresses do. All of these are trace
 * fields to the content hash (src/domain/content-hash.ts), so a redelivery still hashes alike.
 */
export function withTraceFields(raw: Buffer, trace: { provider: string; eventId?: string; verdicts?: Record<string, string | undefined> }): Buffer {
  // Where the header block starts, as the accept path and the parser decide it: the fields go there
  // (after an mbox separator), and bytes with no header block get none, so that the accept path
  // still refuses what is not an email rather than finding our field a header block.
  const start = findMailStart(raw);
  if (start.bodyOnly) return raw;
  const lines: string[] = [];
  const verdicts = Object.entries(trace.verdicts ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '');
  lines.push(`X-Mailgate-Provider-Event: ${headerValue(trace.provider)}${trace.eventId ? `; id=${headerValue(trace.eventId)}` : ''}`);
  if (verdicts.length > 0) {
    lines.push(`X-Mailgate-Provider-Verdicts: ${headerValue(trace.provider)}; ${verdicts.map(([k, v]) => `${k}=${headerValue(v).replace(/;/g, ',')}`).join('; ')}`);
  }
  const newline = raw.subarray(0, 64 * 1024).includes('\r\n') ? '\r\n' : '\n';
  return Buffer.concat([raw.subarray(0, start.offset), Buffer.from(lines.join(newline) + newline, 'utf8'), raw.subarray(start.offset)]);
}

/** How a provider reads our status codes: what it drops without retrying. */
export interface ProviderStatuses {
  /** The provider's "do not retry" answer for a permanent refusal (Mailgun 406, Postmark 403). */
  refused: number;
}

/** acceptEmail's answer in the provider's terms; 200 is the only success every provider documents. */
export function sendProviderAnswer(res: Response, answer: AcceptAnswer, statuses: ProviderStatuses, eventId?: string): void {
  const event = eventId ? { eventId } : {};
  switch (answer.answer) {
    case 'accepted':
    case 'duplicate':
      res.status(200).json({ status: answer.answer, ...event, rawKey: answer.rawKey, workflowIds: answer.workflowIds });
      return;
    case 'retry-later':
      res.set('Retry-After', RETRY_AFTER_SECONDS).status(503).json({ error: 'unavailable', ...event, reason: answer.reason });
      return;
    case 'refused':
      res.status(statuses.refused).json({ error: answer.refusal.replace(/-/g, '_'), ...event, reason: answer.reason });
      return;
  }
}

export function notConfigured(res: Response): void {
  res.status(404).json({ error: 'not_found', reason: 'no such route' });
}

export function unavailable(res: Response, reason: string): void {
  res.set('Retry-After', RETRY_AFTER_SECONDS).status(503).json({ error: 'unavailable', reason });
}

/**
 * A provider's one-time value (Mailgun token, SNS MessageId), claimed in the ledger for `windowMs`.
 * "first": go on, and call `settle` with whether the answer was final. A retry-later answer gives the
 * claim back so the provider's own retry (same value) is taken. "in-flight": the first is still
 * being answered, so this one is told to retry. "replayed": already answered; refused.
 */
export async function claimOneTime(
  deps: Pick<WebhookDeps, 'claims' | 'log'>,
  key: string,
  nowMs: number,
  windowMs: number,
): Promise<{ state: 'first'; settle: (final: boolean) => Promise<void> } | { state: 'in-flight' } | { state: 'replayed' }> {
  const first = await deps.claims.claimOnce(key, new Date(nowMs).toISOString(), new Date(nowMs - 2 * windowMs).toISOString());
  if (!first) {
    const stored = await deps.claims.claimAnswer(key);
    // No claim any more: given back after a retry-later meanwhile, so this retry may go on later.
    return stored === null || stored.answer === null ? { state: 'in-flight' } : { state: 'replayed' };
  }
  return {
    state: 'first',
    settle: async (final) => {
      try {
        if (final) await deps.claims.answerClaim(key, 'answered');
        else await deps.claims.releaseClaim(key);
      } catch (error) {
        deps.log.warn('webhook claim not settled', { error });
      }
    },
  };
}

/** The answer was final (the provider must not deliver it again), as opposed to retry-later. */
export function isFinal(answer: AcceptAnswer): boolean {
  return answer.answer !== 'retry-later';
}
