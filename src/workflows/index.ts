export { processInboundEmail } from './process-inbound-email';
export { retentionSweep } from './retention';
export { eraseRequester } from './erasure';
export { notifyEmail, resolveTicketPages } from './notify';

export { helpdeskCanary } from './helpdesk-canary';

export { agentReply } from './agent-reply';

export { imapPoller } from './imap-poller';
export { mailgunPoller } from './mailgun-poller';
