/**
 * The accept path's answer as an SMTP reply (RFC 5321 §4.2; enhanced codes RFC 3463). 250 only once
 * the raw message is stored and every workflow exists; anything that a later attempt may get
 * through is a 4xx, so the sending MTA keeps the message and retries (§4.5.4.1); a 5xx only when
 * the same bytes would always be refused.
 */
import type { AcceptAnswer } from '../types';

export interface SmtpReply {
  code: number;
  /** Text after the code, starting with the enhanced status code. */
  message: string;
}

export function replyFor(answer: AcceptAnswer, queueId: string): SmtpReply {
  switch (answer.answer) {
    case 'accepted':
    case 'duplicate':
      return { code: 250, message: `2.0.0 Ok: queued as ${queueId}` };
    case 'retry-later':
      return { code: 451, message: `4.3.0 ${answer.reason}` };
    case 'refused':
      switch (answer.refusal) {
        case 'too-large':
          return { code: 552, message: `5.3.4 ${answer.reason}` };
        case 'not-an-email':
          return { code: 550, message: `5.6.0 not a valid message: ${answer.reason}` };
        case 'malformed-envelope':
          return { code: 550, message: `5.5.2 ${answer.reason}` };
        case 'no-recipient':
          return { code: 550, message: `5.1.1 ${answer.reason}` };
      }
  }
}

/** An error for smtp-server's callbacks: it answers `responseCode` and the message. */
export function smtpError(reply: SmtpReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}
