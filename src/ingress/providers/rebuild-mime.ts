/**
 * A provider's parsed form of an email (Mailgun parsed, SendGrid default mode, Postmark without
 * RawEmail, generic JSON) rebuilt into one RFC 5322 message, so the same workflow runs on it.
 *
 * The rebuild is deterministic: the same payload gives the same bytes, on every retry. A random
 * MIME boundary or a generated Message-ID would make a provider's retry a different message under
 * the same Message-ID, which the accept path keeps apart as a clash (a second ticket). So the
 * boundary and a missing Message-ID are derived from `seed` (a hash of the payload), and a missing
 * Date from the provider's own time of receipt.
 *
 * Nothing from the payload reaches the filesystem or the network: file and URL access of the
 * composer are off, attachments are the bytes posted.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import type Mail from 'nodemailer/lib/mailer';

export interface RebuildAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  /** Content-ID (without angle brackets) of an inline part referenced by the HTML. */
  contentId?: string;
}

export interface ParsedEmail {
  /** The original header fields in order, as the provider listed them; structural ones are rebuilt. */
  headers: [string, string][];
  /** Used only when `headers` lacks the field. */
  from?: string;
  to?: string;
  cc?: string;
  subject?: string;
  text?: string;
  html?: string;
  attachments: RebuildAttachment[];
  /** Stable per payload (a sha256 hex): the MIME boundary and, when the headers have none, the Message-ID. */
  seed: string;
  /** Date when the headers have none: the provider's time of receipt. */
  receivedAt: Date;
}

/** Fields the composer writes from the structure it builds; an original value would contradict it. */
const STRUCTURAL = new Set(['content-type', 'content-transfer-encoding', 'mime-version', 'content-disposition', 'content-id', 'content-description']);
// eslint-disable-next-line no-control-regex -- a header value must stay one (unfolded) line
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]+/g;
const FIELD_NAME = /^[!-9;-~]{1,76}$/;
/** Fields nodemailer's MimeNode parses and writes itself (its FORMATTED_HEADERS). */
const FORMATTED = new Set(['from', 'sender', 'to', 'cc', 'bcc', 'reply-to', 'date', 'references']);

export async function rebuildMime(email: ParsedEmail): Promise<Buffer> {
  const seen = new Set<string>();
  const headers: { key: string; value: string | { prepared: true; value: string } }[] = [];
  for (const [name, rawValue] of email.headers) {
    const key = name.trim();
    if (!FIELD_NAME.test(key) || STRUCTURAL.has(key.toLowerCase())) continue;
    const value = rawValue.replace(CONTROL, ' ').trim();
    seen.add(key.toLowerCase());
    // ASCII values go as they were (folded by the composer); others are encoded (RFC 2047). The
    // composer formats address and date fields itself and drops a prepared one, so those go plain.
    const prepared = /^[\x20-\x7e\t]*$/.test(value) && !FORMATTED.has(key.toLowerCase());
    headers.push({ key, value: prepared ? { prepared: true, value } : value });
  }
  const options: Mail.Options = {
    headers,
    newline: '\r\n',
    baseBoundary: email.seed.slice(0, 24),
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(email.text !== undefined ? { text: email.text } : {}),
    ...(email.html !== undefined ? { html: email.html } : {}),
    attachments: email.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      ...(a.contentId ? { cid: a.contentId.replace(/^<|>$/g, ''), contentDisposition: 'inline' as const } : {}),
    })),
  };
  if (!seen.has('from') && email.from) options.from = email.from;
  if (!seen.has('to') && email.to) options.to = email.to;
  if (!seen.has('cc') && email.cc) options.cc = email.cc;
  if (!seen.has('subject') && email.subject !== undefined) options.subject = email.subject;
  if (!seen.has('message-id')) options.messageId = `<${email.seed.slice(0, 40)}@rebuilt.mailgate.invalid>`;
  if (!seen.has('date')) options.date = email.receivedAt;
  return new MailComposer(options).compile().build();
}
