/**
 * Starts the workflow of one email for one queue, once (issue 12, class 11: same Message-ID,
 * different message).
 *
 * The first delivery starts under its key (Message-ID and queue) and records its content hash in the
 * workflow's memo. A delivery that finds the key taken compares content hashes
 * (src/domain/idempotency.ts `deliveryVerdict`): the same content is a duplicate (a redelivery,
 * three copies at once, a retry after a lost answer); different content is a different message that
 * reused the Message-ID, which runs under its content key and is noted on both emails in the ledger
 * before it starts. Concurrent copies of the second message meet at its content key, so it too runs
 * once. Ids are still strings named by src/workflows/ids.ts; running workflows are untouched.
 */
import { contentKey, deliveryVerdict } from '../domain/idempotency';
import type { Ledger } from '../ports/ledger';
import { inboundEmailWorkflowId } from '../workflows/ids';
import type { ProcessInboundEmailInput } from '../workflows/types';
import { recordedContentSha256, startEmailWorkflow, type EmailHeadline, type WorkflowClient } from './start-email-workflow';

export interface DeliverOnceDeps {
  temporal: WorkflowClient;
  /** Where a clash is noted on both emails. */
  clashes: Pick<Ledger, 'recordMessageIdClash'>;
  taskQueue: string;
  deadlineMs: number;
}

export interface DeliverOnceInput {
  /** The workflow input; its idempotencyKey is the first delivery's key. */
  input: ProcessInboundEmailInput;
  /** The normalized Message-ID, or null when the email has none. */
  messageId: string | null;
  contentSha256: string;
  /** Subject and sender, for the Temporal UI's summary of the workflow. */
  headline?: EmailHeadline;
}

export interface Delivered {
  /** started: this delivery started the workflow; exists: an earlier delivery of the same content did. */
  result: 'started' | 'exists';
  workflowId: string;
  /** The workflow of the other message when this one's Message-ID was already used by different content. */
  clashWith: string | null;
}

export async function deliverOnce(deps: DeliverOnceDeps, delivery: DeliverOnceInput): Promise<Delivered> {
  const { input, contentSha256 } = delivery;
  const start = (workflowId: string, startInput: ProcessInboundEmailInput, clashWith?: string) =>
    startEmailWorkflow(deps.temporal, {
      workflowId,
      taskQueue: deps.taskQueue,
      input: startInput,
      deadlineMs: deps.deadlineMs,
      memo: { contentSha256, ...(clashWith ? { messageIdClashWith: clashWith } : {}) },
      ...(delivery.headline ? { headline: delivery.headline } : {}),
    });

  const first = inboundEmailWorkflowId(input.idempotencyKey);
  if ((await start(first, input)) === 'started') return { result: 'started', workflowId: first, clashWith: null };
  const recorded = await recordedContentSha256(deps.temporal, first, deps.deadlineMs);
  // Without a Message-ID the key is the content hash itself, so a taken key is the same content.
  if (delivery.messageId === null || deliveryVerdict(recorded, contentSha256) === 'duplicate') {
    return { result: 'exists', workflowId: first, clashWith: null };
  }

  const key = contentKey({ messageId: delivery.messageId, queue: input.queue, contentSha256 });
  const second = inboundEmailWorkflowId(key);
  // Noted before the start, so an email that runs is never missing its note; a retry notes again
  // harmlessly (idempotent).
  await deps.clashes.recordMessageIdClash({ workflowId: second, otherWorkflowId: first, messageId: delivery.messageId });
  const result = await start(second, { ...input, idempotencyKey: key, messageIdClashWith: first }, first);
  return { result, workflowId: second, clashWith: first };
}
