/**
 * Parts that hold other things people want to see: winmail.dat (TNEF) holds files and a body, a
 * forwarded message holds its own attachments, a calendar part holds an invitation. The parse keeps
 * each such part as it came and, from its bytes (read into memory within a cap), adds what is inside:
 * files as parts of their own, marked with their container, and text for the ticket. Whatever cannot
 * be unpacked (too large, malformed, over the attachment count) stays in the container, and the
 * ticket gets a note saying so; nothing here throws on hostile input.
 */
import libmime from 'libmime';
import type { AttachmentPart, EmailDocument } from '../domain/email';
import { CONTAINER_LIMITS } from '../domain/limits';
import { calendarText, readCalendar } from './calendar';
import { isForwardedType, type CollectedPart } from './forwarded';
import { readTnef, TnefError } from './tnef';

export type ContainerKind = 'tnef' | 'forwarded' | 'calendar';

export function containerKind(contentType: string, filename: string | null | undefined, depth: number, rootType: string): ContainerKind | null {
  if (contentType === 'application/ms-tnef' || contentType === 'application/vnd.ms-tnef') return 'tnef';
  // Some clients send winmail.dat as application/octet-stream; the name is what marks it.
  if (contentType === 'application/octet-stream' && /^winmail\.dat$/i.test(filename ?? '')) return 'tnef';
  if (contentType === 'text/calendar' || contentType === 'application/ics') return depth === 0 ? 'calendar' : null;
  // A delivery report's returned message is evidence for the bounce, not a forward to unpack.
  if (isForwardedType(contentType) && depth < CONTAINER_LIMITS.maxForwardDepth && !/^multipart\/report\b/.test(rootType)) return 'forwarded';
  return null;
}

/** Bytes of a container part kept in memory to unpack it. */
export function containerReadCap(kind: ContainerKind): number {
  return kind === 'tnef' ? CONTAINER_LIMITS.maxTnefBytes : kind === 'forwarded' ? CONTAINER_LIMITS.maxForwardedBytes : CONTAINER_LIMITS.maxCalendarBytes;
}

export interface InnerFile {
  given: string;
  contentType: string;
  data: Buffer;
  inline: boolean;
  contentId: string | null;
  /** The container's name, with the inner container's after it for nested ones. */
  container: string;
}

export interface Unpacked {
  files: InnerFile[];
  notes: string[];
  /** An invitation's lines for the ticket text. */
  calendarText: string | null;
  /** A winmail.dat's own body, the text when the message has none. */
  body: string | null;
}

export interface UnpackContext {
  /** Attachments the email may still add. */
  remaining: number;
  /** Parses a forwarded message one level deeper, collecting its parts' bytes. */
  parseNested: (bytes: Buffer, maxAttachments: number) => Promise<{ document: EmailDocument; parts: CollectedPart[] }>;
}

function typeForName(filename: string, declared: string | null): string {
  if (declared && declared !== 'application/octet-stream') return declared;
  return (filename ? libmime.detectMimeType(filename) : '') || 'application/octet-stream';
}

function unpackTnef(record: AttachmentPart, bytes: Buffer, ctx: UnpackContext): Unpacked {
  let out: Unpacked = { files: [], notes: [], calendarText: null, body: null };
  try {
    const tnef = readTnef(bytes, { maxFiles: Math.max(0, ctx.remaining) });
    for (const file of tnef.files) {
      out.files.push({ given: file.filename, contentType: typeForName(file.filename, file.contentType), data: file.data, inline: false, contentId: null, container: record.filename });
    }
    out.body = tnef.body;
    if (tnef.filesOverLimit > 0) out.notes.push(`${tnef.filesOverLimit} file(s) in "${record.filename}" were not unpacked (attachment count limit); they remain inside it.`);
  } catch (error) {
    // Any failure of the reader is a malformed container: the email goes on without its files.
    const reason = error instanceof TnefError ? error.message : `unexpected ${error instanceof Error ? error.name : 'error'}`;
    out = { files: [], notes: [`"${record.filename}" could not be unpacked (${reason}); it is kept as it came.`], calendarText: null, body: null };
  }
  return out;
}

async function unpackForwarded(record: AttachmentPart, bytes: Buffer, ctx: UnpackContext): Promise<Unpacked> {
  const out: Unpacked = { files: [], notes: [], calendarText: null, body: null };
  if (ctx.remaining <= 0) return out;
  let nested: Awaited<ReturnType<UnpackContext['parseNested']>>;
  try {
    nested = await ctx.parseNested(bytes, ctx.remaining);
  } catch (error) {
    // Only this container's content is lost to the listing; the .eml itself is stored already.
    out.notes.push(`The attachments of "${record.filename}" could not be listed (${(error instanceof Error ? error.message : String(error)).slice(0, 200)}); the message is kept whole.`);
    return out;
  }
  const byIndex = new Map(nested.parts.map((p) => [p.index, p.data]));
  let left = 0;
  for (const inner of nested.document.attachments) {
    const data = byIndex.get(inner.index);
    // A part the nested parse skipped (past the count) never reached its sink; one it marked over a
    // limit would have reached it cut short. Either stays inside the .eml, never listed wrong.
    if (!data || inner.skippedReason) {
      left++;
      continue;
    }
    out.files.push({
      given: inner.filename,
      contentType: inner.contentType,
      data,
      // Inline images belong to the forwarded message's HTML, not this one's: listed as files.
      inline: false,
      contentId: null,
      container: inner.container ? `${record.filename} / ${inner.container}` : record.filename,
    });
  }
  if (left > 0) out.notes.push(`${left} attachment(s) of "${record.filename}" were not unpacked (size or count limit); they remain inside it.`);
  // The listing of files unpacked inside is this container's own note; other findings are passed on.
  for (const note of nested.document.notes ?? []) if (!LISTING_NOTE.test(note)) out.notes.push(`In "${record.filename}": ${note}`);
  return out;
}

function unpackCalendar(record: AttachmentPart, bytes: Buffer): Unpacked {
  try {
    const text = calendarText(readCalendar(bytes.toString('utf8')), record.filename);
    return { files: [], notes: [], calendarText: text || null, body: null };
  } catch (error) {
    return { files: [], notes: [`"${record.filename}" could not be read as a calendar (${error instanceof Error ? error.name : 'error'}); it is kept as it came.`], calendarText: null, body: null };
  }
}

const LISTING_NOTE = /^(Unpacked \d+ file\(s\) from|Listed \d+ attachment\(s\) of the forwarded message) "/;

/** Names shown in a note; the rest are counted. */
const MAX_NOTED_NAMES = 10;

/** The ticket's note on what a container gave, by the names the files got in this email. */
export function unpackedNote(kind: ContainerKind, container: string, names: string[]): string | null {
  if (names.length === 0 || kind === 'calendar') return null;
  const shown = names.slice(0, MAX_NOTED_NAMES).map((n) => `"${n}"`).join(', ');
  const list = names.length > MAX_NOTED_NAMES ? `${shown} and ${names.length - MAX_NOTED_NAMES} more` : shown;
  return kind === 'tnef'
    ? `Unpacked ${names.length} file(s) from "${container}" (Outlook TNEF): ${list}; the original is kept too.`
    : `Listed ${names.length} attachment(s) of the forwarded message "${container}" as files of their own: ${list}; the message is kept whole.`;
}

export async function unpack(kind: ContainerKind, record: AttachmentPart, bytes: Buffer, ctx: UnpackContext): Promise<Unpacked> {
  if (kind === 'tnef') return unpackTnef(record, bytes, ctx);
  if (kind === 'forwarded') return unpackForwarded(record, bytes, ctx);
  return unpackCalendar(record, bytes);
}
