/**
 * The envelope's shape, checked before anything is stored. Webhook and poller adapters build it from
 * JSON a provider sent, so its types are not a given at run time. Control characters are refused
 * outright: an address carrying CR or LF would split a log line or a header written from it later
 * (RFC 5321 §4.1.2 allows none in a path). Addresses that are merely invalid are refused per
 * recipient by the recipient policy, as they always were.
 */
import { normalizeAddress } from '../domain/addresses';
import type { Envelope } from './types';

export type CheckedEnvelope = { ok: true; mailFrom: string | null; rcptTo: string[] | undefined } | { ok: false; reason: string };

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;

export function checkEnvelope(envelope: Envelope): CheckedEnvelope {
  const value: unknown = envelope;
  if (typeof value !== 'object' || value === null) return { ok: false, reason: 'the envelope is missing' };
  const { mailFrom, rcptTo } = value as Record<string, unknown>;
  if (mailFrom !== null && mailFrom !== undefined && typeof mailFrom !== 'string') {
    return { ok: false, reason: 'MAIL FROM must be an address or empty' };
  }
  if (typeof mailFrom === 'string' && CONTROL.test(mailFrom)) return { ok: false, reason: 'MAIL FROM contains control characters' };
  if (rcptTo !== undefined) {
    if (!Array.isArray(rcptTo)) return { ok: false, reason: 'RCPT TO must be a list of addresses' };
    for (const [index, address] of rcptTo.entries()) {
      if (typeof address !== 'string') return { ok: false, reason: `RCPT TO entry ${index + 1} is not an address` };
      if (CONTROL.test(address)) return { ok: false, reason: `RCPT TO entry ${index + 1} contains control characters` };
    }
  }
  const from = typeof mailFrom === 'string' ? normalizeAddress(mailFrom) : '';
  return { ok: true, mailFrom: from.length > 0 ? from : null, rcptTo: rcptTo === undefined ? undefined : (rcptTo as string[]) };
}
