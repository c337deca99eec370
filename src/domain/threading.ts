/**
 * Which Message-IDs a reply may thread on, in the order they are tried: In-Reply-To first (the
 * direct parent), then References newest-first (RFC 5322 §3.6.4 appends each parent to the end),
 * capped so a hostile header cannot make a lookup unbounded.
 */
export interface ThreadCandidatesInput {
  inReplyTo: string[];
  references: string[];
  /** The email's own Message-ID is never a candidate (a redelivery must not thread on itself). */
  ownMessageId: string | null;
  max: number;
}

export function threadCandidates(input: ThreadCandidatesInput): string[] {
  const out: string[] = [];
  const add = (id: string): void => {
    if (out.length < input.max && id !== input.ownMessageId && !out.includes(id)) out.push(id);
  };
  input.inReplyTo.forEach(add);
  [...input.references].reverse().forEach(add);
  return out;
}
