/** Workflow ids, next to the workflows they name. The key comes from src/domain/idempotency.ts. */
export const INBOUND_EMAIL_PREFIX = 'inbound-email/';

export function inboundEmailWorkflowId(idempotencyKey: string): string {
  return `${INBOUND_EMAIL_PREFIX}${idempotencyKey}`;
}

/** The retention sweep's schedule and the runs it starts (one at a time: overlap is skipped). */
export const RETENTION_SCHEDULE_ID = 'mailgate-retention';
export const RETENTION_WORKFLOW_PREFIX = 'retention-sweep';

/** One erasure per request id; the id carries no address (workflow ids are listed in the UI). */
export const ERASURE_PREFIX = 'erasure/';

export function erasureWorkflowId(requestId: string): string {
  return `${ERASURE_PREFIX}${requestId}`;
}

/** An email's notifications of one outcome (and, when parked, one step); named by the email's run. */
export const NOTIFY_PREFIX = 'notify/';

export function notifyWorkflowId(emailRunId: string, outcome: string, step?: string): string {
  return `${NOTIFY_PREFIX}${outcome}${step ? `-${step}` : ''}/${emailRunId}`;
}

/** Resolving a closed ticket's pages: one run per close (a second close finds nothing left open). */
export function resolvePagesWorkflowId(ticketId: string, closedAt: string): string {
  return `resolve-pages/${ticketId}/${closedAt}`;
}

/** One agent reply per ticket and reply form (its nonce): a double submit is the same run. */
export const AGENT_REPLY_PREFIX = 'agent-reply/';

export function agentReplyWorkflowId(ticketId: string, replyNonce: string): string {
  return `${AGENT_REPLY_PREFIX}${ticketId}/${replyNonce}`;
}

/** One poller per configured mailbox or provider API: starting it twice finds the running one. */
export const IMAP_POLLER_PREFIX = 'imap-poller/';
export const MAILGUN_POLLER_PREFIX = 'mailgun-poller/';

export function imapPollerWorkflowId(name: string): string {
  return `${IMAP_POLLER_PREFIX}${name}`;
}

export function mailgunPollerWorkflowId(name: string): string {
  return `${MAILGUN_POLLER_PREFIX}${name}`;
}
