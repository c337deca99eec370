/**
 * Starts processInboundEmail for one recipient. The workflow is named by its function (the client
 * sends only the function's name; importing it runs no workflow code), so a renamed workflow is a
 * compile error here, not a start that no worker picks up.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import libmime from 'libmime';
import { DEFAULT_REDACTION_POLICY, redactText } from '../domain/redact';
import { decodeLatin1HeaderValue } from '../parsing/header-charset';
import { processInboundEmail } from '../workflows';
import { EmailSenderKey, EmailStatusKey, EmailSubjectKey, RecipientQueueKey } from '../workflows/search-attributes';
import type { ProcessInboundEmailInput } from '../workflows/types';
import { clip, emailStartDetails, emailSummary, type EmailHeadline } from '../workflows/user-metadata';
import { addressesOf, type HeaderBlock } from './mime-headers';

export type { EmailHeadline } from '../workflows/user-metadata';

export type WorkflowClient = Pick<Client, 'workflow' | 'connection'>;

/** Room enough for a subject in the list's column, far below Temporal's limits on attribute size. */
const SUBJECT_ATTRIBUTE_MAX_BYTES = 150;
/** An address is at most 254 characters (RFC 5321); a longer From is cut, never refused by the server. */
const SENDER_ATTRIBUTE_MAX_BYTES = 254;

/**
 * The server refuses a start that sets a search attribute it does not know. EmailSubject and
 * EmailSender came later than the others: a cluster where they are not registered yet still starts
 * the email, without them, rather than refusing all mail.
 */
function unknownSearchAttribute(error: unknown): boolean {
  const messages = [error, (error as { cause?: unknown } | null)?.cause].map((e) => (e instanceof Error ? e.message : ''));
  return messages.some((m) => /no mapping defined for search attribute|search attribute \S+ is not defined/i.test(m));
}

/**
 * Facts about the delivery kept beside the workflow (not in its input, so reading them needs no
 * history): the content hash a later delivery under the same id is compared with.
 */
export interface EmailMemo {
  contentSha256: string;
  /** Set on a workflow that runs under a content key because its Message-ID was already used. */
  messageIdClashWith?: string;
}

/**
 * The subject and sender the Temporal UI lists the email by, from its header block: the subject
 * decoded (RFC 2047) and redacted with every kind whatever the queue's policy (the UI is read by
 * every operator, and Temporal keeps it for the namespace's retention), the sender's address.
 */
export function headlineOf(headers: HeaderBlock): EmailHeadline {
  const raw = headers.get('subject');
  let subject: string | null = null;
  if (raw !== undefined) {
    // Raw 8-bit bytes (UTF-8 or a legacy charset) come in latin1 from the header block.
    let decoded = decodeLatin1HeaderValue('Subject', raw, headers.get('content-type'));
    try {
      decoded = libmime.decodeWords(decoded);
    } catch {
      // Undecodable words are shown as they came.
    }
    subject = redactText(decoded, DEFAULT_REDACTION_POLICY).text;
  }
  return { subject, from: addressesOf(headers.all('from'))[0] ?? null };
}

/** "exists": the id is taken (running, or closed within the namespace's retention). */
export type StartResult = 'started' | 'exists';

export async function startEmailWorkflow(
  temporal: WorkflowClient,
  options: { workflowId: string; taskQueue: string; input: ProcessInboundEmailInput; deadlineMs: number; memo?: EmailMemo; headline?: EmailHeadline },
): Promise<StartResult> {
  const { workflowId, taskQueue, input, deadlineMs, memo } = options;
  // Without a header block (a caller that has none) the envelope sender stands in.
  const headline = options.headline ?? { subject: null, from: input.envelopeFrom };
  const base = [
    { key: RecipientQueueKey, value: input.queue },
    { key: EmailStatusKey, value: 'received' },
  ];
  // What the UI's list can show as columns (the list shows no summaries).
  const display = [
    ...(headline.subject ? [{ key: EmailSubjectKey, value: clip(headline.subject, SUBJECT_ATTRIBUTE_MAX_BYTES) }] : []),
    ...(headline.from ? [{ key: EmailSenderKey, value: clip(headline.from, SENDER_ATTRIBUTE_MAX_BYTES) }] : []),
  ];
  const start = (typedSearchAttributes: typeof base) =>
    temporal.connection.withDeadline(Date.now() + deadlineMs, () =>
      temporal.workflow.start(processInboundEmail, {
        workflowId,
        taskQueue,
        args: [input],
        // One email, one run: a running id is refused (FAIL) and a closed one is never re-run.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes,
        staticSummary: emailSummary(headline, input.queue),
        staticDetails: emailStartDetails(workflowId, headline, input),
        ...(memo ? { memo: { ...memo } } : {}),
      }),
    );
  try {
    try {
      await start([...base, ...display]);
    } catch (error) {
      if (display.length === 0 || !unknownSearchAttribute(error)) throw error;
      await start(base);
    }
    return 'started';
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return 'exists';
    throw error;
  }
}

/**
 * The content hash the workflow `workflowId` was started with, or null when it was started before
 * content hashes were recorded (its memo has none).
 */
export async function recordedContentSha256(temporal: WorkflowClient, workflowId: string, deadlineMs: number): Promise<string | null> {
  const description = await temporal.connection.withDeadline(Date.now() + deadlineMs, () => temporal.workflow.getHandle(workflowId).describe());
  const recorded = description.memo?.['contentSha256'];
  return typeof recorded === 'string' ? recorded : null;
}
