/**
 * The footer every connector writes under a description or comment: the Message-ID, the sender and
 * each file (attached, linked, or not attached with its verdict). Agents read it; connectors read it
 * back to answer "is this Message-ID already a comment here?" from the vendor's comment list, which
 * is consistent where the vendors' search indexes lag. File names are JSON-quoted so any name
 * survives the round trip.
 */
import type { AttachmentRecord, NewComment } from '../../ports/helpdesk';

const FOOTER_RULE = '\n\n----\n';
const MESSAGE_LINE = /^Mailgate: Message-ID <([^>\s]+)>$/;
const FILE_LINE = /^Mailgate: file ("(?:[^"\\]|\\.)*")/;

function fileLine(file: AttachmentRecord, link: string | undefined): string {
  const name = JSON.stringify(file.filename);
  if (file.scanStatus !== 'clean' || file.storageKey === null) {
    return `Mailgate: file ${name} not attached (${file.scanStatus}${file.scanDetail ? `: ${file.scanDetail}` : ''})`;
  }
  return link === undefined ? `Mailgate: file ${name} attached` : `Mailgate: file ${name} at ${link}`;
}

/** The body of a description or comment: the text, then the footer. `links` maps storage keys to URLs (links mode). */
export function bodyOf(comment: NewComment, maxChars: number, links: ReadonlyMap<string, string> = new Map()): string {
  const lines = [`Mailgate: Message-ID <${comment.messageId}>`];
  if (comment.author) lines.push(`Mailgate: from ${comment.author}`);
  for (const file of comment.attachments) lines.push(fileLine(file, file.storageKey === null ? undefined : links.get(file.storageKey)));
  const footer = `${FOOTER_RULE}${lines.join('\n')}`;
  const room = maxChars - footer.length;
  const text = comment.text.trim() === '' ? '(no text)' : comment.text;
  return `${text.length > room ? `${text.slice(0, room - 1)}…` : text}${footer}`;
}

export interface ParsedBody {
  text: string;
  messageId: string | null;
  filenames: string[];
}

/** Reads back what `bodyOf` wrote; a body without a Mailgate footer is all text. */
export function parseBody(body: string): ParsedBody {
  const at = body.lastIndexOf(FOOTER_RULE);
  if (at < 0) return { text: body, messageId: null, filenames: [] };
  const lines = body.slice(at + FOOTER_RULE.length).split('\n');
  const messageId = MESSAGE_LINE.exec(lines[0] ?? '')?.[1] ?? null;
  if (messageId === null) return { text: body, messageId: null, filenames: [] };
  const filenames: string[] = [];
  for (const line of lines) {
    const quoted = FILE_LINE.exec(line)?.[1];
    if (quoted) filenames.push(JSON.parse(quoted) as string);
  }
  return { text: body.slice(0, at), messageId, filenames };
}

