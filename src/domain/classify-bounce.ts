/**
 * The DSN tier of classify.ts: delivery status notifications (RFC 3464, status codes of RFC 3463),
 * and the bounces of MTAs that send no delivery-status part.
 */
import { automatedLocalPart, headerValues } from './classify-headers';
import type { EmailDocument } from './email';

export interface Bounce {
  kind: 'hard' | 'soft';
  recipients: string[];
  status: string | null;
}

/** A report that is not a delivery failure is auto_generated; a delivery failure is a bounce. */
export interface DsnResult {
  verdict: { emailClass: 'auto_generated' | 'bounce'; evidence: string[] } | null;
  bounce: Bounce | null;
}

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

export function dsnTier(doc: EmailDocument, scanned: string): DsnResult {
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
