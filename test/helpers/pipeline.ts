/** Following an email through the running app: its workflow state, its ticket, its history. */
import assert from 'node:assert/strict';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import type { EmailState } from '../../src/workflows/types';
import { receivedMail } from './maildev';
import { apiFetch, compose, getJson, postMime } from './mail';
import { config, eventually, unique } from './stack';

export interface EmailView {
  workflowId: string;
  runStatus: string;
  searchAttributes: Record<string, unknown>;
  state: EmailState | null;
}

export interface TicketView {
  id: string;
  number: number;
  subject: string;
  requester: string;
  queue: string;
  status: string;
  comments: {
    messageId: string;
    author: string;
    text: string;
    html: string | null;
    internal: boolean;
    attachments: { id: string; filename: string; size: number; sha256: string; scanStatus: string; scanDetail: string | null; link: string | null }[];
  }[];
}

/** Waits until the email's workflow has completed, and returns its final state. */
export async function settled(baseUrl: string, workflowId: string, timeoutMs = 60_000): Promise<EmailView> {
  return eventually(
    `email ${workflowId} to settle`,
    async () => {
      const { status, body } = await getJson<EmailView>(`${baseUrl}/v1/emails/${workflowId}`);
      if (status !== 200) return undefined;
      if (body.runStatus === 'FAILED' || body.runStatus === 'TERMINATED') {
        throw new Error(`workflow ${workflowId} ended ${body.runStatus}: ${JSON.stringify(body.state)}`);
      }
      return body.runStatus === 'COMPLETED' && body.state?.step === 'done' ? body : undefined;
    },
    timeoutMs,
  );
}

export async function ticket(baseUrl: string, id: string | number): Promise<TicketView> {
  const { status, body } = await getJson<TicketView>(`${baseUrl}/v1/tickets/${id}`);
  assert.equal(status, 200, `ticket ${id} should exist`);
  return body;
}

export async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace }));
  } finally {
    await connection.close();
  }
}

/** Whether a workflow of that id exists, running or closed. */
export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/**
 * Runs `fn` with a worker of this process polling a task queue of its own (on the dev server), and
 * stops the worker when `fn` settles: for tests that run workflows against in-process activities.
 */
export async function withInProcessWorker<T>(
  options: { workflowsPath: string; activities: object; prefix: string },
  fn: (client: Client, taskQueue: string) => Promise<T>,
): Promise<T> {
  const taskQueue = unique(options.prefix);
  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath: options.workflowsPath,
      activities: options.activities,
    });
    return await withTemporal((client) => worker.runUntil(fn(client, taskQueue)));
  } finally {
    await nativeConnection.close();
  }
}

/** The size of a workflow's whole history as JSON (larger than Temporal's protobuf encoding). */
export async function historyBytes(workflowId: string): Promise<number> {
  return withTemporal(async (client) => {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    return Buffer.byteLength(historyToJSON(history));
  });
}

/**
 * Posts `count` emails, each from a customer of its own (so no per-sender limit is what gets tested)
 * and each with a text attachment of `attachmentLines` lines, asserting 202 for each; `after(i)` runs
 * once email i is accepted (a worker kill, a restart). Returns the customers and workflow ids.
 */
export async function postCustomerEmails(
  baseUrl: string,
  options: { run: string; count: number; subject: string; attachmentLines: number; after?: (i: number) => Promise<void> | void },
): Promise<{ customers: string[]; workflowIds: string[] }> {
  const customers: string[] = [];
  const workflowIds: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const customer = `${options.run}-${i}@customer.example`;
    const raw = await compose({
      from: customer,
      to: 'support@mailgate.local',
      subject: `${options.subject} ${options.run} #${i}`,
      messageId: `<${options.run}.${i}@c.example>`,
      text: `email ${i}`,
      attachments: [{ filename: `notes-${i}.txt`, content: `line ${i}\n`.repeat(options.attachmentLines) }],
    });
    const posted = await postMime(baseUrl, raw);
    assert.equal(posted.status, 202);
    customers.push(customer);
    workflowIds.push(posted.body.emails![0]!.workflowId);
    await options.after?.(i);
  }
  return { customers, workflowIds };
}

/**
 * Each customer has exactly one ticket and received exactly one acknowledgement (read from the SMTP
 * server). Returns the ticket ids in the customers' order.
 */
export async function assertOneTicketAndAcknowledgementEach(baseUrl: string, customers: string[]): Promise<string[]> {
  const ticketIds: string[] = [];
  for (const [i, customer] of customers.entries()) {
    // The admin API shares the per-source limit with the pollers that waited for these emails.
    const { status, body } = await eventually(`the ticket query for email ${i}`, async () => {
      const answer = await getJson<{ tickets: { id: string }[] }>(`${baseUrl}/v1/tickets?requester=${encodeURIComponent(customer)}`);
      return answer.status === 429 ? undefined : answer;
    }, 60_000);
    assert.equal(status, 200, `the ticket query for email ${i} answered ${status}: ${JSON.stringify(body)}`);
    assert.equal(body.tickets.length, 1, `exactly one ticket for email ${i}`);
    ticketIds.push(body.tickets[0]!.id);
  }
  const wanted = new Set(customers);
  const acks = await eventually(`all ${customers.length} acknowledgements`, async () => {
    const mail = (await receivedMail()).filter((m) => m.to.some((to) => wanted.has(to.address)));
    return mail.length >= customers.length ? mail : undefined;
  }, 30_000);
  assert.equal(new Set(acks.map((m) => m.messageId)).size, customers.length, 'one acknowledgement per email');
  assert.equal(acks.length, customers.length, 'no acknowledgement sent twice');
  return ticketIds;
}

/**
 * After a test that parks an email: discards it if it is still parked, so it does not wait for an
 * operator until its park timeout. Errors are ignored (the email may have moved on).
 */
export async function discardLeftOver(baseUrl: string, workflowId: string | undefined, reason: string): Promise<void> {
  if (!workflowId) return;
  await apiFetch(`${baseUrl}/v1/emails/${workflowId}/discard`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ reason }),
  }).catch(() => undefined);
}
