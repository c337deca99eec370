/**
 * All activities, built from their dependencies: the two ports (Helpdesk, Ledger) and the other
 * adapters. The worker passes real adapters; tests pass real local services too. Workflows import the `Activities` type only.
 */
import type { Scanner } from '../adapters/clamd';
import type { Mailer } from '../adapters/mailer';
import type { ObjectStore } from '../adapters/object-store';
import type { Limits } from '../domain/limits';
import type { UnscannablePolicy } from '../domain/vocabulary';
import type { StrangerReplyPolicy } from '../domain/participants';
import type { Helpdesk } from '../ports/helpdesk';
import type { Ledger } from '../ports/ledger';
import type { Rules } from '../rules';
import { createClassifyEmail } from './classify-email';
import { createFindThread } from './find-thread';
import { createParseEmail } from './parse-email';
import { createRecordEmail } from './record-email';
import { createMoveTicket } from './move-ticket';
import { createRecordTicket } from './record-ticket';
import { createScanAttachments } from './scan-attachments';
import { createMarkAcknowledgementSent, createSendAcknowledgement } from './send-acknowledgement';
import { createSendAgentReply } from './send-agent-reply';
import { createStoreAttachments } from './store-attachments';
import { createErasureActivities } from './erasure';
import { createSendNotification } from './send-notification';
import { createResolveTicketNotifications } from './resolve-notifications';
import type { SecretSource } from '../adapters/notifiers';

import { createPollImapActivities, type PollerDeps } from './poll-imap';
import { createPollMailgunActivities } from './poll-mailgun';
import { createRetentionActivities, type InFlightEmails } from './retention';
import type { RetentionStore } from '../ports/retention';
import type { RetentionPolicy } from '../domain/retention';
import type { VendorConnector } from '../adapters/helpdesks/connector';
import { createHelpdeskCanary } from './helpdesk-canary';

export interface ActivityDeps {
  store: ObjectStore;
  scanner: Scanner;
  /** Where tickets live: the built-in store, or a vendor's helpdesk. */
  helpdesk: Helpdesk;
  /** Mailgate's own memory, always in Mailgate's database. */
  ledger: Ledger;
  mailer: Mailer;
  limits: Limits;
  ackFrom: string;
  rules: Rules;
  signingKey: string;
  inboundDomains: string[];
  /** authserv-ids whose Authentication-Results are believed (TRUSTED_AUTHSERV_IDS). */
  trustedAuthservIds: string[];
  /** What becomes of a file the scanner could not read whole (UNSCANNABLE_ATTACHMENTS). */
  unscannableAttachments: UnscannablePolicy;
  /** Agents take part in every ticket (AGENT_ADDRESSES). */
  agentAddresses: string[];
  /** What a reply from someone not taking part in the ticket becomes (STRANGER_REPLY). */
  strangerReply: StrangerReplyPolicy;
  /** How long a hard bounce silences the address (UNDELIVERABLE_MARK_DAYS). */
  undeliverableMarkDays: number;
  /** The retention sweep's and the erasure's database side (the built-in store). */
  retention: RetentionStore;
  /** Raw messages of emails still running or parked: retention never deletes them. */
  inFlight: InFlightEmails;
  retentionPolicy: RetentionPolicy;
  retentionBatchSize: number;
  /** Where notification targets' secrets are read (the worker's environment; issue 19). */
  notifyEnv: SecretSource;
  /** The API's public URL, for ticket links in notifications. */
  publicUrl: string;

  /** Each helpdesk connector's vendor side and its canary requester, for the canary workflow. */
  canaries?: ReadonlyMap<string, { connector: VendorConnector; requester: string }>;

  /** The pollers' settings and the accept path they feed (issue 17); without it no poller runs here. */
  pollers?: PollerDeps;
}

export function createActivities(deps: ActivityDeps) {
  return {
    parseEmail: createParseEmail(deps),
    classifyEmail: createClassifyEmail(deps),
    scanAttachments: createScanAttachments({
      ...deps,
      // A getter: a rules reload (SIGHUP) replaces deps.rules.attachments, and the next scan uses it.
      get attachmentPolicy() {
        return deps.rules.attachments;
      },
    }),
    storeAttachments: createStoreAttachments(deps),
    findThread: createFindThread(deps),
    recordTicket: createRecordTicket(deps),
    moveTicket: createMoveTicket(deps),
    sendAcknowledgement: createSendAcknowledgement(deps),
    markAcknowledgementSent: createMarkAcknowledgementSent(deps),
    sendNotification: createSendNotification(deps),
    resolveTicketNotifications: createResolveTicketNotifications(deps),

    sendAgentReply: createSendAgentReply(deps),
    ...createRecordEmail(deps),
    ...createRetentionActivities(deps),
    ...createErasureActivities(deps),
    helpdeskCanary: createHelpdeskCanary(deps),

    ...createPollImapActivities(deps),
    ...createPollMailgunActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
