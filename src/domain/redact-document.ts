/**
 * Redaction of a whole parsed email, every field a person or the helpdesk will read: subject,
 * display names, attachment file names, text, HTML, the kept headers and a returned message's
 * subject. Issue 12, class 4: card numbers in the subject were kept and mailed back in the
 * acknowledgement; numbers in attachment names were missed. Everything downstream (the stored
 * document, the workflow's summary, the ticket, the acknowledgement, the admin API) is built from
 * this document, so redacting it once covers them all; the raw object keeps the original.
 */
import libmime from 'libmime';
import type { AttachmentPart, EmailDocument, Mailbox } from './email';
import { redactHtml } from './redact-html';
import type { RedactionKind } from './redact-hit';
import { redactText, summary, type Redaction, type RedactionPolicy } from './redact-text';

class Counter {
  readonly counts = new Map<RedactionKind, number>();

  add(redactions: Redaction[]): void {
    for (const r of redactions) this.counts.set(r.kind, (this.counts.get(r.kind) ?? 0) + r.count);
  }
}

/** A header value as a person reads it: RFC 2047 encoded words and RFC 2231 parameters decoded. */
export function decodedHeader(value: string): string {
  try {
    const words = libmime.decodeWords(value);
    if (!value.includes('*=')) return words;
    const parsed = libmime.parseHeaderValue(value);
    return [words, ...Object.values(parsed.params)].join('; ');
  } catch {
    return value;
  }
}

/**
 * A kept header whose decoded value holds something to redact is stored decoded and redacted (the
 * encoded form would carry the value in base64 or %-escapes); other values stay as they came.
 */
function redactHeaders(headers: Record<string, string[]>, policy: RedactionPolicy): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    out[name] = values.map((value) => {
      const decoded = decodedHeader(value);
      const redacted = redactText(decoded, policy);
      return redacted.redactions.length > 0 ? redacted.text : value;
    });
  }
  return out;
}

export function redactDocument(document: EmailDocument, policy: RedactionPolicy): EmailDocument {
  if (policy.kinds.length === 0) return { ...document, redactions: [] };
  // Counted once per field a reader sees: the subject, names, file names and body (text and html,
  // as before). Headers repeat the subject and names, so they are redacted but not counted.
  const counter = new Counter();
  const field = (text: string): string => {
    const r = redactText(text, policy);
    counter.add(r.redactions);
    return r.text;
  };
  const mailbox = (m: Mailbox): Mailbox => ({ ...m, name: field(m.name) });
  const attachment = (a: AttachmentPart): AttachmentPart => ({ ...a, filename: field(a.filename), ...(a.container ? { container: redactText(a.container, policy).text } : {}) });
  const html = document.html === null ? null : redactHtml(document.html, policy);
  if (html) counter.add(html.redactions);
  const quiet = (text: string | null): string | null => (text === null ? null : redactText(text, policy).text);
  return {
    ...document,
    subject: field(document.subject),
    from: document.from ? mailbox(document.from) : null,
    to: document.to.map(mailbox),
    cc: document.cc.map(mailbox),
    replyTo: document.replyTo.map(mailbox),
    attachments: document.attachments.map(attachment),
    text: field(document.text),
    html: html?.html ?? null,
    headers: redactHeaders(document.headers, policy),
    deliveryStatus: document.deliveryStatus.map((d) => ({ ...d, diagnosticCode: quiet(d.diagnosticCode) })),
    returnedMessage: document.returnedMessage ? { ...document.returnedMessage, subject: quiet(document.returnedMessage.subject) } : null,
    // Notes name files and forwarded subjects: redacted like them, counted with them already.
    ...(document.notes ? { notes: document.notes.map((n) => redactText(n, policy).text) } : {}),
    redactions: summary(counter.counts),
  };
}
