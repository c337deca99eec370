/**
 * Which of our queues an inbound email is for. The SMTP envelope (X-Envelope-To) is the truth when
 * the sender gives it; otherwise the To and Cc addresses in one of our inbound domains count.
 *
 * Threat (issue 12, class 5): one message addressed to a queue's address, its alias, a plus-address,
 * a re-cased spelling and an unknown local part made five tickets and five acknowledgements, because
 * every spelling was a recipient of its own. Recipients are resolved to queues first, and the email
 * is one delivery per distinct queue: spellings merge (case, IDN and trailing-dot domains, quoted
 * local parts, plus-tags, aliases, unknown local parts that fall to the default queue), the same
 * queue reached through To and Cc or a repeated RCPT TO is one queue, and a display name is never
 * read as an address (the header parser returns the addr-spec only).
 *
 * A recipient outside the inbound domains is refused unless a catch-all is configured, which then
 * takes it into the catch-all queue; a header address of another domain is one of the customer's
 * other correspondents and is ignored.
 */
import { isAddress, normalizeAddress } from './addresses';
import { routingAddressOf, routingDomainOf } from './mailbox';

export interface RecipientPolicy {
  inboundDomains: string[];
  /** Queue address for recipients outside the inbound domains; undefined = refuse them. */
  catchAll: string | undefined;
  /**
   * The queue a routing address (lower-case, unquoted, no plus-tag, ASCII domain) of an inbound
   * domain delivers into, or null to refuse it (routing rules). Default: the address is its queue.
   */
  route?: (address: string) => string | null;
}

export interface AcceptedRecipient {
  /**
   * The address the email was delivered to, as written (lower-cased). When several spellings reach
   * one queue, the first with a plus-tag, since a tag may carry a signed reply token
   * (support+mg42.<sig>@) that threading reads; else the first.
   */
  recipient: string;
  /** The queue it lands in: the routed queue, or the catch-all. Part of the idempotency key. */
  queue: string;
  /** Every spelling that reached this queue, in the order given. */
  spellings: string[];
}

export interface ResolvedRecipients {
  /** One entry per distinct queue, in the order each queue was first reached. */
  accepted: AcceptedRecipient[];
  refused: { address: string; reason: string }[];
}

function hasTag(address: string): boolean {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(0, at) : address).includes('+');
}

export function resolveRecipients(
  input: { envelopeTo: string[] | undefined; headerTo: string[]; headerCc: string[] },
  policy: RecipientPolicy,
): ResolvedRecipients {
  const domains = new Set(policy.inboundDomains.map(routingDomainOf));
  const route = policy.route ?? ((address: string) => address);
  const catchAll = policy.catchAll === undefined ? undefined : normalizeAddress(policy.catchAll);
  const fromEnvelope = input.envelopeTo !== undefined;
  const candidates = (fromEnvelope ? (input.envelopeTo ?? []) : [...input.headerTo, ...input.headerCc])
    .map(normalizeAddress)
    .filter((a) => a.length > 0);
  const byQueue = new Map<string, AcceptedRecipient>();
  const refused: { address: string; reason: string }[] = [];
  const seen = new Set<string>();
  const accept = (spelling: string, queue: string): void => {
    const entry = byQueue.get(queue);
    if (!entry) {
      byQueue.set(queue, { recipient: spelling, queue, spellings: [spelling] });
      return;
    }
    entry.spellings.push(spelling);
    if (!hasTag(entry.recipient) && hasTag(spelling)) entry.recipient = spelling;
  };
  for (const spelling of candidates) {
    if (seen.has(spelling)) continue;
    seen.add(spelling);
    const routing = routingAddressOf(spelling);
    const at = routing.lastIndexOf('@');
    const domain = at >= 0 ? routing.slice(at + 1) : '';
    if (!isAddress(routing)) {
      refused.push({ address: spelling, reason: 'not a valid email address' });
    } else if (domains.has(domain)) {
      const queue = route(routing);
      if (queue) accept(spelling, queue);
      else refused.push({ address: spelling, reason: 'no queue serves this address (routing rules refuse unknown recipients)' });
    } else if (fromEnvelope && catchAll) {
      accept(spelling, catchAll);
    } else if (fromEnvelope) {
      refused.push({ address: spelling, reason: `domain ${domain} is not an inbound domain and no catch-all is configured` });
    }
    // A header address of another domain is one of the customer's other correspondents: ignored.
  }
  if (!fromEnvelope && byQueue.size === 0 && catchAll) accept(catchAll, catchAll);
  return { accepted: [...byQueue.values()], refused };
}
