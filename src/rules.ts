/**
 * Mailgate's email rules: routing, threading policy, loop breakers, priority and the
 * acknowledgement's wording, from one JSON file (MAILGATE_RULES_FILE, default config/rules.json),
 * validated at start-up and again on each reload (./rules-reload.ts: SIGHUP). Every field has a
 * default, so an empty object is a valid rules file.
 */
import { readFileSync } from 'node:fs';
import { ACK_LANGUAGES, AckTemplateError, checkAckTemplate, DEFAULT_ACK_TEMPLATES, type AckLanguage, type AckTemplates } from './domain/ack-template';
import { isAddress, normalizeAddress } from './domain/addresses';
import { assertAttachmentPolicy, DEFAULT_ATTACHMENT_POLICY, type AttachmentPolicy } from './domain/attachment-policy';
import type { RemoteImagePolicy } from './domain/html';
import type { PriorityRules } from './domain/priority';
import { DEFAULT_THREAD_BY_SUBJECT, MAX_THREAD_BY_SUBJECT_WINDOW_DAYS, type ThreadBySubjectRule } from './domain/thread-by-subject';
import { routingAddressOf } from './domain/mailbox';
import { DEFAULT_REDACTION_POLICY, type RedactionKind } from './domain/redact';
import type { ClosedReplyPolicy } from './domain/vocabulary';

export type { ClosedReplyPolicy };

export interface QueueRule {
  /** The queue's canonical address; tickets carry it as their queue. */
  address: string;
  /** Further addresses that deliver into this queue (help@ → support@). */
  aliases: string[];
  closedReply: ClosedReplyPolicy;
  /** What is redacted before this queue's tickets are written; null = the rules-wide default. */
  redact: RedactionKind[] | null;
  /** The acknowledgement's language and templates, resolved (queue, then rules-wide, then the language's defaults). */
  acknowledgement: AckTemplates;
  /** The helpdesk connector this queue's tickets go to (HELPDESK_CONNECTORS name); absent = the built-in store. */
  helpdesk?: string;
}

export interface RateLimit {
  limit: number;
  windowSeconds: number;
}

export interface Rules {
  /** Goes into our loop header on outbound mail; tells our own mail apart when it comes back. */
  instanceId: string;
  queues: QueueRule[];
  /** Recipient of an inbound domain that no queue lists: into the default queue, or refused (422). */
  unknownRecipient: 'default' | 'refuse';
  defaultQueue: string | null;
  /** One email reaching two queues: a ticket in each (default), or one ticket noting both queues. */
  multipleQueues: 'ticket_per_queue' | 'one_ticket';
  /** Accept reply tokens in plus-addresses (support+mg42@…) as the first threading rule. */
  replyTokens: boolean;
  /** How long a reply whose parent we have not seen waits for it before opening a new ticket. */
  waitForParentSeconds: number;
  /** Threading a header-less human reply by subject and participant, tried last (src/domain/thread-by-subject.ts); off by default. */
  threadBySubject: ThreadBySubjectRule;
  /** Automated senders (addresses or "@domain") allowed to open tickets. */
  allowlist: string[];
  /** Acknowledge a sender that failed DMARC/SPF (a forged From would make us mail a stranger). */
  acknowledgeUntrusted: boolean;
  /** Attempts per step before an email parks for an operator, and how long it stays parked. */
  parking: { maxAttempts: number; parkTimeoutSeconds: number };
  /**
   * Counted per mailbox (src/domain/mailbox.ts: case, plus-tags and Gmail dots do not make a new
   * budget), and acknowledgements also per recipient domain.
   */
  rateLimits: { newTicketsPerSender: RateLimit; acknowledgementsPerRecipient: RateLimit; acknowledgementsPerDomain: RateLimit };
  /** Remote images in HTML: dropped, or turned into plain links; never loaded when a ticket opens. */
  remoteImages: RemoteImagePolicy;
  /** Attachment type and archive policy (src/domain/attachment-policy.ts). */
  attachments: AttachmentPolicy;
  /** PII redacted before tickets are written, unless a queue says otherwise. */
  redact: RedactionKind[];
  priority: PriorityRules;
  /** The acknowledgement of a queue the file does not list (no queues, or the default queue's own). */
  acknowledgement: AckTemplates;
}

export class RulesError extends Error {
  override name = 'RulesError';
}

const DEFAULTS: Rules = {
  instanceId: 'mailgate',
  queues: [],
  unknownRecipient: 'default',
  defaultQueue: null,
  multipleQueues: 'ticket_per_queue',
  replyTokens: true,
  waitForParentSeconds: 120,
  threadBySubject: DEFAULT_THREAD_BY_SUBJECT,
  allowlist: [],
  acknowledgeUntrusted: false,
  // 25 attempts with backoff capped at a minute: about 20 minutes of retries before parking.
  parking: { maxAttempts: 25, parkTimeoutSeconds: 7 * 24 * 3600 },
  remoteImages: 'drop',
  attachments: DEFAULT_ATTACHMENT_POLICY,
  redact: DEFAULT_REDACTION_POLICY.kinds,
  // EMAIL-RULES.md §4: FreeScout stops auto-replies after 10 per customer in 3 h; Zendesk suspends a
  // sender flooding new tickets. A loop is broken well before either. The domain budget bounds a loop
  // or backscatter that changes its mailbox each time (bounce-<id>@, random local parts): 200 an hour
  // is far above one organisation's human traffic, but a free-mail domain is one domain too, so a
  // large helpdesk raises it.
  rateLimits: {
    newTicketsPerSender: { limit: 20, windowSeconds: 3600 },
    acknowledgementsPerRecipient: { limit: 5, windowSeconds: 3600 },
    acknowledgementsPerDomain: { limit: 200, windowSeconds: 3600 },
  },
  priority: {
    keywords: { urgent: ['outage', 'down for everyone', 'security incident', 'data breach'], high: ['urgent', 'asap', 'production down', 'cannot log in'] },
    vipDomains: [],
    headers: true,
  },
  acknowledgement: DEFAULT_ACK_TEMPLATES.en,
};

type Json = Record<string, unknown>;

function object(value: unknown, where: string): Json {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RulesError(`${where} must be an object`);
  return value as Json;
}

function strings(value: unknown, where: string, fallback: string[]): string[] {
  if (value === undefined) return fallback;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new RulesError(`${where} must be a list of strings`);
  return (value as string[]).map((v) => v.trim().toLowerCase()).filter(Boolean);
}

function positive(value: unknown, where: string, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new RulesError(`${where} must be a ${allowZero ? 'non-negative' : 'positive'} integer`);
  }
  return value;
}

function oneOf<T extends string>(value: unknown, where: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new RulesError(`${where} must be one of ${allowed.join(', ')}`);
  return value as T;
}

function address(value: unknown, where: string): string {
  if (typeof value !== 'string' || !isAddress(normalizeAddress(value))) throw new RulesError(`${where} must be an email address`);
  return normalizeAddress(value);
}

const REDACTION_KINDS: readonly RedactionKind[] = ['card', 'iban', 'us-ssn', 'api-key'];

function redactKinds(value: unknown, where: string): RedactionKind[] {
  const kinds = strings(value, where, []);
  const unknown = kinds.find((k) => !REDACTION_KINDS.includes(k as RedactionKind));
  if (unknown) throw new RulesError(`${where}: unknown redaction kind "${unknown}" (${REDACTION_KINDS.join(', ')})`);
  return kinds as RedactionKind[];
}

function attachmentPolicy(value: unknown): AttachmentPolicy {
  const o = object(value, 'attachments');
  const policy: AttachmentPolicy = {
    blockedKinds: o.blockedKinds === undefined ? DEFAULT_ATTACHMENT_POLICY.blockedKinds : (strings(o.blockedKinds, 'attachments.blockedKinds', []) as AttachmentPolicy['blockedKinds']),
    allowExtensions: strings(o.allowExtensions, 'attachments.allowExtensions', [...DEFAULT_ATTACHMENT_POLICY.allowExtensions]),
    maxArchiveEntries: positive(o.maxArchiveEntries, 'attachments.maxArchiveEntries', DEFAULT_ATTACHMENT_POLICY.maxArchiveEntries),
    maxArchiveUncompressedBytes: positive(o.maxArchiveUncompressedBytes, 'attachments.maxArchiveUncompressedBytes', DEFAULT_ATTACHMENT_POLICY.maxArchiveUncompressedBytes),
    maxCompressionRatio: positive(o.maxCompressionRatio, 'attachments.maxCompressionRatio', DEFAULT_ATTACHMENT_POLICY.maxCompressionRatio),
    maxArchiveDepth: positive(o.maxArchiveDepth, 'attachments.maxArchiveDepth', DEFAULT_ATTACHMENT_POLICY.maxArchiveDepth),
  };
  try {
    assertAttachmentPolicy(policy);
  } catch (error) {
    throw new RulesError(`attachments: ${(error as Error).message}`);
  }
  return policy;
}

/**
 * An "acknowledgement" block: { language, subject, text, html }, each optional. A field left out
 * comes from `inherited` when that is in the same language, else from the language's defaults
 * (a German queue under English rules-wide templates gets the German defaults, not English text).
 */
function acknowledgement(value: unknown, where: string, inherited: AckTemplates | null): AckTemplates {
  const o = object(value, where);
  const unknownField = Object.keys(o).find((k) => !['language', 'subject', 'text', 'html'].includes(k));
  if (unknownField) throw new RulesError(`${where}: unknown field "${unknownField}" (language, subject, text, html)`);
  const language = oneOf(o.language, `${where}.language`, ACK_LANGUAGES, inherited?.language ?? 'en') as AckLanguage;
  const base = inherited && inherited.language === language ? inherited : DEFAULT_ACK_TEMPLATES[language];
  const template = (field: 'subject' | 'text' | 'html'): string => {
    const given = o[field];
    if (given === undefined) return base[field];
    if (typeof given !== 'string' || given.trim() === '') throw new RulesError(`${where}.${field} must be a non-empty string`);
    if (field === 'subject' && /[\r\n]/.test(given)) throw new RulesError(`${where}.subject must be a single line`);
    try {
      checkAckTemplate(given, `${where}.${field}`);
    } catch (error) {
      if (error instanceof AckTemplateError) throw new RulesError(error.message);
      throw error;
    }
    return given;
  };
  return { language, subject: template('subject'), text: template('text'), html: template('html') };
}

/** The acknowledgement templates for one queue. */
export function acknowledgementFor(rules: Rules, queue: string): AckTemplates {
  return rules.queues.find((q) => q.address === queue)?.acknowledgement ?? rules.acknowledgement;
}

/** The redaction kinds for one queue. */
export function redactionFor(rules: Rules, queue: string): RedactionKind[] {
  return rules.queues.find((q) => q.address === queue)?.redact ?? rules.redact;
}

/** `threadBySubject: { enabled, windowDays }`; windowDays may be a fraction (0.5 = 12 hours), never 0. */
function threadBySubject(value: unknown): ThreadBySubjectRule {
  const o = object(value, 'threadBySubject');
  const unknownField = Object.keys(o).find((k) => !['enabled', 'windowDays'].includes(k));
  if (unknownField) throw new RulesError(`threadBySubject: unknown field "${unknownField}" (enabled, windowDays)`);
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') throw new RulesError('threadBySubject.enabled must be true or false');
  const days = o.windowDays === undefined ? DEFAULT_THREAD_BY_SUBJECT.windowDays : o.windowDays;
  if (typeof days !== 'number' || !Number.isFinite(days) || days <= 0 || days > MAX_THREAD_BY_SUBJECT_WINDOW_DAYS) {
    throw new RulesError(`threadBySubject.windowDays must be a number of days above 0 and at most ${MAX_THREAD_BY_SUBJECT_WINDOW_DAYS}`);
  }
  return { enabled: o.enabled === true, windowDays: days };
}

function rateLimit(value: unknown, where: string, fallback: RateLimit): RateLimit {
  const o = object(value, where);
  return { limit: positive(o.limit, `${where}.limit`, fallback.limit), windowSeconds: positive(o.windowSeconds, `${where}.windowSeconds`, fallback.windowSeconds) };
}

function helpdeskName(value: unknown, where: string): string {
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(value)) throw new RulesError(`${where} must name a helpdesk connector (or "built-in")`);
  return value;
}

/** Queues that name a connector not in `known` (the configured ones and "built-in"). */
export function unknownHelpdesks(rules: Rules, known: readonly string[]): string[] {
  return rules.queues.filter((q) => q.helpdesk !== undefined && !known.includes(q.helpdesk)).map((q) => `${q.address} → ${q.helpdesk}`);
}

export function parseRules(input: unknown): Rules {
  const o = object(input, 'rules');
  const ruleWideAck = acknowledgement(o.acknowledgement, 'acknowledgement', null);
  const queues = (Array.isArray(o.queues) ? o.queues : o.queues === undefined ? [] : null)?.map((q: unknown, i: number): QueueRule => {
    const queue = object(q, `queues[${i}]`);
    const queueAddress = address(queue.address, `queues[${i}].address`);
    return {
      address: queueAddress,
      aliases: strings(queue.aliases, `queues[${i}].aliases`, []).map((a) => address(a, `queues[${i}].aliases`)),
      closedReply: oneOf(queue.closedReply, `queues[${i}].closedReply`, ['reopen', 'new_linked'] as const, 'reopen'),
      redact: queue.redact === undefined ? null : redactKinds(queue.redact, `queues[${i}].redact`),
      // Named by its address as well as its place, so the error says which queue to fix.
      acknowledgement: acknowledgement(queue.acknowledgement, `queues[${i}] (${queueAddress}): acknowledgement`, ruleWideAck),
      // Checked against the configured connectors when the worker starts (and on each reload).
      ...(queue.helpdesk === undefined ? {} : { helpdesk: helpdeskName(queue.helpdesk, `queues[${i}].helpdesk`) }),
    };
  });
  if (!queues) throw new RulesError('queues must be a list');
  const defaultQueue = o.defaultQueue === undefined || o.defaultQueue === null ? null : address(o.defaultQueue, 'defaultQueue');
  const priority = object(o.priority, 'priority');
  const keywords = object(priority.keywords, 'priority.keywords');
  const limits = object(o.rateLimits, 'rateLimits');
  const instanceId = o.instanceId === undefined ? DEFAULTS.instanceId : o.instanceId;
  if (typeof instanceId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(instanceId)) throw new RulesError('instanceId must be 1-64 letters, digits, dots, dashes');
  const rules: Rules = {
    instanceId,
    queues,
    unknownRecipient: oneOf(o.unknownRecipient, 'unknownRecipient', ['default', 'refuse'] as const, DEFAULTS.unknownRecipient),
    defaultQueue,
    multipleQueues: oneOf(o.multipleQueues, 'multipleQueues', ['ticket_per_queue', 'one_ticket'] as const, DEFAULTS.multipleQueues),
    replyTokens: o.replyTokens === undefined ? DEFAULTS.replyTokens : o.replyTokens === true,
    waitForParentSeconds: positive(o.waitForParentSeconds, 'waitForParentSeconds', DEFAULTS.waitForParentSeconds, true),
    threadBySubject: threadBySubject(o.threadBySubject),
    allowlist: strings(o.allowlist, 'allowlist', DEFAULTS.allowlist),
    acknowledgeUntrusted: o.acknowledgeUntrusted === true,
    parking: {
      maxAttempts: positive(object(o.parking, 'parking').maxAttempts, 'parking.maxAttempts', DEFAULTS.parking.maxAttempts),
      parkTimeoutSeconds: positive(object(o.parking, 'parking').parkTimeoutSeconds, 'parking.parkTimeoutSeconds', DEFAULTS.parking.parkTimeoutSeconds),
    },
    remoteImages: oneOf(o.remoteImages, 'remoteImages', ['drop', 'link'] as const, 'drop'),
    attachments: attachmentPolicy(o.attachments),
    redact: o.redact === undefined ? DEFAULTS.redact : redactKinds(o.redact, 'redact'),
    rateLimits: {
      newTicketsPerSender: rateLimit(limits.newTicketsPerSender, 'rateLimits.newTicketsPerSender', DEFAULTS.rateLimits.newTicketsPerSender),
      acknowledgementsPerRecipient: rateLimit(limits.acknowledgementsPerRecipient, 'rateLimits.acknowledgementsPerRecipient', DEFAULTS.rateLimits.acknowledgementsPerRecipient),
      acknowledgementsPerDomain: rateLimit(limits.acknowledgementsPerDomain, 'rateLimits.acknowledgementsPerDomain', DEFAULTS.rateLimits.acknowledgementsPerDomain),
    },
    priority: {
      keywords: {
        urgent: strings(keywords.urgent, 'priority.keywords.urgent', DEFAULTS.priority.keywords.urgent),
        high: strings(keywords.high, 'priority.keywords.high', DEFAULTS.priority.keywords.high),
      },
      vipDomains: strings(priority.vipDomains, 'priority.vipDomains', DEFAULTS.priority.vipDomains),
      headers: priority.headers === undefined ? true : priority.headers === true,
    },
    acknowledgement: ruleWideAck,
  };
  // Addresses are matched in routing form (queueFor): two that share one would make the queue a
  // recipient lands in depend on the order of the file.
  const owners = new Map<string, string>();
  for (const q of rules.queues) {
    for (const a of [q.address, ...q.aliases]) {
      const owner = owners.get(routingAddressOf(a));
      if (owner !== undefined && owner !== q.address) throw new RulesError(`${a} reaches both ${owner} and ${q.address} (case, quotes and +tags do not tell addresses apart)`);
      owners.set(routingAddressOf(a), q.address);
    }
  }
  if (rules.unknownRecipient === 'default' && rules.queues.length > 0 && !rules.defaultQueue) {
    throw new RulesError('defaultQueue is required when queues are listed and unknownRecipient is "default"');
  }
  return rules;
}

export function loadRules(file: string | undefined): Rules {
  if (!file) return parseRules({});
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new RulesError(`cannot read the rules file ${file}: ${(error as Error).message}`);
  }
  try {
    return parseRules(JSON.parse(text));
  } catch (error) {
    throw new RulesError(`${file}: ${(error as Error).message}`);
  }
}

/**
 * The queue a recipient address delivers into, or null when the rules refuse it. Matched on the
 * routing form of both sides (src/domain/mailbox.ts), so a plus-tag, case, quoting or a trailing dot
 * in the recipient, or in the rules file, reaches the same queue.
 */
export function queueFor(rules: Rules, recipient: string): string | null {
  const base = routingAddressOf(recipient);
  if (rules.queues.length === 0) return base;
  const queue = rules.queues.find((q) => routingAddressOf(q.address) === base || q.aliases.some((a) => routingAddressOf(a) === base));
  if (queue) return queue.address;
  return rules.unknownRecipient === 'default' ? rules.defaultQueue : null;
}
