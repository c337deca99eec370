/**
 * The one list of failure types. Activities throw `ApplicationFailure`s with these as `type`;
 * workflows and the ingress branch on `type`, never on message text.
 */
export const ErrorType = {
  /** The raw message cannot be parsed as MIME at all. Permanent. */
  MalformedEmail: 'MalformedEmail',
  /** A stored object the workflow refers to does not exist. Permanent. */
  ObjectNotFound: 'ObjectNotFound',
  /** The object store refused the request (credentials, bucket, policy). Permanent. */
  ObjectStoreRejected: 'ObjectStoreRejected',
  /** The object store could not be reached or answered 5xx. Transient. */
  ObjectStoreUnavailable: 'ObjectStoreUnavailable',
  /** clamd could not be reached or failed mid-stream. Transient. */
  ScannerUnavailable: 'ScannerUnavailable',
  /** clamd refused the stream (size limit) or answered with an error. Permanent for that file. */
  ScannerRejected: 'ScannerRejected',
  /** The SMTP server permanently refused the message (5xx). */
  SmtpRejected: 'SmtpRejected',
  /** The SMTP server could not be reached or answered 4xx. Transient. */
  SmtpUnavailable: 'SmtpUnavailable',
  /** The ticket store refused the input (too many tags, an unknown linked ticket). Permanent. */
  InvalidTicketInput: 'InvalidTicketInput',
  /** The ticket database could not be reached. Transient. */
  DatabaseUnavailable: 'DatabaseUnavailable',
  /** The SDK's own type for an activity result over the payload limit; must never be retried. */
  PayloadsTooLarge: 'PayloadsTooLarge',
  /** A helpdesk or notification target could not be reached, timed out or answered 5xx. Transient. */
  RemoteUnavailable: 'RemoteUnavailable',
  /** A helpdesk or notification target answered 429 (or 503 with Retry-After). Transient; `retryAfterMs` is the next delay. */
  RemoteRateLimited: 'RemoteRateLimited',
  /** A helpdesk or notification target refused the request as it stands (4xx other than auth). Permanent: parks with the vendor's message. */
  RemoteRejected: 'RemoteRejected',
  /** A helpdesk or notification target refused our credentials (401/403). Permanent: parks and raises an alert. */
  RemoteCredentials: 'RemoteCredentials',
  /**
   * The ingress held the email for an operator before any step ran (a DMARC failure of a domain that
   * asks receivers to quarantine or reject, under SMTP_INGRESS_DMARC_ACTION=quarantine). Raised by
   * the workflow itself, never by an activity: parks until an operator releases or discards it.
   */
  Quarantined: 'Quarantined',
} as const;

export type ErrorType = (typeof ErrorType)[keyof typeof ErrorType];

/** An adapter's error carrying one of the types above; activities turn it into an ApplicationFailure. */
export class TypedError extends Error {
  /** For a rate-limited answer: how long the remote side asked us to wait (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly type: ErrorType,
    message: string,
    options?: { cause?: unknown; retryAfterMs?: number },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** Failure types that retrying cannot fix; used in every activity retry policy. */
export const NON_RETRYABLE_ERROR_TYPES: ErrorType[] = [
  ErrorType.MalformedEmail,
  ErrorType.ObjectNotFound,
  ErrorType.ObjectStoreRejected,
  ErrorType.ScannerRejected,
  ErrorType.SmtpRejected,
  ErrorType.InvalidTicketInput,
  ErrorType.PayloadsTooLarge,
  ErrorType.RemoteRejected,
  ErrorType.RemoteCredentials,
];
