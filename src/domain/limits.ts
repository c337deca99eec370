/**
 * Limits on untrusted input, as named constants. Each is validated at start-up (see config.ts);
 * none of them may be 0 or NaN, which would otherwise read as "no limit".
 */
export interface Limits {
  /** Whole raw message accepted by the ingress (HTTP 413 above it). */
  maxMessageBytes: number;
  /** One attachment; a larger one is dropped from the ticket with a note, the ticket stays. */
  maxAttachmentBytes: number;
  /** Attachments kept per message; the rest are recorded as skipped. */
  maxAttachments: number;
  /** MIME parts (nodes) parsed per message; past it the message is rejected with the reason. */
  maxMimeParts: number;
  /** Bytes of a message's top-level header block; past it the ingress answers 400. */
  maxHeaderBytes: number;
  /** Plain text kept on a ticket comment; the full text stays in the stored email document. */
  maxTextChars: number;
  /** References header entries considered for threading (newest first). */
  maxReferences: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 40 * 1024 * 1024,
  maxAttachmentBytes: 25 * 1024 * 1024,
  maxAttachments: 100,
  // Real mail has tens of parts; mailsplit's own ceiling is 1,000, which costs seconds to walk.
  maxMimeParts: 500,
  // Real header blocks are a few kilobytes; 10,000 junk headers are ~300 KB.
  maxHeaderBytes: 256 * 1024,
  maxTextChars: 200_000,
  maxReferences: 20,
});

/**
 * Containers the parse unpacks (winmail.dat, forwarded messages) and invitations it reads are held
 * in memory up to these sizes; a larger one is kept whole, with a note. Files they hold count
 * against maxAttachments like any part. Not configurable: each is below maxAttachmentBytes' default
 * and bounds memory per email, not what a customer may send.
 */
export const CONTAINER_LIMITS = Object.freeze({
  maxTnefBytes: 32 * 1024 * 1024,
  maxForwardedBytes: 16 * 1024 * 1024,
  /** A forward, and a forward inside it. */
  maxForwardDepth: 2,
  maxCalendarBytes: 1024 * 1024,
});
