/**
 * Starts one poller workflow per configured mailbox and provider API, at worker start-up or from the
 * CLI (`mailgate pollers start`). The id is the poller's name (src/workflows/ids.ts) and a running
 * poller is kept (USE_EXISTING): starting twice, or from several workers, is harmless.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Logger } from '../../logger';
import { imapPoller, mailgunPoller } from '../../workflows';
import { imapPollerWorkflowId, mailgunPollerWorkflowId } from '../../workflows/ids';
import type { PollerSettings } from './settings';

export interface StartPollersInput {
  client: Pick<Client, 'workflow'>;
  taskQueue: string;
  settings: PollerSettings;
  log: Pick<Logger, 'info'>;
}

export async function startPollers({ client, taskQueue, settings, log }: StartPollersInput): Promise<string[]> {
  const options = {
    taskQueue,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    // A poller that ended (its mailbox was unconfigured, an operator terminated it) may run again.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  };
  const ids: string[] = [];
  for (const { name } of settings.imap) {
    const workflowId = imapPollerWorkflowId(name);
    await client.workflow.start(imapPoller, { ...options, workflowId, args: [{ name }], staticSummary: `IMAP poller ${name}` });
    ids.push(workflowId);
  }
  for (const { name } of settings.mailgun) {
    const workflowId = mailgunPollerWorkflowId(name);
    await client.workflow.start(mailgunPoller, { ...options, workflowId, args: [{ name }], staticSummary: `Mailgun event poller ${name}` });
    ids.push(workflowId);
  }
  if (ids.length > 0) log.info('pollers running', { workflowIds: ids });
  return ids;
}
