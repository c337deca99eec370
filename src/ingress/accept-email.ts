/**
 * acceptEmail: the one accept path. Every ingress kind (raw MIME over HTTP, our own MX, an MTA pipe,
 * provider webhooks, pollers) hands it raw bytes, an envelope and its source, and maps the answer
 * onto its protocol. Order of work (nothing is acknowledged before it is durable):
 *   size cap → header block → recipients resolved to queues → raw bytes to the object store under
 *   raw/<sha256> → per queue the idempotency key → start processInboundEmail with id
 *   inbound-email/<key>, or, when that id is taken by a different message under the same
 *   Message-ID, under its content key (./deliver-once.ts).
 * One workflow per distinct queue, however many spellings of it the email was addressed to (issue
 * 12, class 5). "accepted" and "duplicate" only once the raw object is stored AND every queue's
 * workflow exists. "retry-later" is safe to retry: the raw key is content-addressed and a workflow
 * that already exists for the same content is answered "duplicate", never started twice.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore } from '../adapters/object-store';
import type { Config } from '../config';
import { contentSha256 } from '../domain/content-hash';
import { idempotencyKey } from '../domain/idempotency';
import { normalizeMessageId } from '../domain/message-id';
import type { Ledger } from '../ports/ledger';
import type { Limits } from '../domain/limits';
import { resolveRecipients, type RecipientPolicy } from '../domain/recipients';
import type { Logger } from '../logger';
import { metrics } from '../metrics';
import { queueFor } from '../rules';
import { notifyPolicyOf } from '../rules-notifications';
import type { NotifyPolicy } from '../domain/notify-routes';
import { inboundEmailWorkflowId } from '../workflows/ids';
import { deliverOnce } from './deliver-once';
import type { ProcessInboundEmailInput } from '../workflows/types';
import { checkEnvelope } from './envelope';
import { addressesOf, NotAnEmailError, readHeaderBlock } from './mime-headers';
import { readRaw } from './read-raw';
import { headlineOf, type EmailHeadline, type WorkflowClient } from './start-email-workflow';
import type { AcceptAnswer, AcceptEmail, AcceptOptions, Envelope, IngressSource, RecipientAnswer, Refusal, RefusedRecipient, RetryCause } from './types';

/** A workflow start that takes longer than this is answered retry-later (the sender retries). */
export const DEFAULT_START_DEADLINE_MS = 10_000;
/**
 * Below this size the raw object is written without asking first: one round trip instead of two,
 * and rewriting content-addressed bytes is harmless. Above it a HEAD saves re-uploading a redelivery.
 */
const REWRITE_BELOW_BYTES = 1024 * 1024;

export const STORE_UNAVAILABLE = 'the message could not be stored; retry later';
export const ENGINE_UNAVAILABLE = 'the email could not be handed to the workflow engine; retry later';
export const NO_RECIPIENT = 'no recipient belongs to an inbound domain';

export interface AcceptEmailDeps {
  store: Pick<ObjectStore, 'put' | 'refresh'>;
  temporal: WorkflowClient;
  /** Where a Message-ID clash is noted on both emails (the ledger). */
  clashes: Pick<Ledger, 'recordMessageIdClash'>;
  taskQueue: string;
  limits: Pick<Limits, 'maxMessageBytes' | 'maxHeaderBytes'>;
  recipients: RecipientPolicy;
  /** Snapshot of the rules every workflow started here runs with. */
  policy: NonNullable<ProcessInboundEmailInput['policy']>;
  log: Logger;
  /** Default DEFAULT_START_DEADLINE_MS. */
  startDeadlineMs?: number;
  now?: () => Date;
}

/** The parts of AcceptEmailDeps that come from the configuration. */
export function acceptEmailSettings(config: Config): Pick<AcceptEmailDeps, 'taskQueue' | 'limits' | 'recipients' | 'policy'> {
  return {
    taskQueue: config.temporal.taskQueue,
    limits: { maxMessageBytes: config.limits.maxMessageBytes, maxHeaderBytes: config.limits.maxHeaderBytes },
    recipients: {
      inboundDomains: config.inboundDomains,
      catchAll: config.catchAll,
      route: (address) => queueFor(config.rules, address),
    },
    policy: {
      waitForParentSeconds: config.rules.waitForParentSeconds,
      replyTokens: config.rules.replyTokens,
      maxAttempts: config.rules.parking.maxAttempts,
      parkTimeoutSeconds: config.rules.parking.parkTimeoutSeconds,
      ...notifyPolicy(config),
    },
  };
}

function notifyPolicy(config: Config): { notify?: NotifyPolicy } {
  const notify = notifyPolicyOf(config.rules.notifications);
  return notify ? { notify } : {};
}

function positiveInteger(name: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${name} must be a positive integer, not ${value}`);
  return value;
}

interface Planned {
  recipient: string;
  queue: string;
  /** The first delivery's workflow id; a clash runs under another (./deliver-once.ts). */
  workflowId: string;
  key: string;
}

/** Every answer is counted and logged once, with the ingress kind and source on the line. */
function answering(baseLog: Logger, source: IngressSource) {
  const log = baseLog.child({
    ingress: source.kind,
    ...(source.name !== undefined ? { source: source.name } : {}),
    ...(source.remoteAddress !== undefined ? { remoteAddress: source.remoteAddress } : {}),
    ...(source.eventId !== undefined ? { eventId: source.eventId } : {}),
  });
  const answer = (a: AcceptAnswer): AcceptAnswer => {
    const reason = a.answer === 'refused' ? a.refusal : a.answer === 'retry-later' ? a.cause : 'none';
    metrics.ingressAnswer(source.kind, a.answer, reason);
    if (a.answer === 'accepted' || a.answer === 'duplicate') {
      log.info('inbound email accepted', { rawKey: a.rawKey, emails: a.recipients });
    } else {
      // A refusal is the sender's problem and final; retry-later means one of ours is down.
      const level = a.answer === 'refused' ? 'info' : 'warn';
      log[level](a.answer === 'refused' ? 'inbound email refused' : 'inbound email not accepted', {
        reason: a.reason,
        rawKey: a.rawKey,
        workflowIds: a.workflowIds,
        ...(a.refused.length > 0 ? { refused: a.refused } : {}),
      });
    }
    return a;
  };
  return {
    log,
    answer,
    refuse: (refusal: Refusal, reason: string, rawKey: string | null, refused: RefusedRecipient[] = []): AcceptAnswer =>
      answer({ answer: 'refused', refusal, reason, rawKey, workflowIds: [], recipients: [], refused }),
    retryLater: (cause: RetryCause, reason: string, rawKey: string | null, recipients: RecipientAnswer[], refused: RefusedRecipient[]): AcceptAnswer =>
      answer({ answer: 'retry-later', cause, reason, rawKey, workflowIds: recipients.map((r) => r.workflowId), recipients, refused }),
  };
}

function pending(items: Planned[], reason: string): RecipientAnswer[] {
  return items.map(({ recipient, queue, workflowId }) => ({ recipient, queue, workflowId, answer: 'retry-later', reason }));
}

/**
 * Starts one workflow per planned recipient, in order. When the engine fails for one, the ones after
 * it are not tried: with the engine down each would wait out the deadline too, and the sender's
 * retry starts them (the ones before answer "duplicate").
 */
async function startAll(
  deps: AcceptEmailDeps & { startDeadlineMs: number },
  planned: Planned[],
  base: Omit<ProcessInboundEmailInput, 'recipient' | 'queue' | 'idempotencyKey'> & { messageId: string | null; contentSha256: string; headline: EmailHeadline },
  log: Logger,
): Promise<{ done: RecipientAnswer[] } | { failed: RecipientAnswer[] }> {
  const done: RecipientAnswer[] = [];
  const { messageId, contentSha256: content, headline, ...common } = base;
  for (const [index, { recipient, queue, key }] of planned.entries()) {
    const input: ProcessInboundEmailInput = { ...common, recipient, queue, idempotencyKey: key, policy: { ...deps.policy }, leanPath: true };
    let delivered;
    try {
      delivered = await deliverOnce(
        { temporal: deps.temporal, clashes: deps.clashes, taskQueue: deps.taskQueue, deadlineMs: deps.startDeadlineMs },
        { input, messageId, contentSha256: content, headline },
      );
    } catch (error) {
      log.warn('workflow not started', { error, workflowId: planned[index]!.workflowId });
      const rest = pending(planned.slice(index + 1), 'not tried after an earlier recipient failed; retry later');
      return { failed: [...done, ...pending([planned[index]!], ENGINE_UNAVAILABLE), ...rest] };
    }
    const { workflowId, clashWith } = delivered;
    const status = delivered.result === 'started' ? 'accepted' : 'duplicate';
    metrics.inbound(queue, status);
    if (clashWith) log.warn('message id clash', { workflowId, messageIdClashWith: clashWith, messageId });
    const clash = clashWith ? `; its Message-ID was already used by a different message (${clashWith}), so it runs under its content key` : '';
    done.push({
      recipient,
      queue,
      workflowId,
      answer: status,
      reason: (status === 'accepted' ? 'stored and handed to the workflow engine' : 'already accepted: the workflow for this email and queue exists') + clash,
      ...(clashWith ? { messageIdClashWith: clashWith } : {}),
    });
  }
  return { done };
}

export function createAcceptEmail(deps: AcceptEmailDeps): AcceptEmail {
  const maxMessageBytes = positiveInteger('limits.maxMessageBytes', deps.limits.maxMessageBytes);
  const maxHeaderBytes = positiveInteger('limits.maxHeaderBytes', deps.limits.maxHeaderBytes);
  const startDeadlineMs = positiveInteger('startDeadlineMs', deps.startDeadlineMs ?? DEFAULT_START_DEADLINE_MS);
  const now = deps.now ?? (() => new Date());

  return async function acceptEmail(raw: Parameters<AcceptEmail>[0], envelope: Envelope, source: IngressSource, options: AcceptOptions = {}): Promise<AcceptAnswer> {
    const { log, answer, refuse, retryLater } = answering(deps.log, source);

    // Read first, even for an envelope that will be refused: a stream must be drained either way.
    const read = await readRaw(raw, maxMessageBytes);
    if (!read.ok) {
      if (read.tooLarge) return refuse('too-large', `the message exceeds ${maxMessageBytes} bytes`, null);
      log.warn('raw message not read', { error: read.error });
      return retryLater('source', `the message could not be read (${read.error.message}); retry later`, null, [], []);
    }
    const bytes = read.bytes;
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const rawKey = `raw/${sha256}`;

    const checked = checkEnvelope(envelope);
    if (!checked.ok) return refuse('malformed-envelope', checked.reason, rawKey);

    let headers;
    try {
      headers = readHeaderBlock(bytes, maxHeaderBytes);
    } catch (error) {
      if (error instanceof NotAnEmailError) return refuse('not-an-email', error.message, rawKey);
      throw error;
    }
    const resolved = resolveRecipients(
      { envelopeTo: checked.rcptTo, headerTo: addressesOf(headers.all('to')), headerCc: addressesOf(headers.all('cc')) },
      deps.recipients,
    );
    if (resolved.accepted.length === 0) return refuse('no-recipient', NO_RECIPIENT, rawKey, resolved.refused);

    const messageId = normalizeMessageId(headers.get('message-id'));
    // An mbox separator carries the delivery time, so two deliveries of one message differ in it: like
    // the trace fields, what comes before the message is not its content.
    const content = contentSha256(bytes.subarray(headers.prefixBytes));
    const planned: Planned[] = resolved.accepted.map(({ recipient, queue }) => {
      const key = idempotencyKey({ messageId, queue, contentSha256: content });
      return { recipient, queue, key, workflowId: inboundEmailWorkflowId(key) };
    });
    try {
      // An existing large raw object is refreshed rather than rewritten: as young as this delivery,
      // so the retention sweep, which goes by age, leaves it to the new workflow.
      if (bytes.length <= REWRITE_BELOW_BYTES || !(await deps.store.refresh(rawKey))) {
        await deps.store.put({ key: rawKey, body: bytes, contentType: 'message/rfc822', contentLength: bytes.length });
      }
    } catch (error) {
      log.warn('raw message not stored', { error, rawKey });
      return retryLater('object-store', STORE_UNAVAILABLE, rawKey, pending(planned, STORE_UNAVAILABLE), resolved.refused);
    }

    const base = {
      rawKey,
      rawSha256: sha256,
      rawSize: bytes.length,
      envelopeFrom: checked.mailFrom,
      receivedAt: now().toISOString(),
      messageId,
      contentSha256: content,
      headline: headlineOf(headers),
      ...(options.quarantine ? { quarantine: { reason: options.quarantine.reason.slice(0, 500) } } : {}),
    };
    const outcome = await startAll({ ...deps, startDeadlineMs }, planned, base, log);
    if ('failed' in outcome) return retryLater('workflow-engine', ENGINE_UNAVAILABLE, rawKey, outcome.failed, resolved.refused);
    const { done } = outcome;
    const anyNew = done.some((r) => r.answer === 'accepted');
    const common = { rawKey, workflowIds: done.map((r) => r.workflowId), recipients: done, refused: resolved.refused };
    return answer(
      anyNew
        ? { answer: 'accepted', reason: `stored as ${rawKey} and handed to the workflow engine`, ...common }
        : { answer: 'duplicate', reason: "already accepted: every queue's workflow exists", ...common },
    );
  };
}
