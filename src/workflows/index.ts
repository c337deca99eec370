export { processInboundEmail } from './process-inbound-email';
export { retentionSweep } from './retention';
export { eraseRequester } from './erasure';
export { agentReply } from './agent-reply';
