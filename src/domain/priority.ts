/**
 * Priority heuristics from the rules file: keywords in subject or body, VIP sender domains, the
 * sender's own priority headers, and authentication results (RFC 8601). Every rule that fires
 * leaves a tag, so the ticket says why it got its priority. Only results stamped by our trusted
 * receiving servers count (src/domain/auth-results.ts). A sender failing them is flagged; the VIP
 * boost needs a trusted pass: a forged VIP address must not jump the queue, with or without a
 * header of its own making.
 */
import { domainOf } from './addresses';
import { authenticate, trustedResults, type Authentication } from './auth-results';
import type { TicketPriority } from './vocabulary';

/** The rules file's `priority` section (src/rules.ts parses and validates it). */
export interface PriorityRules {
  /** Words in subject or body that raise the priority to the given level. */
  keywords: { urgent: string[]; high: string[] };
  /** Sender domains whose tickets are at least high priority. */
  vipDomains: string[];
  /** Honour X-Priority / Importance / Priority headers. */
  headers: boolean;
}

export interface PriorityInput {
  subject: string;
  text: string;
  sender: string | null;
  headers: Record<string, string[]>;
}

export interface PriorityResult {
  priority: TicketPriority;
  tags: string[];
  /** Trusted authentication failed (`authentication` is 'fail'): the sender address is not to be trusted. */
  untrusted: boolean;
  /** From trusted Authentication-Results only; absent in results recorded before it was added. */
  authentication?: Authentication;
}

export interface PriorityOptions {
  /** authserv-ids of our own receiving servers (TRUSTED_AUTHSERV_IDS); empty = trust no header. */
  trustedAuthservIds: readonly string[];
}

const ORDER: TicketPriority[] = ['low', 'normal', 'high', 'urgent'];

function raise(current: TicketPriority, to: TicketPriority): TicketPriority {
  return ORDER.indexOf(to) > ORDER.indexOf(current) ? to : current;
}

function wordMatch(haystack: string, phrase: string): boolean {
  const escaped = phrase.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escaped}($|[^\\p{L}\\p{N}])`, 'iu').test(haystack);
}

export function computePriority(input: PriorityInput, rules: PriorityRules, options: PriorityOptions): PriorityResult {
  let priority: TicketPriority = 'normal';
  const tags: string[] = [];
  const domain = input.sender ? domainOf(input.sender) : '';
  const results = trustedResults(input.headers['authentication-results'] ?? [], options.trustedAuthservIds);
  const { authentication, failures } = authenticate(results, domain);
  const untrusted = authentication === 'fail';
  for (const failure of failures) tags.push(`auth:${failure}`);
  if (untrusted) tags.push('untrusted-sender');

  const haystack = `${input.subject}\n${input.text.slice(0, 20_000)}`;
  for (const level of ['urgent', 'high'] as const) {
    for (const keyword of rules.keywords[level]) {
      if (wordMatch(haystack, keyword)) {
        priority = raise(priority, level);
        tags.push(`priority:keyword:${keyword}`);
      }
    }
  }
  if (domain && rules.vipDomains.includes(domain) && authentication === 'pass') {
    priority = raise(priority, 'high');
    tags.push(`priority:vip:${domain}`);
  }
  if (rules.headers) {
    const xPriority = (input.headers['x-priority']?.[0] ?? '').trim();
    const importance = (input.headers['importance']?.[0] ?? input.headers['priority']?.[0] ?? '').trim().toLowerCase();
    if (/^[12]\b/.test(xPriority) || importance === 'high' || importance === 'urgent') {
      priority = raise(priority, 'high');
      tags.push('priority:header:high');
    } else if (/^[45]\b/.test(xPriority) || importance === 'low' || importance === 'non-urgent') {
      if (priority === 'normal') priority = 'low';
      tags.push('priority:header:low');
    }
  }
  // The store keeps at most 50 tags; a rules file with many keywords must not make a ticket fail.
  return { priority, tags: [...new Set(tags)].slice(0, 50), untrusted, authentication };
}
