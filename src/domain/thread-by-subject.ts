/**
 * Threading by subject (issue 14, class 7): a reply that carries no threading header (In-Reply-To,
 * References), token or marker joins an existing ticket only when all of these hold; the rule is
 * tried last:
 *   - the email is human (never a bounce, auto-reply or notification);
 *   - its subject is a reply's ("Re:", "AW:", … after any tags): a conversation's first message
 *     carries no threading headers either, and a new one with an old subject must stay new;
 *   - its normalised subject (src/domain/subject-normalise.ts) says enough to name one conversation:
 *     "Hello", "Question", "(no subject)" or an empty subject never match;
 *   - exactly one ticket of the queue has that subject with its latest message within the window:
 *     two or more are ambiguous (whoever takes part in them), and nothing is chosen;
 *   - the sender already takes part in that ticket (src/domain/participants.ts).
 * Off by default (rules option `threadBySubject`): merging two conversations is worse than splitting
 * one, and an operator can split again (reprocess with forceNewTicket).
 */
import { normaliseSubject } from './subject-normalise';

export interface ThreadBySubjectRule {
  enabled: boolean;
  /** How long after a ticket's latest message a reply may still join it by subject. */
  windowDays: number;
}

export const DEFAULT_THREAD_BY_SUBJECT: Readonly<ThreadBySubjectRule> = Object.freeze({ enabled: false, windowDays: 14 });
/** A window longer than a year would join conversations nobody remembers as one. */
export const MAX_THREAD_BY_SUBJECT_WINDOW_DAYS = 365;
/** Candidate tickets read per lookup: more than two already means "ambiguous". */
export const SUBJECT_CANDIDATE_LIMIT = 10;

/**
 * Words that say nothing about which conversation a subject belongs to: greetings, "question",
 * "help", "(no subject)", "urgent" and filler, in the languages the classifier reads most. A subject
 * made only of these (and words under three letters) is generic.
 */
const GENERIC_WORDS = new Set(
  (
    'hello hallo hey dear good morning afternoon evening day question questions frage fragen help hilfe aide ayuda aiuto please bitte ' +
    'urgent dringend urgente problem problems problème problema issue issues request anfrage demande solicitud support info information ' +
    'informations inquiry enquiry test testing update thanks thank you danke merci gracias grazie the and for with about from your our ' +
    'mine this that there quick some need needs again still new subject none fyi mail email e-mail message messages nachricht contact ' +
    'kontakt important wichtig follow followup regarding betreff sur pour avec und mit für von der die das ein eine meine mein ihre les des ' +
    'une mon hola bonjour salut ciao olá oi ticket case hilfe anliegen'
  ).split(' '),
);
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/**
 * The key of a subject for threading, or null when the subject is too generic to name one
 * conversation: fewer than two informative words (three letters or more, not generic; a number of
 * three digits or more, such as an order number, counts; a run of four CJK characters counts twice).
 */
export function subjectThreadKey(subject: string): string | null {
  const key = normaliseSubject(subject);
  let informative = 0;
  for (const word of key.split(/[^\p{L}\p{N}]+/u)) {
    if (CJK.test(word)) informative += word.length >= 4 ? 2 : word.length >= 2 ? 1 : 0;
    else if (/^\p{N}+$/u.test(word)) informative += word.length >= 3 ? 1 : 0;
    else if (word.length >= 3 && !GENERIC_WORDS.has(word)) informative += 1;
  }
  return informative >= 2 ? key : null;
}

export interface SubjectCandidateVerdict {
  ticketId: string;
  ticketNumber: number;
  /** The sender takes part in this ticket. */
  participant: boolean;
}

/**
 * The one ticket a header-less reply joins by subject, or null with the reason. Ambiguity is judged
 * over every ticket with the subject, not only the sender's: a participant of one conversation who
 * answers another with the same subject must not be pulled into the first.
 */
export function chooseBySubject(candidates: SubjectCandidateVerdict[]): { ticket: SubjectCandidateVerdict | null; reason: string | null } {
  if (candidates.length > 1) {
    const names = candidates.map((c) => `MG-${c.ticketNumber}`).join(', ');
    return { ticket: null, reason: `subject-participant: ${candidates.length} tickets share the subject in the window (${names}); ambiguous, none chosen` };
  }
  const only = candidates[0];
  if (!only) return { ticket: null, reason: null };
  if (!only.participant) return { ticket: null, reason: `subject-participant: MG-${only.ticketNumber} has the subject, but the sender does not take part in it` };
  return { ticket: only, reason: null };
}
