/**
 * Data-loss prevention for ticket text. Customers paste card numbers, IBANs, SSNs and credentials into
 * support mail; a ticket is read by every agent on the queue and indexed by search, so those values
 * are replaced before storage.
 */
export type { RedactionKind } from './redact-detectors';
export { DEFAULT_REDACTION_POLICY, redactText, type Redaction, type RedactionPolicy } from './redact-text';
export { redactHtml } from './redact-html';
