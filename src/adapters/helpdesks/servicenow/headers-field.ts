/**
 * The ServiceNow headers field: each message's header block under a line naming its Message-ID, the
 * ticket's first message first, replies appended in order. Written in the same PATCH as the journal
 * entry, so a message's headers are in the field exactly when its comment is on the ticket, and
 * every earlier value stays in the record's History (sys_audit) when the table is audited.
 *
 * A journal entry (work note) per message was the other way: journal fields default to 4,000
 * characters, less than one header block may take (MAX_AUDIT_HEADER_BYTES), and header blocks in the
 * activity stream would bury the conversation agents read there.
 *
 * The field has a fixed length (65,000 recommended, as for the meta field). When a reply's block
 * would overflow it, the oldest replies' blocks (never the first message's) give way, and a line
 * says how many did.
 */

/** Characters the field is kept within: the recommended max length of the custom String field. */
export const MAX_HEADERS_FIELD_CHARS = 65_000;

const SECTION = /^==== (?:Message-ID <[^>\n]*>|\[Mailgate: [^\n]*\]) ====$/m;
const DROPPED = /^==== \[Mailgate: the header blocks of (\d+) earlier repl(?:y|ies) were dropped for room; see the record's History\] ====$/m;

/** A block's own line that looks like a section line (hostile or broken mail) is indented, so it cannot split the field. */
export function headersSection(messageId: string, headers: string): string {
  return `==== Message-ID <${messageId}> ====\n${headers.replace(/^====/gm, ' ====')}`;
}

function sections(field: string): string[] {
  const out: string[] = [];
  let rest = field;
  for (;;) {
    const next = rest.slice(1).search(SECTION);
    if (next < 0) {
      if (rest !== '') out.push(rest.replace(/\n+$/, ''));
      return out;
    }
    out.push(rest.slice(0, next + 1).replace(/\n+$/, ''));
    rest = rest.slice(next + 1);
  }
}

/** The field with `section` appended, kept within `max` characters by dropping the oldest replies' blocks. */
export function appendHeaders(field: string, section: string, max = MAX_HEADERS_FIELD_CHARS): string {
  if (field.trim() === '') return section.slice(0, max);
  const parts = sections(field);
  const droppedAt = parts.findIndex((p) => DROPPED.test(p));
  let dropped = droppedAt >= 0 ? Number(DROPPED.exec(parts[droppedAt]!)?.[1] ?? '0') : 0;
  const [first, ...replies] = parts.filter((_, i) => i !== droppedAt);
  const kept = [...replies, section];
  const join = (): string => {
    const marker = dropped > 0 ? [`==== [Mailgate: the header blocks of ${dropped} earlier ${dropped === 1 ? 'reply' : 'replies'} were dropped for room; see the record's History] ====`] : [];
    return [first ?? '', ...marker, ...kept].join('\n\n');
  };
  while (join().length > max && kept.length > 1) {
    kept.shift();
    dropped += 1;
  }
  return join().slice(0, max);
}
