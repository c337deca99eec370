/**
 * Which port each backend file implements. Each backend composes its store from three parts:
 * the connection file (sqlite.ts, postgres.ts) owns schema, reachability and shutdown, *-helpdesk.ts
 * the Helpdesk port with the built-in's own reads, *-ledger.ts the Ledger port.
 */
import type { Ledger } from '../../ports/ledger';
import type { RetentionStore } from '../../ports/retention';
import type { TicketStore } from './types';
import type { WebStore } from './web-types';

/** Both ports share one database, so `ping` and `close` belong to the connection, not to a port. */
export type ConnectionMethods = Pick<TicketStore, 'migrate' | 'ping' | 'close'>;

/** The Helpdesk port (less `ping`) and the reads the built-in's own API and screens need. */
export type HelpdeskMethods = Pick<
  TicketStore,
  | 'createTicket'
  | 'addComment'
  | 'findByExternalRef'
  | 'getTicket'
  | 'getTicketByNumber'
  | 'setStatus'
  | 'noteQueue'
  | 'moveTicket'
  | 'listTickets'
  | 'getAttachment'
  | 'attachmentNames'
  | 'keepsHeaders'
>;

export type LedgerMethods = Omit<Ledger, keyof ConnectionMethods>;

/** The Ledger port in two halves, each written once per database. What it keeps per ticket: the Message-IDs that thread to it, who takes part, its acknowledgements. */
export type TicketLedger = Pick<
  LedgerMethods,
  | 'findThread'
  | 'indexMessageId'
  | 'isParticipant'
  | 'addParticipants'
  | 'findAcknowledgement'
  | 'reserveAcknowledgement'
  | 'markAcknowledgementSent'
  | 'indexSubject'
  | 'findTicketsBySubject'
>;
/** What it keeps per helpdesk connector: deliveries in flight or done (*-deliveries.ts). */
export type DeliveryLedger = Pick<LedgerMethods, 'claimDelivery' | 'completeDelivery' | 'deliveredId'>;
/** Where each poller stands (cursor-store.ts, written once for both databases). */
export type CursorLedger = Pick<LedgerMethods, 'mailboxCursor' | 'advanceMailboxCursor' | 'sinceCursor' | 'saveSinceCursor'>;
/** What it keeps per sender, request and email: rate events, bounces, replay claims, outcomes. */
export type MailLedger = Omit<LedgerMethods, keyof TicketLedger | keyof DeliveryLedger | keyof CursorLedger>;

/** The Retention port, written once for both databases (retention-store.ts). */
export type RetentionMethods = RetentionStore;

/** The web view's sessions, assignees and audit, written once for both databases (web-store.ts). */
export type WebMethods = WebStore;

type Overlap =
  | (keyof ConnectionMethods & keyof HelpdeskMethods)
  | (keyof ConnectionMethods & keyof LedgerMethods)
  | (keyof HelpdeskMethods & keyof LedgerMethods)
  | (keyof RetentionMethods & (keyof ConnectionMethods | keyof HelpdeskMethods | keyof LedgerMethods))
  | (keyof WebMethods & (keyof ConnectionMethods | keyof HelpdeskMethods | keyof LedgerMethods | keyof RetentionMethods));
type Uncovered = Exclude<
  keyof TicketStore,
  keyof ConnectionMethods | keyof HelpdeskMethods | keyof LedgerMethods | keyof RetentionMethods | keyof WebMethods
>;
type Expect<T extends true> = T;

/** Compiles only while every TicketStore method belongs to exactly one part. */
export type PartsSplitTicketStore = Expect<[Overlap, Uncovered] extends [never, never] ? true : false>;
