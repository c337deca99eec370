/**
 * The ticket token Mailgate puts in the subject of its own mail, e.g. "[MG-42]". Threading on it is
 * the last resort (EMAIL-RULES.md §3); the token is for people first.
 */
export function ticketToken(number: number): string {
  return `[MG-${number}]`;
}

export function parseTicketToken(subject: string): number | null {
  const match = /\[MG-(\d{1,12})\]/i.exec(subject);
  return match?.[1] ? Number(match[1]) : null;
}
