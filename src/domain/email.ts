import type { Redaction } from './redact';

/**
 * The normalized email document (stored in the object store as JSON) and the small summary the
 * workflow keeps. Workflow history holds only the summary and object keys, never email bytes.
 */

export interface Mailbox {
  address: string;
  name: string;
}

export interface AttachmentPart {
  /** Position among the message's attachments, stable across re-parses of the same bytes. */
  index: number;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string | null;
  inline: boolean;
  /** Object key of the unscanned part; never linked from a ticket. */
  partKey: string;
  /** Set when the part was not kept whole (over the size cap); such a part is never stored. */
  skippedReason: string | null;
  /** Set for a file unpacked from a container part (winmail.dat, a forwarded message): its name. */
  container?: string;
}

export interface EmailDocument {
  messageId: string | null;
  from: Mailbox | null;
  to: Mailbox[];
  cc: Mailbox[];
  replyTo: Mailbox[];
  subject: string;
  date: string | null;
  inReplyTo: string[];
  references: string[];
  text: string;
  /** Sanitized HTML body, or null for plain-text mail. */
  html: string | null;
  attachments: AttachmentPart[];
  /** Every header (lower-case name → raw values in order), capped in count and length. */
  headers: Record<string, string[]>;
  /** Top-level Content-Type with parameters, lower-cased. */
  contentType: string;
  /** Per-recipient blocks of a delivery status notification (RFC 3464), if the email is one. */
  deliveryStatus: DeliveryStatus[];
  /** Headers of the original message a bounce returns, if it carries one. */
  returnedMessage: EmbeddedMessage | null;
  /** What the ticket should say about the message's form (signed, encrypted, unpacked containers). */
  notes?: string[];
  /** PII redacted from text and html before the document was stored (the raw object keeps all). */
  redactions?: Redaction[];
  /** Headers written as raw 8-bit bytes in a legacy charset, and how each was read. */
  rawHeaders?: RawHeader[];
}

/**
 * A header line sent as raw 8-bit bytes that are not UTF-8 (no RFC 2047 encoded-words), kept so a
 * wrong reading can be seen and redone. `source`: `declared` is the charset the message declares
 * for its body; `detected` is a detector's guess over the 8-bit bytes of headers and body;
 * `fallback` means neither was usable and the bytes were read as windows-1252, which never invents
 * a replacement character but may be wrong.
 */
export interface RawHeader {
  /** Lower-case header name. */
  name: string;
  /** The original header line (name, colon, value, folding) in base64, cut where `truncated`. */
  bytes: string;
  truncated: boolean;
  charset: string;
  source: 'declared' | 'detected' | 'fallback';
  /** The detector's confidence (0–100) for `detected` and `fallback`, else null. */
  confidence: number | null;
  /** The charset the message declares, when it was not used for these bytes (it cannot read them). */
  declaredButUnusable: string | null;
}

/** One per-recipient block of a delivery status notification (RFC 3464 §2.3). */
export interface DeliveryStatus {
  action: string | null;
  status: string | null;
  finalRecipient: string | null;
  diagnosticCode: string | null;
}

/** The headers of the original message a bounce returns; its Message-ID threads the bounce. */
export interface EmbeddedMessage {
  messageId: string | null;
  from: string | null;
  subject: string | null;
}

/** What the workflow keeps: enough to route, thread and report; bounded in size. */
export interface EmailSummary {
  documentKey: string;
  messageId: string | null;
  from: string | null;
  fromName: string;
  subject: string;
  inReplyTo: string[];
  references: string[];
  attachments: AttachmentPart[];
  textBytes: number;
  redactions?: Redaction[];
}

/** Subject lines longer than RFC 5322's 998-character line limit are cut for summaries. */
export const MAX_SUMMARY_SUBJECT = 998;
