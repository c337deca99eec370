/** The store methods each backend keeps in its *-records.ts file, beside tickets and comments. */
import type { TicketStore } from './types';

export type RecordMethods = Pick<
  TicketStore,
  | 'setStatus'
  | 'noteQueue'
  | 'isParticipant'
  | 'countRateEvent'
  | 'peekRateEvents'
  | 'markUndeliverable'
  | 'isUndeliverable'
  | 'recordEmail'
  | 'getEmail'
  | 'claimOnce'
  | 'releaseClaim'
>;
