/**
 * Identifiers Mailgate can recognise as its own when they come back (EMAIL-RULES.md §2, after
 * osTicket): the acknowledgement's Message-ID, a body marker and a plus-address reply token each carry
 * the ticket number and a truncated HMAC, so a reply proves which ticket it answers and a forged or
 * guessed number is ignored. The key never leaves the worker.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** 64 bits of HMAC: forging one takes ~2^63 guesses, and each guess is an email. */
const SIG_HEX = 16;

function sign(key: string, purpose: string, payload: string): string {
  return createHmac('sha256', key).update(`${purpose}|${payload}`).digest('hex').slice(0, SIG_HEX);
}

function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Message-ID of the acknowledgement for one workflow: mg.<ticket>.<key>.<sig>@<domain>. */
export function acknowledgementMessageId(key: string, input: { workflowId: string; ticketNumber: number; domain: string }): string {
  const token = input.workflowId.replace(/^inbound-email\//, '').replace(/[^A-Za-z0-9]/g, '').slice(0, 32);
  const payload = `${input.ticketNumber}.${token}`;
  return `mg.${payload}.${sign(key, 'message-id', payload)}@${input.domain}`;
}

/** The ticket number a Message-ID of ours names, or null when it is not ours or the HMAC fails. */
export function verifyOwnMessageId(key: string, messageId: string): number | null {
  const match = /^mg\.(\d{1,12})\.([A-Za-z0-9]{1,32})\.([0-9a-f]{16})@/.exec(messageId);
  if (!match) return null;
  const payload = `${match[1]}.${match[2]}`;
  return same(sign(key, 'message-id', payload), match[3]!) ? Number(match[1]) : null;
}

/** A marker line for the body of our mail; survives Message-ID rewriting by other systems. */
export function bodyMarker(key: string, ticketNumber: number): string {
  return `[ref:MG-${ticketNumber}:${sign(key, 'body', String(ticketNumber))}]`;
}

export function findBodyMarker(key: string, text: string): number | null {
  for (const match of text.matchAll(/\[ref:MG-(\d{1,12}):([0-9a-f]{16})\]/g)) {
    if (same(sign(key, 'body', match[1]!), match[2]!)) return Number(match[1]);
  }
  return null;
}

/** Plus-address reply token: support+mg42.<sig>@domain. */
export function replyAddress(key: string, queue: string, ticketNumber: number): string {
  const at = queue.lastIndexOf('@');
  return `${queue.slice(0, at)}+mg${ticketNumber}.${sign(key, 'reply-to', String(ticketNumber))}${queue.slice(at)}`;
}

export function verifyReplyAddress(key: string, address: string): number | null {
  const match = /\+mg(\d{1,12})\.([0-9a-f]{16})@/i.exec(address);
  if (!match) return null;
  return same(sign(key, 'reply-to', match[1]!), match[2]!.toLowerCase()) ? Number(match[1]) : null;
}
