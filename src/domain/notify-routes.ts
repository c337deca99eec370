/**
 * Notification routing (issue 19): which targets hear about an email, decided from facts the email
 * workflow already holds, so an email that no route matches runs no extra activity. Pure: the
 * workflow imports it. The rules file's `notifications` section is parsed in src/rules.ts.
 */
import { routingAddressOf } from './mailbox';
import type { EmailClass, TicketPriority } from './vocabulary';

export const NOTIFY_KINDS = ['slack-webhook', 'slack', 'teams', 'pagerduty', 'opsgenie'] as const;
export type NotifyKind = (typeof NOTIFY_KINDS)[number];

/** What happened to the email: its ticket outcome, or parked / suppressed. */
export const NOTIFY_OUTCOMES = ['ticket_created', 'comment_added', 'note_added', 'suppressed', 'parked'] as const;
export type NotifyOutcome = (typeof NOTIFY_OUTCOMES)[number];

/** A route with no `outcomes` hears about tickets (new ones and follow-ups), not parked or suppressed mail. */
export const DEFAULT_ROUTE_OUTCOMES: readonly NotifyOutcome[] = ['ticket_created', 'comment_added', 'note_added'];

/** Every list given must match (any of its entries); a list left out matches anything. */
export interface NotifyMatch {
  queues?: string[];
  recipients?: string[];
  priorities?: TicketPriority[];
  classes?: EmailClass[];
  /** Any of these tags on the ticket. */
  tags?: string[];
  /** The requester's domain, or a parent domain of it. */
  senderDomains?: string[];
  outcomes?: NotifyOutcome[];
}

export interface NotifyRoute {
  name: string;
  match: NotifyMatch;
  targets: string[];
}

/** Paging kinds raise one incident per ticket; chat kinds post one message per email. */
export function isPagingKind(kind: NotifyKind): boolean {
  return kind === 'pagerduty' || kind === 'opsgenie';
}

/** What the workflow knows about the email when it notifies. */
export interface NotifyFacts {
  outcome: NotifyOutcome;
  queue: string;
  recipient: string;
  priority: TicketPriority | null;
  emailClass: EmailClass | null;
  tags: string[];
  sender: string | null;
}

/** The part of the rules every email workflow carries in its policy snapshot (no secrets, no URLs). */
export interface NotifyPolicy {
  routes: NotifyRoute[];
  /** Targets told about every parked email, with the command that reprocesses it. */
  operatorTargets: string[];
  /** Attempts per target before a notification parks itself (default 10), and how long it stays parked. */
  maxAttempts?: number;
  parkTimeoutSeconds?: number;
}

export interface Delivery {
  /** The route's name, or "operator" for the operator's parked-email notice. */
  route: string;
  target: string;
}

export const OPERATOR_ROUTE = 'operator';

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  return at < 0 ? null : address.slice(at + 1).toLowerCase().replace(/\.$/, '');
}

export function routeMatches(match: NotifyMatch, facts: NotifyFacts): boolean {
  const outcomes = match.outcomes ?? DEFAULT_ROUTE_OUTCOMES;
  if (!outcomes.includes(facts.outcome)) return false;
  if (match.queues && !match.queues.some((q) => routingAddressOf(q) === routingAddressOf(facts.queue))) return false;
  if (match.recipients && !match.recipients.some((r) => routingAddressOf(r) === routingAddressOf(facts.recipient))) return false;
  if (match.priorities && !(facts.priority && match.priorities.includes(facts.priority))) return false;
  if (match.classes && !(facts.emailClass && match.classes.includes(facts.emailClass))) return false;
  if (match.tags) {
    const tags = facts.tags.map((t) => t.toLowerCase());
    if (!match.tags.some((t) => tags.includes(t.toLowerCase()))) return false;
  }
  if (match.senderDomains) {
    const domain = domainOf(facts.sender);
    if (!domain || !match.senderDomains.some((d) => domain === d || domain.endsWith(`.${d}`))) return false;
  }
  return true;
}

/** Each (route, target) pair the email goes to, once; the operator's targets first for a parked email. */
export function deliveriesFor(policy: NotifyPolicy | undefined, facts: NotifyFacts): Delivery[] {
  if (!policy) return [];
  const out: Delivery[] = [];
  const add = (route: string, target: string): void => {
    if (!out.some((d) => d.route === route && d.target === target)) out.push({ route, target });
  };
  if (facts.outcome === 'parked') for (const target of policy.operatorTargets) add(OPERATOR_ROUTE, target);
  for (const route of policy.routes) if (routeMatches(route.match, facts)) for (const target of route.targets) add(route.name, target);
  return out;
}

/**
 * The ledger key that makes a delivery happen once. A page is one per ticket, route and target however
 * often the email is redelivered or reprocessed, and whatever follow-ups arrive; a chat message is one
 * per email (its follow-ups thread under the first). Parked notices are one per email and step.
 */
export function deliveryKey(input: { kind: NotifyKind; delivery: Delivery; ticketId: string | null; emailWorkflowId: string; outcome: NotifyOutcome; step?: string }): string {
  const { route, target } = input.delivery;
  if (input.outcome === 'parked') return `parked/${input.emailWorkflowId}/${input.step ?? ''}/${route}/${target}`;
  if (input.outcome === 'suppressed') return `suppressed/${input.emailWorkflowId}/${route}/${target}`;
  if (isPagingKind(input.kind) && input.ticketId) return `page/${input.ticketId}/${route}/${target}`;
  return `message/${input.emailWorkflowId}/${route}/${target}`;
}
