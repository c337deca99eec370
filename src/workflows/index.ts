export { processInboundEmail } from './process-inbound-email';
export { retentionSweep } from './retention';
export { eraseRequester } from './erasure';
export { imapPoller } from './imap-poller';
export { mailgunPoller } from './mailgun-poller';
