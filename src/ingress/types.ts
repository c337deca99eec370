/**
 * The vocabulary of the one accept path: what every ingress kind hands to acceptEmail (raw bytes,
 * envelope, source) and what it gets back. An adapter maps the answer onto its protocol: HTTP status,
 * SMTP reply code, an exit code for an MTA pipe, "mark read" for a poller.
 */
import type { Readable } from 'node:stream';

export const INGRESS_KINDS = ['http', 'smtp', 'pipe', 'webhook', 'poll'] as const;
export type IngressKind = (typeof INGRESS_KINDS)[number];

/** Where an email came from: the kind labels metrics; name and address go to the logs only. */
export interface IngressSource {
  kind: IngressKind;
  /** Which listener, route, provider or mailbox (`mime`, `mailgun`, `imap:support`). */
  name?: string;
  /** The peer that delivered it, when there is one (SMTP client, HTTP client). */
  remoteAddress?: string;
  /** The provider's own id for this delivery (Mailgun token, Postmark MessageID, SNS MessageId): on every log line. */
  eventId?: string;
}

/**
 * The SMTP envelope (RFC 5321 §3.3) or its equivalent in a provider's payload. The envelope, not the
 * header To/Cc, says who the email is for: Bcc recipients and list deliveries appear only here.
 */
export interface Envelope {
  /** MAIL FROM reverse-path; null or "" for the null reverse-path of a bounce (RFC 5321 §4.5.5). */
  mailFrom: string | null;
  /**
   * RCPT TO addresses. Absent only when the sender gives no envelope at all (raw MIME over HTTP
   * without X-Envelope-To): then the header To and Cc addresses in an inbound domain decide.
   */
  rcptTo?: string[];
}

/**
 * The raw RFC 5322 message. A stream is read up to the size cap and no further into memory: the
 * content-addressed key (raw/<sha256>) is known only once the last byte is in.
 */
export type RawMessage = Buffer | Uint8Array | Readable;

export type Refusal = 'too-large' | 'not-an-email' | 'no-recipient' | 'malformed-envelope';
/** What was unavailable: the object store, the workflow engine, or the source's own stream. */
export type RetryCause = 'object-store' | 'workflow-engine' | 'source';

export interface RefusedRecipient {
  address: string;
  reason: string;
}

export interface RecipientAnswer {
  recipient: string;
  /** The queue the email lands in (the recipient, a routed queue, or the catch-all). */
  queue: string;
  workflowId: string;
  answer: 'accepted' | 'duplicate' | 'retry-later';
  reason: string;
  /** The workflow of a different message that used this email's Message-ID first (./deliver-once.ts). */
  messageIdClashWith?: string;
}

interface AnswerKeys {
  /** Why, in words a sender or an operator can act on. */
  reason: string;
  /**
   * The claim-check key of these bytes (raw/<sha256>), or null when they were never read whole.
   * The object exists for accepted and duplicate answers; otherwise it may or may not.
   */
  rawKey: string | null;
  /** One per accepted recipient: started, already existing, or (retry-later) still to start. */
  workflowIds: string[];
  recipients: RecipientAnswer[];
  /** Recipients refused by policy (not an inbound domain, no queue, not an address). */
  refused: RefusedRecipient[];
}

/** Stored, and at least one recipient's workflow started now (the others already existed). */
export interface Accepted extends AnswerKeys {
  answer: 'accepted';
  rawKey: string;
}

/** Stored, and every recipient's workflow already existed: an earlier delivery was accepted. */
export interface Duplicate extends AnswerKeys {
  answer: 'duplicate';
  rawKey: string;
}

/** Nothing may be acknowledged: the sender must deliver again (a retry is safe, see accept-email.ts). */
export interface RetryLater extends AnswerKeys {
  answer: 'retry-later';
  cause: RetryCause;
}

/** Permanently refused; delivering the same bytes again gets the same answer. */
export interface Refused extends AnswerKeys {
  answer: 'refused';
  refusal: Refusal;
}

export type AcceptAnswer = Accepted | Duplicate | RetryLater | Refused;

/**
 * What the ingress itself decided about the message before handing it over. `quarantine`: the email
 * is accepted and stored (the sending MTA's job is done) but held before any step runs, until an
 * operator releases or discards it; the reason is what the operator reads.
 */
export interface AcceptOptions {
  quarantine?: { reason: string };
}

export type AcceptEmail = (raw: RawMessage, envelope: Envelope, source: IngressSource, options?: AcceptOptions) => Promise<AcceptAnswer>;
