/**
 * Which of our addresses an inbound email is for. The SMTP envelope (X-Envelope-To) is the truth
 * when the sender gives it; otherwise the To and Cc addresses in one of our inbound domains count.
 * A recipient outside the inbound domains is refused unless a catch-all is configured, which then
 * takes it into the catch-all queue.
 */
import { domainOf, isAddress, normalizeAddress } from './addresses';

export interface RecipientPolicy {
  inboundDomains: string[];
  /** Queue address for recipients outside the inbound domains; undefined = refuse them. */
  catchAll: string | undefined;
  /** The queue an address of an inbound domain delivers into, or null to refuse it (routing rules). */
  route?: (address: string) => string | null;
}

export interface AcceptedRecipient {
  /** The address the email was delivered to (part of the idempotency key). */
  recipient: string;
  /** The queue it lands in: the recipient itself, or the catch-all. */
  queue: string;
}

export interface ResolvedRecipients {
  accepted: AcceptedRecipient[];
  refused: { address: string; reason: string }[];
}

export function resolveRecipients(
  input: { envelopeTo: string[] | undefined; headerTo: string[]; headerCc: string[] },
  policy: RecipientPolicy,
): ResolvedRecipients {
  const domains = new Set(policy.inboundDomains.map((d) => d.toLowerCase()));
  const fromEnvelope = input.envelopeTo !== undefined;
  const candidates = (fromEnvelope ? (input.envelopeTo ?? []) : [...input.headerTo, ...input.headerCc])
    .map(normalizeAddress)
    .filter((a) => a.length > 0);
  const accepted: AcceptedRecipient[] = [];
  const refused: { address: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const address of candidates) {
    if (seen.has(address)) continue;
    seen.add(address);
    if (!isAddress(address)) {
      refused.push({ address, reason: 'not a valid email address' });
    } else if (domains.has(domainOf(address))) {
      const queue = policy.route ? policy.route(address) : address;
      if (queue) accepted.push({ recipient: address, queue });
      else refused.push({ address, reason: 'no queue serves this address (routing rules refuse unknown recipients)' });
    } else if (fromEnvelope && policy.catchAll) {
      accepted.push({ recipient: address, queue: policy.catchAll });
    } else if (fromEnvelope) {
      refused.push({ address, reason: `domain ${domainOf(address)} is not an inbound domain and no catch-all is configured` });
    }
    // A header address of another domain is one of the customer's other correspondents: ignored.
  }
  if (!fromEnvelope && accepted.length === 0 && policy.catchAll) {
    accepted.push({ recipient: policy.catchAll, queue: policy.catchAll });
  }
  return { accepted, refused };
}
