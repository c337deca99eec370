/**
 * Recording fakes of the inbound-email activities, for workflow tests on the time-skipping server.
 * By default they describe one human email without attachments, classified by the parse step, that
 * opens ticket #1 and is acknowledged; a test replaces the steps it is about. Every call is recorded
 * with its input, its attempt and whether it ran as a local activity.
 */
import { EMPTY_ERASURE_COUNTS } from '../../src/ports/retention';
import { activityInfo } from '@temporalio/activity';
import type { Activities } from '../../src/activities';
import type { ClassifyEmailResult } from '../../src/activities/classify-email';
import type { ParseEmailResult } from '../../src/activities/parse-email';

export type ActivityName = keyof Activities;
export type ActivityInput<K extends ActivityName> = Parameters<Activities[K]>[0];
export type ActivityOutput<K extends ActivityName> = Awaited<ReturnType<Activities[K]>>;
/** `call` counts this activity's calls from 1, retries included. */
export type Fake<K extends ActivityName> = (input: ActivityInput<K>, call: number) => ActivityOutput<K> | Promise<ActivityOutput<K>>;
export type Fakes = { [K in ActivityName]: Fake<K> };

export interface Call {
  name: ActivityName;
  input: unknown;
  attempt: number;
  local: boolean;
}

export const CUSTOMER = 'alice@customer.example';
export const SUPPORT = 'support@mailgate.test';

/** The parse step's result; its verdict is `verdict()` unless a test passes its own `classification`. */
export function summary(changes: Partial<ParseEmailResult> = {}): ParseEmailResult {
  return {
    classification: verdict(),
    bodyMarker: null,
    documentKey: 'parsed/0f0f/unredacted.json',
    messageId: 'question-1@customer.example',
    from: CUSTOMER,
    fromName: 'Alice',
    subject: 'Printer on fire',
    inReplyTo: [],
    references: [],
    attachments: [],
    textBytes: 120,
    redactions: [],
    ...changes,
  };
}

export function attachment(index: number, filename: string): ParseEmailResult['attachments'][number] {
  return {
    index,
    filename,
    contentType: 'application/pdf',
    size: 1000 + index,
    sha256: `sha-${index}`,
    contentId: null,
    inline: false,
    partKey: `parts/0f0f/${index}`,
    skippedReason: null,
  };
}

export function verdict(changes: Partial<ClassifyEmailResult> = {}): ClassifyEmailResult {
  return {
    emailClass: 'human',
    bounce: null,
    evidence: ['class:human'],
    weak: false,
    allowlisted: false,
    priority: { priority: 'normal', tags: [], untrusted: false },
    returnedMessageId: null,
    ...changes,
  };
}

export const created: ActivityOutput<'recordTicket'> = {
  outcome: 'ticket_created',
  ticketId: 'ticket-1',
  ticketNumber: 1,
  ticketCreated: true,
  reopened: false,
  linkedTicketId: null,
  quarantined: [],
  reason: null,
};

const defaults: Fakes = {
  parseEmail: () => summary(),
  classifyEmail: () => verdict(),
  scanAttachments: ({ parts }) => parts.map((p) => ({ index: p.index, status: 'clean', detail: null })),
  storeAttachments: ({ parts }) =>
    parts.map((p) => ({ index: p.index, storageKey: p.status === 'clean' ? `attachments/${p.sha256}` : null, quarantineKey: null })),
  findThread: () => ({ match: null, refused: [] }),
  recordTicket: () => created,
  moveTicket: ({ queue, by }) => ({ moved: true, from: SUPPORT, to: queue, by }),
  sendAcknowledgement: (input) => ({ messageId: `ack-${input.ticketNumber}@mailgate.test`, sent: true, recorded: true, reason: 'sent' }),
  markAcknowledgementSent: () => undefined,
  recordEmail: () => undefined,
  recordHardBounce: ({ recipients }) => ({ marked: recipients, refused: [] }),
  // The retention and erasure workflows' activities: never called by the email workflow.
  sweepObjects: () => ({ listed: 0, deleted: 0, kept: {}, next: null }),
  purgeEmailRecords: () => ({ deleted: 0, batchSize: 1 }),
  planErasure: () => ({ ...EMPTY_ERASURE_COUNTS }),
  eraseObjects: () => ({ ...EMPTY_ERASURE_COUNTS }),
  eraseRows: () => ({ ...EMPTY_ERASURE_COUNTS }),
  recordErasure: () => undefined,
  sendNotification: ({ delivery }) => ({ sent: true, key: `${delivery.route}/${delivery.target}` }),
  resolveTicketNotifications: () => ({ resolved: 0 }),

  // The helpdesk canary workflow's activity: never called by the email workflow.
  helpdeskCanary: ({ runId }) => ({ externalId: `canary-${runId}`, ms: 0 }),

  // The agent reply workflow's activity: never called by the email workflow.
  sendAgentReply: (input) => ({ messageId: `reply-${input.ticketNumber}@mailgate.test`, commentId: 'comment-1', sent: true }),

  // The pollers' activities (issue 17): never called by the email workflow.
  pollImapMailbox: () => ({ unconfigured: true }),
  waitForImapMail: () => ({ unconfigured: true }),
  pollMailgunEvents: () => ({ unconfigured: true }),
};

/** The activities for a Worker, and what they were called with. */
export class RecordedActivities {
  readonly calls: Call[] = [];
  readonly activities: Activities;
  private readonly fakes: Fakes;

  constructor(changes: Partial<Fakes> = {}) {
    this.fakes = { ...defaults, ...changes };
    this.activities = {
      parseEmail: (input) => this.run('parseEmail', input),
      classifyEmail: (input) => this.run('classifyEmail', input),
      scanAttachments: (input) => this.run('scanAttachments', input),
      storeAttachments: (input) => this.run('storeAttachments', input),
      findThread: (input) => this.run('findThread', input),
      recordTicket: (input) => this.run('recordTicket', input),
      moveTicket: (input) => this.run('moveTicket', input),
      sendAcknowledgement: (input) => this.run('sendAcknowledgement', input),
      markAcknowledgementSent: (input) => this.run('markAcknowledgementSent', input),
      recordEmail: (input) => this.run('recordEmail', input),
      recordHardBounce: (input) => this.run('recordHardBounce', input),
      sweepObjects: (input) => this.run('sweepObjects', input),
      purgeEmailRecords: (input) => this.run('purgeEmailRecords', input),
      planErasure: (input) => this.run('planErasure', input),
      eraseObjects: (input) => this.run('eraseObjects', input),
      eraseRows: (input) => this.run('eraseRows', input),
      recordErasure: (input) => this.run('recordErasure', input),
      sendNotification: (input) => this.run('sendNotification', input),
      resolveTicketNotifications: (input) => this.run('resolveTicketNotifications', input),

      helpdeskCanary: (input) => this.run('helpdeskCanary', input),

      sendAgentReply: (input) => this.run('sendAgentReply', input),

      pollImapMailbox: (input) => this.run('pollImapMailbox', input),
      waitForImapMail: (input) => this.run('waitForImapMail', input),
      pollMailgunEvents: (input) => this.run('pollMailgunEvents', input),
    };
  }

  /** Activity names in call order, retries included. */
  names(): ActivityName[] {
    return this.calls.map((c) => c.name);
  }

  count(name: ActivityName): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  inputs<K extends ActivityName>(name: K): ActivityInput<K>[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.input as ActivityInput<K>);
  }

  private async run<K extends ActivityName>(name: K, input: ActivityInput<K>): Promise<ActivityOutput<K>> {
    const info = activityInfo();
    this.calls.push({ name, input, attempt: info.attempt, local: info.isLocal });
    const fake: Fake<K> = this.fakes[name];
    return await fake(input, this.count(name));
  }
}
