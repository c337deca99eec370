/** The weak tier of classify.ts: an out-of-office phrase opening the subject. */

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
