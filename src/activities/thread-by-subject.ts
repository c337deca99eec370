/**
 * The ledger side of threading by subject (src/domain/thread-by-subject.ts): every human message
 * accepted onto a ticket indexes its subject's digest, and the last rule of the thread lookup asks
 * for the tickets of that digest in the queue and window. Indexing runs whether or not the rule is
 * enabled, so enabling it finds the tickets of the window before.
 */
import { createHash } from 'node:crypto';
import { isReplySubject } from '../domain/subject-normalise';
import { chooseBySubject, SUBJECT_CANDIDATE_LIMIT, subjectThreadKey, type ThreadBySubjectRule } from '../domain/thread-by-subject';
import type { Ledger, ThreadMatch } from '../ports/ledger';

const DAY_MS = 86_400_000;

/** The ledger keeps a digest, never the subject (an erasure request would otherwise have more to find). */
function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Records the subject of a message that landed on the ticket; a generic subject is not recorded (it never matches). */
export async function indexSubject(ledger: Pick<Ledger, 'indexSubject'>, input: { ticketId: string; subject: string; at: string }): Promise<void> {
  const key = subjectThreadKey(input.subject);
  if (key !== null) await ledger.indexSubject({ ticketId: input.ticketId, subjectKey: digest(key), at: input.at });
}

export interface SubjectLookupInput {
  rule: ThreadBySubjectRule;
  subject: string;
  queue: string;
  /** When the email arrived: the window is counted back from here. */
  at: string;
}

/** The ticket a header-less reply joins by subject, or null; `refused` says why none was chosen when that is worth recording. */
export async function findBySubject(
  ledger: Pick<Ledger, 'findTicketsBySubject'>,
  participates: (ticketId: string) => Promise<boolean>,
  input: SubjectLookupInput,
): Promise<{ match: (ThreadMatch & { participant: true }) | null; refused: string[] }> {
  // A conversation's first message has no threading headers either: only a reply's subject may join.
  if (!isReplySubject(input.subject)) return { match: null, refused: [] };
  const key = subjectThreadKey(input.subject);
  if (key === null) return { match: null, refused: ['subject-participant: subject too generic to thread on'] };
  const since = new Date(Date.parse(input.at) - input.rule.windowDays * DAY_MS).toISOString();
  const found = await ledger.findTicketsBySubject({ subjectKey: digest(key), queue: input.queue, since, limit: SUBJECT_CANDIDATE_LIMIT });
  // Ambiguity needs no participant check; a single candidate needs one.
  const verdicts = found.length === 1 ? [{ ...found[0]!, participant: await participates(found[0]!.ticketId) }] : found.map((c) => ({ ...c, participant: false }));
  const { ticket, reason } = chooseBySubject(verdicts);
  if (!ticket) return { match: null, refused: reason ? [reason] : [] };
  return { match: { ticketId: ticket.ticketId, ticketNumber: ticket.ticketNumber, messageId: `subject:${digest(key).slice(0, 16)}`, participant: true }, refused: [] };
}
