/**
 * Mailgate's custom search attributes (registered on the server by scripts/stack), so operators can
 * filter executions in the Temporal UI: EmailStatus = "failed", RecipientQueue = "billing@…".
 */
import { defineSearchAttributeKey } from '@temporalio/common';

export const EmailStatusKey = defineSearchAttributeKey('EmailStatus', 'KEYWORD');
export const RecipientQueueKey = defineSearchAttributeKey('RecipientQueue', 'KEYWORD');
export const TicketIdKey = defineSearchAttributeKey('TicketId', 'KEYWORD');
export const EmailClassKey = defineSearchAttributeKey('EmailClass', 'KEYWORD');
/** While parked: the step that failed and the failure's type, so the UI lists dead letters by cause. */
export const ParkedStepKey = defineSearchAttributeKey('ParkedStep', 'KEYWORD');
export const ErrorTypeKey = defineSearchAttributeKey('ErrorType', 'KEYWORD');
