/**
 * Classifying an inbound email by the tiers of EMAIL-RULES.md §1: own → DSN → RFC 3834 → Microsoft
 * → lists → vendor → sender → weak. The first tier that matches decides the class; every tier is
 * still evaluated so the evidence shows all rules that matched (an operator reading a misfiled email
 * sees why). Pure: no I/O, so the evaluation set and the activity classify exactly alike.
 *
 * Threat model: every header here is sender-controlled. A forged "human-looking" automated mail costs
 * one acknowledgement, which carries Auto-Submitted and so cannot start a loop; a human mail misread
 * as automated loses its acknowledgement. So header evidence is trusted as sent, and the subject alone
 * (the weak tier) decides only when an out-of-office phrase opens it and is followed by a separator.
 */
import { domainOf } from './addresses';
import type { EmailDocument } from './email';

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
  bounce: { kind: 'hard' | 'soft'; recipients: string[]; status: string | null } | null;
  /** Every rule that matched, in tier order, as stable short strings. */
  evidence: string[];
  /** True when only a weak rule (subject phrase) decided. */
  weak: boolean;
  /** True when the sender is on the allowlist: the class stays what the rules say, the caller lets it open tickets. */
  allowlisted: boolean;
}

export const LOOP_HEADER = 'x-mailgate-loop';
/** Body text scanned for bounce wording and status codes; DSN prose sits at the top. */
const MAX_SCANNED_TEXT = 20_000;

type Tier = 'own' | 'dsn' | 'rfc3834' | 'microsoft' | 'lists' | 'vendor' | 'sender' | 'weak';
interface Verdict {
  emailClass: EmailClass;
  evidence: string[];
}

/** RFC 2047 encoded-words → text; an unknown charset or broken word is left as it was. */
export function decodeEncodedWords(value: string): string {
  // Whitespace between adjacent encoded-words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/(=\?[^?\s]+\?[bq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bq]\?)/gi, '$1');
  return joined.replace(/=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bq])\?([^?\s]*)\?=/gi, (word, charset: string, enc: string, data: string) => {
    try {
      const bytes =
        enc.toLowerCase() === 'b'
          ? Buffer.from(data, 'base64')
          : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return new TextDecoder(charset).decode(bytes);
    } catch {
      return word;
    }
  });
}

function headerValues(doc: EmailDocument, name: string): string[] {
  return (doc.headers[name] ?? []).map((v) => decodeEncodedWords(v).trim());
}

function firstToken(value: string): string {
  return (/^[^;(\s,]*/.exec(value.trim().toLowerCase())?.[0] ?? '').replace(/^"|"$/g, '');
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(0, at) : address).toLowerCase();
}

/** Canonical name of an automated sender's local part (EMAIL-RULES.md §1, sender tier). */
function automatedLocalPart(address: string): string | null {
  const local = localPart(address);
  if (/^mailer[-_]?daemon$/.test(local)) return 'mailer-daemon';
  if (/^post[-_]?master$/.test(local)) return 'postmaster';
  if (/^(?:abuse|root)$/.test(local)) return local;
  if (/^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-_.+].*)?$|[-_.+]no[-_.]?reply$/.test(local)) return 'no-reply';
  return null;
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

// ---- DSN (RFC 3464, RFC 3463 status codes) --------------------------------------------------------

/** Wording of non-delivery and delay reports from MTAs that send no message/delivery-status part. */
const BOUNCE_WORDING =
  /undeliver(?:able|ed)|delivery (?:status notification|has failed|failed|failure|problem|incomplete|error)|(?:could not|couldn't|can't|cannot|unable to) (?:be )?deliver|not (?:be |been )?delivered|error delivering|returned mail|mail (?:delivery )?(?:failed|failure|system error)|mail delivery (?:system|subsystem)|failure notice|non[- ]?delivery|\bbounced?\b|permanent (?:error|failure)|\brejected\b|user unknown|no such user|invalid user|mailbox (?:unavailable|full|not found|is full)|delivery (?:temporarily )?(?:delayed|suspended)|could not send message|message (?:delayed|has not yet been delivered)|will (?:be retried|retry|keep trying)|配信(?:できません|不能|に失敗)|送信できませんでした|Недоставленное|не (?:может быть )?доставлено/i;
/** Without a status code: a message returned for good, or only delayed / refused for a passing reason. */
const HARD_WORDING =
  /permanent(?:ly)? (?:error|failure|fatal)|failed permanently|given up|gave up|user unknown|unknown user|no such (?:user|mailbox|recipient)|invalid user|does ?n[o']t exist|not exist|account (?:is )?disabled|host (?:\S+ )?not found|malformed (?:recipient )?address|recipient address rejected|could not be delivered|can ?not be delivered|undeliverable|\brejected\b|not delivered|delivery (?:has )?failed|failure notice|returned mail/i;
const SOFT_WORDING =
  /\bdelayed\b|will (?:be retried|retry|keep trying)|not yet been delivered|temporar(?:y|ily)|warning:|could not send message for past|mailbox (?:is )?full|over quota|quota exceeded|insufficient (?:disk )?space/i;
/** Recipients named in DSN-less bounce prose: Postfix/qmail "<user@host>:" lines, DragonFly's sentence. */
const RECIPIENT_IN_TEXT = /^\s*<([^<>\s@]+@[^<>\s]+)>:|error delivering your mail to <([^<>\s@]+@[^<>\s]+)>/gm;
const STATUS_IN_TEXT = /(?:^|[\s(#[])([45])\.(\d{1,3})\.(\d{1,3})(?=[\s).,;:\]]|$)/m;
/** A basic SMTP reply code where bounce prose quotes the remote server (RFC 5321 §4.2.1). */
const REPLY_CODE_IN_TEXT = /(?:^|said:|returned(?: was)?:?|error:)\s*([45]\d\d)(?=[\s-])/im;

/** Return-Path <> (RFC 5321 §4.5.5), or <MAILER-DAEMON> as some MTAs write it. */
function isNullReturnPath(doc: EmailDocument): boolean {
  return headerValues(doc, 'return-path').some((v) => /^<?\s*(?:mailer-daemon)?\s*>?$/i.test(v));
}

/** The From of a delivery report: a daemon address, or a daemon name over a null address ("MAILER-DAEMON <>"). */
function daemonSender(doc: EmailDocument): 'mailer-daemon' | 'postmaster' | null {
  const role = doc.from ? automatedLocalPart(doc.from.address) : null;
  if (role === 'mailer-daemon' || role === 'postmaster') return role;
  if (doc.from) return null;
  const raw = headerValues(doc, 'from')[0] ?? '';
  if (/^"?(?:mailer[- ]?daemon|mail delivery (?:sub)?system)"?\s*(?:<\s*>)?$/i.test(raw)) return 'mailer-daemon';
  return /^"?postmaster"?\s*(?:<\s*>)?$/i.test(raw) ? 'postmaster' : null;
}

function contentTypeParam(contentType: string, name: string): string | null {
  return new RegExp(`;\\s*${name}\\s*=\\s*"?([^";\\s]+)`, 'i').exec(contentType)?.[1]?.toLowerCase() ?? null;
}

function dsnTier(doc: EmailDocument, scanned: string): { verdict: Verdict | null; bounce: Classification['bounce'] } {
  const evidence: string[] = [];
  const mime = (doc.contentType.split(';')[0] ?? '').trim();
  const reportType = mime === 'multipart/report' ? contentTypeParam(doc.contentType, 'report-type') : null;
  const partTypes = new Set(doc.attachments.map((a) => a.contentType));

  // MDNs (RFC 8098) and abuse reports (RFC 5965) are reports, not delivery failures.
  const otherReport =
    reportType === 'disposition-notification' || partTypes.has('message/disposition-notification')
      ? 'disposition-notification'
      : reportType === 'feedback-report' || partTypes.has('message/feedback-report')
        ? 'feedback-report'
        : null;
  if (otherReport) return { verdict: { emailClass: 'auto_generated', evidence: [`report:${otherReport}`] }, bounce: null };

  if (reportType === 'delivery-status' || reportType === 'global-delivery-status') evidence.push(`dsn:report-type=${reportType}`);
  if (doc.deliveryStatus.length > 0) evidence.push('dsn:delivery-status-part');
  else if (partTypes.has('message/delivery-status') || partTypes.has('message/global-delivery-status')) evidence.push('dsn:delivery-status-part');
  const failedRecipients = headerValues(doc, 'x-failed-recipients')
    .flatMap((v) => v.split(','))
    .map((a) => a.trim().replace(/^<|>$/g, '').toLowerCase())
    .filter(Boolean);
  if (doc.headers['x-failed-recipients']) evidence.push('dsn:x-failed-recipients');

  // A null sender or a daemon sender alone is not a bounce (vacation programs use both): it needs
  // a returned message or bounce wording to go with it.
  const daemon = daemonSender(doc);
  if (evidence.length === 0 && (isNullReturnPath(doc) || daemon)) {
    const returned = doc.returnedMessage !== null;
    const wording = BOUNCE_WORDING.test(doc.subject) || BOUNCE_WORDING.test(scanned);
    if (returned || wording) {
      if (isNullReturnPath(doc)) evidence.push('dsn:return-path=<>');
      if (daemon) evidence.push(`dsn:from=${daemon}`);
      evidence.push(returned ? 'dsn:returned-message' : 'dsn:bounce-wording');
    }
  }
  if (evidence.length === 0) return { verdict: null, bounce: null };

  const blocks = doc.deliveryStatus;
  const failing = blocks.filter((b) => b.action === 'failed' || b.action === 'delayed' || /^[45]\./.test(b.status ?? ''));
  if (blocks.length > 0 && failing.length === 0) {
    // Every recipient delivered, relayed or expanded (RFC 3464 §2.3.3): a success report, not a bounce.
    return { verdict: { emailClass: 'auto_generated', evidence: [...evidence, 'dsn:success-only'] }, bounce: null };
  }
  // The status class decides (RFC 3463 §3.1: 4.x.x is a persistent transient failure even when the
  // MTA gave up and says "failed"); Action only when a block has no status.
  const hardBlock = failing.some((b) => (b.status ? b.status.startsWith('5.') : b.action === 'failed'));
  let status = failing.find((b) => b.status)?.status ?? null;
  let kind: 'hard' | 'soft';
  const textRecipients: string[] = [];
  if (failing.length > 0) {
    kind = hardBlock ? 'hard' : 'soft';
  } else {
    if (failedRecipients.length === 0) {
      for (const m of scanned.matchAll(RECIPIENT_IN_TEXT)) textRecipients.push((m[1] ?? m[2] ?? '').toLowerCase());
    }
    const inText = STATUS_IN_TEXT.exec(`${doc.subject}\n${scanned}`);
    const replyCode = REPLY_CODE_IN_TEXT.exec(scanned)?.[1];
    if (inText) {
      status = `${inText[1]}.${inText[2]}.${inText[3]}`;
      evidence.push(`dsn:status-in-text=${status}`);
      kind = inText[1] === '5' ? 'hard' : 'soft';
    } else if (replyCode) {
      evidence.push(`dsn:reply-code-in-text=${replyCode}`);
      kind = replyCode.startsWith('5') ? 'hard' : 'soft';
    } else if (failedRecipients.length > 0) {
      kind = 'hard';
    } else {
      const text = `${doc.subject}\n${scanned}`;
      kind = HARD_WORDING.test(text) && !SOFT_WORDING.test(text) ? 'hard' : 'soft';
    }
  }
  const fromBlocks = failing.map((b) => b.finalRecipient).filter((r): r is string => r !== null);
  const recipients = [...new Set([...fromBlocks, ...failedRecipients, ...textRecipients])];
  return { verdict: { emailClass: 'bounce', evidence }, bounce: { kind, recipients, status } };
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

// ---- weak: out-of-office subject phrases ----------------------------------------------------------

/**
 * Subject openers of out-of-office replies, including the localized "Automatic reply:" prefixes of
 * Outlook/Exchange and Lotus Notes. Bare words like "Absence" or "Urlaub" are left out: humans open
 * subjects with them ("Absence - leave request").
 */
const OOO_PHRASES = [
  // English
  'out of (?:the )?office(?: auto ?reply| reply| notice)?', 'auto(?:matic|mated)?[ -]?(?:reply|response|answer)', 'autoreply', 'autorespons?e?',
  'vacation (?:reply|response|notice|message)', 'away from (?:the office|my (?:e-?mail|mail|desk))',
  // German
  'abwesenheits(?:notiz|nachricht|meldung|info)', 'automatische (?:antwort|rückantwort|abwesenheitsnachricht)', 'nicht im büro', 'außer haus',
  // French
  'réponse automatique', 'reponse automatique', 'message d[\'’]absence', 'absent(?:e)? du bureau', 'absence du bureau', 'notification d[\'’]absence',
  // Spanish, Italian, Portuguese
  'respuesta automática', 'respuesta automatica', 'fuera de (?:la )?oficina', 'aviso de ausencia', 'mensaje de ausencia',
  'risposta automatica', 'fuori (?:sede|ufficio)', 'messaggio di assenza',
  'resposta automática', 'resposta automatica', 'fora do escritório', 'mensagem de ausência', 'ausente do escritório',
  // Dutch, Swedish, Danish/Norwegian, Finnish, Polish, Czech, Russian, Turkish
  'automatisch antwoord', 'afwezigheidsmelding', 'niet aanwezig',
  'automatiskt svar', 'frånvaromeddelande', 'frånvarande', 'automatisk svar', 'autosvar', 'fraværsmelding',
  'automaattinen vastaus', 'automatyczna odpowiedź', 'automatická odpověď', 'автоматический ответ', 'автоответ', 'otomatik yanıt',
  // Japanese, Chinese, Korean
  '自動応答', '自動返信', '不在通知', '自动回复', '自动答复', '自動回覆', '自動回復', '自動答覆', '자동 회신', '자동 응답', '부재중',
];
/** Short or everyday openers ("Auto: …" from Lotus Notes): only with a colon or in brackets. */
const OOO_SHORT = ['auto', 'ooo', 'on vacation', 'on leave', 'on holiday', 'afwezig', '不在'];
const OPEN = '^\\s*[[【(（<]?\\s*';
// A dash separates only with a space after it: "Out of office - back Monday", not "Auto reply-to".
const OOO_SUBJECT = new RegExp(`${OPEN}(${OOO_PHRASES.join('|')})\\s*(?:[:：\\]】)）>]|[-–—]\\s|$)`, 'iu');
const OOO_SHORT_SUBJECT = new RegExp(`${OPEN}(${OOO_SHORT.join('|')})\\s*[:：\\]】)）>]`, 'iu');

export function outOfOfficePhrase(subject: string): string | null {
  const normalized = subject.normalize('NFC');
  const match = OOO_SUBJECT.exec(normalized) ?? OOO_SHORT_SUBJECT.exec(normalized);
  return match?.[1]?.toLowerCase() ?? null;
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
  const phrase = outOfOfficePhrase(doc.subject);
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
    ['weak', phrase ? { emailClass: 'auto_reply', evidence: [`weak:subject=${phrase}`] } : null],
  ];
  const evidence = tiers.flatMap(([, v]) => v?.evidence ?? []);
  const decided = tiers.find(([, v]) => v !== null);
  if (!decided?.[1]) return { emailClass: 'human', bounce: null, evidence, weak: false, allowlisted: isAllowlisted(doc, ctx.allowlist) };
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
