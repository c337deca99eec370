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
/**
 * Set at start by the ingress (start options, no workflow command): the subject (decoded, redacted,
 * at most 150 bytes) and the sender's address, so the UI's workflow list can show them as columns
 * (Temporal UI 2.54 lists no summaries) and operators can filter: EmailSender = "ann@customer.example".
 */
export const EmailSubjectKey = defineSearchAttributeKey('EmailSubject', 'KEYWORD');
export const EmailSenderKey = defineSearchAttributeKey('EmailSender', 'KEYWORD');
