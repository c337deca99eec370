export { processInboundEmail } from './process-inbound-email';
