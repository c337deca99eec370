/** What every detector reports: a range of the text it was given, its kind and what replaces it. */
export type RedactionKind = 'card' | 'iban' | 'us-ssn' | 'api-key';

export interface Hit { start: number; end: number; kind: RedactionKind; replacement: string }

export const MASK = '••••';
