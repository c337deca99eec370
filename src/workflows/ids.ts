/** Workflow ids, next to the workflows they name. The key comes from src/domain/idempotency.ts. */
export const INBOUND_EMAIL_PREFIX = 'inbound-email/';

export function inboundEmailWorkflowId(idempotencyKey: string): string {
  return `${INBOUND_EMAIL_PREFIX}${idempotencyKey}`;
}
