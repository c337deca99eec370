/**
 * Calendar invitations (`text/calendar`, iCalendar, RFC 5545) as a few lines of text for the ticket:
 * what, when (with the time zone as the sender gave it), where, who organises and how many attend.
 * An invitation is often the only readable part of the message, and agents do not open `.ics` files.
 *
 * A small reader, capped: it unfolds lines (RFC 5545 §3.1), reads the properties of up to
 * MAX_EVENTS VEVENTs and ignores everything else. It never throws on bad input; what it cannot
 * read is left out of the text, and the `.ics` itself is kept as an attachment.
 */
import { CONTAINER_LIMITS } from '../domain/limits';

const MAX_EVENTS = 20;
const MAX_LINES = 20_000;
const MAX_FIELD_CHARS = 300;

export interface CalendarEvent {
  summary: string | null;
  start: string | null;
  end: string | null;
  location: string | null;
  organizer: string | null;
  attendees: number;
  /** Participation replies (METHOD:REPLY): "ann@example.org accepted". */
  replies: string[];
}

export interface Calendar {
  method: string | null;
  events: CalendarEvent[];
}

interface Property {
  name: string;
  params: Record<string, string>;
  value: string;
}

/** RFC 5545 §3.1: a line break followed by one space or tab continues the previous line. */
function unfold(text: string): string[] {
  return text.replace(/\r?\n[ \t]/g, '').split(/\r?\n/).slice(0, MAX_LINES);
}

/** Splits `NAME;P1=a;P2="b;c":value`, honouring quoted parameter values (RFC 5545 §3.2). */
function parseLine(line: string): Property | null {
  let i = 0;
  let inQuote = false;
  let colon = -1;
  for (; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"') inQuote = !inQuote;
    else if (ch === ':' && !inQuote) {
      colon = i;
      break;
    }
  }
  if (colon <= 0) return null;
  const [name = '', ...rawParams] = line.slice(0, colon).match(/(?:[^;"]|"[^"]*")+/g) ?? [];
  const params: Record<string, string> = {};
  for (const p of rawParams) {
    const eq = p.indexOf('=');
    if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/^"|"$/g, '');
  }
  return { name: name.toUpperCase(), params, value: line.slice(colon + 1) };
}

/** TEXT values escape `\\`, `\;`, `\,` and `\n` (RFC 5545 §3.3.11). */
function unescape(value: string): string {
  return value.replace(/\\([\\;,nN])/g, (_m, c: string) => (c === 'n' || c === 'N' ? '\n' : c)).slice(0, MAX_FIELD_CHARS);
}

function cleanLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return unescape(value).replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** `20240105T093000Z` → `2024-01-05 09:30 UTC`; a TZID is shown as given; DATE values stay dates. */
function formatTime(property: Property): string {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?$/.exec(property.value.trim());
  if (!m) return cleanLine(property.value);
  const date = `${m[1]}-${m[2]}-${m[3]}`;
  if (!m[4]) return date;
  const zone = m[7] ? 'UTC' : property.params.TZID ? cleanLine(property.params.TZID) : 'floating time';
  return `${date} ${m[4]}:${m[5]} (${zone})`;
}

function person(property: Property): string {
  const address = property.value.replace(/^mailto:/i, '').trim().slice(0, MAX_FIELD_CHARS);
  const name = property.params.CN ? cleanLine(property.params.CN) : '';
  return name && name !== address ? `${name} <${address}>` : address;
}

export function readCalendar(text: string): Calendar {
  const calendar: Calendar = { method: null, events: [] };
  let event: CalendarEvent | null = null;
  let depth = 0;
  for (const line of unfold(text.slice(0, CONTAINER_LIMITS.maxCalendarBytes))) {
    const property = parseLine(line);
    if (!property) continue;
    const value = property.value.trim().toUpperCase();
    if (property.name === 'BEGIN') {
      depth++;
      if (value === 'VEVENT' && !event && calendar.events.length < MAX_EVENTS) {
        event = { summary: null, start: null, end: null, location: null, organizer: null, attendees: 0, replies: [] };
        depth = 1;
      }
      continue;
    }
    if (property.name === 'END') {
      depth--;
      if (value === 'VEVENT' && event) {
        calendar.events.push(event);
        event = null;
      }
      continue;
    }
    if (property.name === 'METHOD' && !event) calendar.method = cleanLine(property.value).toUpperCase().slice(0, 40);
    // Properties of nested components (VALARM inside VEVENT) do not describe the event.
    if (!event || depth !== 1) continue;
    if (property.name === 'SUMMARY') event.summary = cleanLine(property.value);
    else if (property.name === 'DTSTART') event.start = formatTime(property);
    else if (property.name === 'DTEND') event.end = formatTime(property);
    else if (property.name === 'LOCATION') event.location = cleanLine(property.value);
    else if (property.name === 'ORGANIZER') event.organizer = person(property);
    else if (property.name === 'ATTENDEE') {
      event.attendees++;
      const status = property.params.PARTSTAT?.toLowerCase();
      if (status && status !== 'needs-action' && event.replies.length < 10) event.replies.push(`${person(property)} ${status}`);
    }
  }
  return calendar;
}

const METHOD_TITLES: Readonly<Record<string, string>> = {
  REQUEST: 'Calendar invitation',
  CANCEL: 'Calendar cancellation',
  REPLY: 'Calendar reply',
  PUBLISH: 'Calendar event',
  COUNTER: 'Calendar counter-proposal',
};

/** The lines shown on the ticket for one calendar part; empty when it holds no event. */
export function calendarText(calendar: Calendar, filename: string): string {
  const title = (Object.hasOwn(METHOD_TITLES, calendar.method ?? '') ? METHOD_TITLES[calendar.method ?? ''] : undefined) ?? 'Calendar event';
  return calendar.events
    .map((e) => {
      const lines = [`${title}: ${e.summary || '(no title)'}`];
      if (e.start) lines.push(`When: ${e.start}${e.end ? ` to ${e.end}` : ''}`);
      if (e.location) lines.push(`Where: ${e.location}`);
      if (e.organizer) lines.push(`Organizer: ${e.organizer}`);
      if (e.attendees > 0) lines.push(`Attendees: ${e.attendees}`);
      if (calendar.method === 'REPLY') for (const r of e.replies) lines.push(`Reply: ${r}`);
      lines.push(`(attached as ${filename})`);
      return lines.join('\n');
    })
    .join('\n\n');
}
