/**
 * All activities, built from their dependencies. The worker passes real adapters; tests pass real
 * local services too. Workflows import the `Activities` type only.
 */
import type { Scanner } from '../adapters/clamd';
import type { Mailer } from '../adapters/mailer';
import type { ObjectStore } from '../adapters/object-store';
import type { TicketStore } from '../adapters/ticket-store/types';
import type { Limits } from '../domain/limits';
import type { Rules } from '../rules';
import { createClassifyEmail } from './classify-email';
import { createFindThread } from './find-thread';
import { createParseEmail } from './parse-email';
import { createRecordEmail } from './record-email';
import { createRecordTicket } from './record-ticket';
import { createScanAttachments } from './scan-attachments';
import { createMarkAcknowledgementSent, createSendAcknowledgement } from './send-acknowledgement';
import { createStoreAttachments } from './store-attachments';

export interface ActivityDeps {
  store: ObjectStore;
  scanner: Scanner;
  tickets: TicketStore;
  mailer: Mailer;
  limits: Limits;
  ackFrom: string;
  rules: Rules;
  signingKey: string;
  inboundDomains: string[];
}

export function createActivities(deps: ActivityDeps) {
  return {
    parseEmail: createParseEmail(deps),
    classifyEmail: createClassifyEmail(deps),
    scanAttachments: createScanAttachments({ ...deps, attachmentPolicy: deps.rules.attachments }),
    storeAttachments: createStoreAttachments(deps),
    findThread: createFindThread(deps),
    recordTicket: createRecordTicket(deps),
    sendAcknowledgement: createSendAcknowledgement(deps),
    markAcknowledgementSent: createMarkAcknowledgementSent(deps),
    ...createRecordEmail(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
