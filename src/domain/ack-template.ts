/**
 * The acknowledgement's wording: a subject, a text and an HTML template per queue, with a language
 * whose defaults fill whatever a queue leaves out. Templates name variables as {{name}}:
 *   ticketNumber   42
 *   ticketToken    [MG-42] (what a reply must keep in its subject to thread)
 *   subject        the customer's subject (already redacted)
 *   requesterName  the customer's display name, or their address when the From has none
 *   queue          the queue's address
 * An administrator writes the templates; the values come from a stranger's email. So in HTML every
 * value is escaped, in the subject every value and the result are one line (a CR/LF would start a
 * new header), and an unknown variable is refused when the rules are loaded, never rendered as-is.
 * The ticket token is always in the subject (in front, unless the template places it), and the
 * signed body marker is always appended: threading does not depend on what an administrator wrote.
 */

export const ACK_LANGUAGES = ['en', 'de'] as const;
export type AckLanguage = (typeof ACK_LANGUAGES)[number];

export const ACK_VARIABLES = ['ticketNumber', 'ticketToken', 'subject', 'requesterName', 'queue'] as const;
export type AckVariable = (typeof ACK_VARIABLES)[number];
export type AckValues = Record<AckVariable, string>;

export interface AckTemplates {
  language: AckLanguage;
  subject: string;
  text: string;
  html: string;
}

export const DEFAULT_ACK_TEMPLATES: Readonly<Record<AckLanguage, Readonly<AckTemplates>>> = Object.freeze({
  en: Object.freeze({
    language: 'en',
    subject: '{{subject}}',
    text:
      'Hello {{requesterName}},\n\n' +
      'we received your message and opened ticket {{ticketToken}}.\n\n' +
      'Reply to this email to add to the ticket; keep {{ticketToken}} in the subject.\n',
    html:
      '<p>Hello {{requesterName}},</p>\n' +
      '<p>we received your message and opened ticket <strong>{{ticketToken}}</strong>.</p>\n' +
      '<p>Reply to this email to add to the ticket; keep {{ticketToken}} in the subject.</p>\n',
  }),
  de: Object.freeze({
    language: 'de',
    subject: '{{subject}}',
    text:
      'Guten Tag {{requesterName}},\n\n' +
      'wir haben Ihre Nachricht erhalten und das Ticket {{ticketToken}} eröffnet.\n\n' +
      'Antworten Sie auf diese E-Mail, um das Ticket zu ergänzen, und lassen Sie {{ticketToken}} im Betreff stehen.\n',
    html:
      '<p>Guten Tag {{requesterName}},</p>\n' +
      '<p>wir haben Ihre Nachricht erhalten und das Ticket <strong>{{ticketToken}}</strong> eröffnet.</p>\n' +
      '<p>Antworten Sie auf diese E-Mail, um das Ticket zu ergänzen, und lassen Sie {{ticketToken}} im Betreff stehen.</p>\n',
  }),
});

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PLACEHOLDER_TOKEN = /\{\{\s*ticketToken\s*\}\}/;
export class AckTemplateError extends Error {
  override name = 'AckTemplateError';
}

/** Refuses a template naming a variable we do not fill, or with a brace pair left open. */
export function checkAckTemplate(template: string, where: string): void {
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!(ACK_VARIABLES as readonly string[]).includes(name)) {
      throw new AckTemplateError(`${where}: unknown variable {{${name}}} (known: ${ACK_VARIABLES.join(', ')})`);
    }
  }
  if (/\{\{|\}\}/.test(template.replace(PLACEHOLDER, ''))) throw new AckTemplateError(`${where}: a {{ without its }} (or the reverse)`);
}

function fill(template: string, values: AckValues, encode: (value: string) => string): string {
  return template.replace(PLACEHOLDER, (_m, name: string) => encode(values[name as AckVariable] ?? ''));
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function oneLine(text: string): string {
  return text.replace(/[\r\n\t\0\u2028\u2029]+/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/** RFC 5322 §2.1.1: a line should stay under 998 characters; folding is the mailer's, the cap ours. */
const MAX_SUBJECT_CHARS = 900;

export interface RenderedAcknowledgement {
  subject: string;
  text: string;
  html: string;
}

/** The three parts of one acknowledgement; `marker` (the signed body marker) ends the text and the HTML. */
export function renderAcknowledgement(templates: AckTemplates, values: AckValues, marker: string): RenderedAcknowledgement {
  const rendered = oneLine(fill(templates.subject, values, oneLine));
  const placed = PLACEHOLDER_TOKEN.test(templates.subject) ? rendered.slice(0, MAX_SUBJECT_CHARS) : '';
  // A long subject may push a placed token past the cap: then it goes in front, like the default.
  const subject = placed.includes(values.ticketToken) ? placed : oneLine(`${values.ticketToken} ${rendered.replace(values.ticketToken, '')}`).slice(0, MAX_SUBJECT_CHARS);
  const text = `${fill(templates.text, values, (v) => v).replace(/\s+$/, '')}\n\n${marker}\n`;
  const html = `${fill(templates.html, values, escapeHtml).replace(/\s+$/, '')}\n<p style="color:#888888;font-size:small">${escapeHtml(marker)}</p>\n`;
  return { subject, text, html };
}
