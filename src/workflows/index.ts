export { processInboundEmail } from './process-inbound-email';
export { retentionSweep } from './retention';
export { eraseRequester } from './erasure';
export { helpdeskCanary } from './helpdesk-canary';
