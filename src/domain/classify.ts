/**
 * Classifying an inbound email by the tiers of EMAIL-RULES.md §1: own → DSN → RFC 3834 → Microsoft
 * → lists → vendor → sender → helpdesk → weak. The first tier that matches decides the class; every tier is
 * still evaluated so the evidence shows all rules that matched (an operator reading a misfiled email
 * sees why). Pure: no I/O, so the evaluation set and the activity classify exactly alike.
 *
 * Threat model: every header here is sender-controlled. A forged "human-looking" automated mail costs
 * one acknowledgement, which carries Auto-Submitted and so cannot start a loop; a human mail misread
 * as automated loses its acknowledgement. So header evidence is trusted as sent, and the subject alone
 * (the weak tier) decides only when an out-of-office phrase opens it and is followed by a separator.
 */
import { domainOf } from './addresses';
import { dsnTier, type Bounce } from './classify-bounce';
import { automatedLocalPart, firstToken, headerValues } from './classify-headers';
import { robotReplyFindings } from './classify-helpdesk-acks';
import { outOfOfficePhrase } from './classify-phrases';
import type { EmailDocument } from './email';

export { decodeEncodedWords } from './classify-headers';
export { outOfOfficePhrase } from './classify-phrases';

export type EmailClass = 'human' | 'auto_reply' | 'auto_generated' | 'bounce' | 'own_loop';

export interface ClassifyContext {
  /** Value of our loop header `X-Mailgate-Loop` on mail we send. */
  instanceId: string;
  /** True for addresses that are ours (our inbound domains). */
  isOwnAddress(address: string): boolean;
  /** True for a Message-ID that Mailgate generated and can verify (signed). */
  isOwnMessageId(messageId: string): boolean;
  /** Sender addresses or "@domain" entries allowed to open tickets although automated. */
  allowlist: string[];
}

export interface Classification {
  emailClass: EmailClass;
  /** For bounces: hard (5.x.x / failed) or soft (4.x.x / delayed), the bounced recipients, the first status. */
  bounce: Bounce | null;
  /** Every rule that matched, in tier order, as stable short strings. */
  evidence: string[];
  /** True when only a weak rule (subject phrase) decided. */
  weak: boolean;
  /** True when the sender is on the allowlist: the class stays what the rules say, the caller lets it open tickets. */
  allowlisted: boolean;
  /**
   * Human by every tier, yet it reads like a challenge or another helpdesk's acknowledgement
   * (classify-helpdesk-acks.ts): it opens its ticket but is not acknowledged. Absent otherwise.
   */
  suspectedAutomated?: true;
}

export const LOOP_HEADER = 'x-mailgate-loop';
/** Body text scanned for bounce wording and status codes; DSN prose sits at the top. */
const MAX_SCANNED_TEXT = 20_000;

type Tier = 'own' | 'dsn' | 'rfc3834' | 'microsoft' | 'lists' | 'vendor' | 'sender' | 'helpdesk' | 'weak';
interface Verdict {
  emailClass: EmailClass;
  evidence: string[];
}

// ---- own ------------------------------------------------------------------------------------------

function ownTier(doc: EmailDocument, ctx: ClassifyContext): string[] {
  const evidence: string[] = [];
  if (headerValues(doc, LOOP_HEADER).some((v) => v.split(/[\s;,]+/).includes(ctx.instanceId))) evidence.push('own:loop-header');
  if (doc.messageId && ctx.isOwnMessageId(doc.messageId) && doc.from && ctx.isOwnAddress(doc.from.address)) {
    evidence.push('own:message-id');
  }
  return evidence;
}

// ---- RFC 3834, Microsoft, lists, vendor, sender ---------------------------------------------------

function rfc3834Tier(doc: EmailDocument): Verdict | null {
  const value = headerValues(doc, 'auto-submitted').map(firstToken).find((v) => v !== '' && v !== 'no');
  if (!value) return null;
  return { emailClass: value === 'auto-replied' ? 'auto_reply' : 'auto_generated', evidence: [`rfc3834:auto-submitted=${value}`] };
}

function microsoftTier(doc: EmailDocument): Verdict | null {
  const tokens = headerValues(doc, 'x-auto-response-suppress').flatMap((v) => v.toLowerCase().split(/[\s,;]+/));
  const matched = ['all', 'dr', 'autoreply'].filter((t) => tokens.includes(t));
  if (matched.length === 0) return null;
  const evidence = matched.map((t) => `microsoft:x-auto-response-suppress=${t}`);
  // Exchange stamps the inbox-rules loop header on what its rules (the OOF assistant) send.
  if (doc.headers['x-ms-exchange-inbox-rules-loop']) return { emailClass: 'auto_reply', evidence: [...evidence, 'microsoft:inbox-rules-loop'] };
  return { emailClass: 'auto_generated', evidence };
}

/** List software headers (RFC 2369, RFC 2919, and pre-RFC list managers). */
const LIST_HEADERS = ['list-id', 'list-unsubscribe', 'feedback-id', 'x-mailman-version', 'mailing-list', 'x-mailing-list', 'x-mlserver', 'x-ml-name'];

function listsTier(doc: EmailDocument): Verdict | null {
  const evidence = LIST_HEADERS.filter((h) => doc.headers[h]).map((h) => `list:${h}`);
  let autoReply = false;
  for (const name of ['precedence', 'x-precedence']) {
    for (const value of headerValues(doc, name).map(firstToken)) {
      if (!['bulk', 'list', 'junk', 'auto_reply'].includes(value)) continue;
      evidence.push(`list:${name}=${value}`);
      autoReply ||= value === 'auto_reply';
    }
  }
  if (evidence.length === 0) return null;
  return { emailClass: autoReply ? 'auto_reply' : 'auto_generated', evidence };
}

/** Vendor headers: [header, value test (null: any value), class]. */
const VENDOR_RULES: [string, RegExp | null, EmailClass][] = [
  ['x-autoreply', /^(?:yes|true|1)$/, 'auto_reply'],
  ['x-autorespond', null, 'auto_reply'],
  ['x-autoresponder', null, 'auto_reply'],
  ['x-autoresponse', null, 'auto_reply'],
  ['x-autoreply-from', null, 'auto_reply'],
  ['x-mail-autoreply', null, 'auto_reply'],
  ['x-autogenerated', /^reply$/, 'auto_reply'],
  // iCloud's vacation responder; not in the table of EMAIL-RULES.md but unambiguous.
  ['x-apple-action', /^vacation$/, 'auto_reply'],
  ['x-fc-machinegenerated', /^true$/, 'auto_generated'],
  ['x-loop', /^(?:yes|true)$/, 'auto_generated'],
  ['x-amazon-mail-relay-type', /^notification$/, 'auto_generated'],
];

function vendorTier(doc: EmailDocument): Verdict | null {
  const evidence: string[] = [];
  let emailClass: EmailClass | null = null;
  for (const [name, test, cls] of VENDOR_RULES) {
    const value = headerValues(doc, name).find((v) => (test ? test.test(v.toLowerCase()) : true));
    if (value === undefined) continue;
    evidence.push(test ? `vendor:${name}=${value.toLowerCase()}` : `vendor:${name}`);
    emailClass ??= cls;
  }
  return emailClass ? { emailClass, evidence } : null;
}

function senderTier(doc: EmailDocument): Verdict | null {
  const evidence: string[] = [];
  const fromRole = doc.from ? automatedLocalPart(doc.from.address) : null;
  if (fromRole) evidence.push(`sender:local-part=${fromRole}`);
  for (const replyTo of doc.replyTo) {
    const role = automatedLocalPart(replyTo.address);
    if (role && !evidence.includes(`sender:reply-to=${role}`)) evidence.push(`sender:reply-to=${role}`);
  }
  return evidence.length > 0 ? { emailClass: 'auto_generated', evidence } : null;
}

// ---- the tiers in order ---------------------------------------------------------------------------

function isAllowlisted(doc: EmailDocument, allowlist: string[]): boolean {
  if (!doc.from) return false;
  const address = doc.from.address.toLowerCase();
  return allowlist.some((entry) => {
    const e = entry.trim().toLowerCase();
    return e.startsWith('@') ? domainOf(address) === e.slice(1) : e === address;
  });
}

export function classifyEmail(doc: EmailDocument, ctx: ClassifyContext): Classification {
  const scanned = doc.text.slice(0, MAX_SCANNED_TEXT);
  const robot = robotReplyFindings(doc, ctx);
  // "[rt.example #12] AutoReply: …": the same subject evidence as the weak tier's, behind a foreign ticket tag.
  const phrase = outOfOfficePhrase(doc.subject) ?? robot.taggedAutoReplyPhrase;
  const own = ownTier(doc, ctx);
  const dsn = dsnTier(doc, scanned);
  const tiers: [Tier, Verdict | null][] = [
    ['own', own.length > 0 ? { emailClass: 'own_loop', evidence: own } : null],
    ['dsn', dsn.verdict],
    ['rfc3834', rfc3834Tier(doc)],
    ['microsoft', microsoftTier(doc)],
    ['lists', listsTier(doc)],
    ['vendor', vendorTier(doc)],
    ['sender', senderTier(doc)],
    ['helpdesk', robot.decided ? { emailClass: 'auto_reply', evidence: robot.evidence } : null],
    ['weak', phrase ? { emailClass: 'auto_reply', evidence: [`weak:subject=${phrase}`, ...(robot.decided ? [] : robot.evidence)] } : null],
  ];
  const evidence = tiers.flatMap(([, v]) => v?.evidence ?? []);
  const decided = tiers.find(([, v]) => v !== null);
  if (!decided?.[1]) {
    const allowlisted = isAllowlisted(doc, ctx.allowlist);
    if (!robot.suspect) return { emailClass: 'human', bounce: null, evidence, weak: false, allowlisted };
    return { emailClass: 'human', bounce: null, evidence: [...robot.evidence, 'suspect:not-acknowledged'], weak: false, allowlisted, suspectedAutomated: true };
  }
  const [tier, verdict] = decided;
  let emailClass = verdict.emailClass;
  // The deciding tier proves the mail automated; a later auto-reply signal names its kind. Some
  // responders mark out-of-office replies only generically: Exchange with Auto-Submitted:
  // auto-generated plus its rules-loop stamp, vacation(1) with Precedence: bulk and its subject.
  const replyHint = phrase !== null || tiers.some(([t, v]) => t !== 'weak' && v?.emailClass === 'auto_reply');
  if (emailClass === 'auto_generated' && tier !== 'own' && tier !== 'dsn' && replyHint) emailClass = 'auto_reply';
  return {
    emailClass,
    bounce: emailClass === 'bounce' ? dsn.bounce : null,
    evidence,
    weak: tier === 'weak',
    allowlisted: isAllowlisted(doc, ctx.allowlist),
  };
}
