/**
 * A subject as a thread sees it: reply and forward prefixes of many mail clients and languages and
 * bracketed tags (list names, ticket tokens) removed, whitespace and case folded. Used to tell a
 * person's reply from a system's own subject (classification) and to compare subjects across a
 * thread (threading by subject).
 */

/**
 * Reply/forward prefixes: English, German (AW, WG, Antw), Nordic (SV, VS, VB), Dutch (Antw, Doorst),
 * French (TR, RE), Italian (R, RIF), Spanish/Portuguese (RV, ENC, RES), Polish (ODP, PD), Turkish
 * (YNT, ILT), Finnish (VL), Chinese (回复, 转发, 答复). Outlook may number them ("RE[2]:", "Re(3):").
 */
const PREFIX_WORDS = 're|fwd?|fw|aw|wg|antw|sv|vs|vb|vl|doorst|tr|r|rif|rv|enc|res|odp|pd|ynt|ilt|回复|回覆|转发|轉寄|答复';
const PREFIX = new RegExp(`^\\s*(?:${PREFIX_WORDS})\\s*(?:\\[\\d{1,3}\\]|\\(\\d{1,3}\\))?\\s*[:：]`, 'iu');
/** A bracketed tag: "[list-name]", "[MG-42]", "[Ticket#1234]", "【重要】"; bounded so prose in brackets is not eaten whole. */
const TAG = /^\s*(?:\[[^\][]{1,60}\]|【[^】]{1,30}】)/u;

/** Reply prefixes only (a forward starts a conversation of its own): RE, AW, Antw, SV, VS, R, RIF, RES, ODP, YNT, 回复. */
const REPLY_PREFIX = /^\s*(?:re|aw|antw|sv|vs|r|rif|res|odp|ynt|回复|回覆|答复)\s*(?:\[\d{1,3}\]|\(\d{1,3}\))?\s*[:：]/iu;

/** True when the subject, after any leading tags, opens with a reply prefix ("Re: x", "[list] AW: x"). */
export function isReplySubject(subject: string): boolean {
  let rest = subject.normalize('NFC');
  for (let guard = 0; guard < 10 && TAG.test(rest); guard += 1) rest = rest.replace(TAG, '');
  return REPLY_PREFIX.test(rest);
}

/** True when the subject opens with a reply or forward prefix (before any tag): a person answered or passed it on. */
export function opensWithReplyPrefix(subject: string): boolean {
  return PREFIX.test(subject.normalize('NFC'));
}

/** The subject with leading prefixes and tags stripped, repeatedly, in any mix ("Re: [list] AW: x" → "x"). */
export function stripSubjectPrefixes(subject: string): string {
  let rest = subject.normalize('NFC');
  for (let guard = 0; guard < 20; guard += 1) {
    const next = rest.replace(PREFIX, '').replace(TAG, '');
    if (next === rest) break;
    rest = next;
  }
  return rest.trim();
}

/** Prefixes and tags stripped, whitespace collapsed, case folded: the key two subjects of one thread share. */
export function normaliseSubject(subject: string): string {
  return stripSubjectPrefixes(subject).replace(/\s+/gu, ' ').trim().toLowerCase();
}
