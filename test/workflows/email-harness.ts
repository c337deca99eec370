/**
 * The harness both workflow test files share: the time-skipping test server and one workflow bundle
 * for the file (bundling takes seconds, a worker from a bundle well under one), an email's input,
 * and a run of one email on a worker of its own with recording fake activities.
 */
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import { after, before } from 'node:test';
// eslint-disable-next-line @typescript-eslint/no-restricted-imports -- a test file: it runs in Node, not in the sandbox
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { TypedSearchAttributes } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { processInboundEmail } from '../../src/workflows';
import { EmailClassKey, EmailStatusKey, ErrorTypeKey, ParkedStepKey, RecipientQueueKey, TicketIdKey } from '../../src/workflows/search-attributes';
import { statusQuery, type EmailState, type ProcessInboundEmailInput } from '../../src/workflows/types';
import { unique } from '../helpers/stack';
import { createTimeSkippingEnv } from '../helpers/time-skipping';
import { CUSTOMER, SUPPORT, type RecordedActivities } from './process-inbound-email-fakes';

export type Handle = WorkflowHandle<typeof processInboundEmail>;

export interface Run {
  state: EmailState | undefined;
  error: unknown;
  searchAttributes: TypedSearchAttributes;
  /** Wall-clock time from start to result. */
  wallMs: number;
  /** Workflow time from start to close, skipped time included (the server's clock, not ours). */
  workflowMs: number;
}

let env: TestWorkflowEnvironment | undefined;
let bundle: WorkflowBundle | undefined;

/** Registers the file's before/after hooks: the test server up with Mailgate's search attributes, then down. */
export function useTimeSkippingServer(): void {
  before(async () => {
    env = await createTimeSkippingEnv({ searchAttributes: [EmailStatusKey, RecipientQueueKey, TicketIdKey, EmailClassKey, ParkedStepKey, ErrorTypeKey] });
    bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: new DefaultLogger('WARN') });
  });
  after(async () => {
    await env?.teardown();
  });
}

/** The running test server (after useTimeSkippingServer's hook). */
export function testServer(): TestWorkflowEnvironment {
  assert.ok(env, 'useTimeSkippingServer() starts the test server');
  return env;
}

export function email(changes: Partial<ProcessInboundEmailInput> = {}): ProcessInboundEmailInput {
  return {
    rawKey: 'raw/0f0f',
    rawSha256: '0f0f',
    rawSize: 4096,
    recipient: SUPPORT,
    queue: SUPPORT,
    idempotencyKey: unique('key'),
    envelopeFrom: CUSTOMER,
    receivedAt: '2025-06-02T09:00:00.000Z',
    ...changes,
    // One attempt per step parks a failing step at once; no wait for parents unless a test asks.
    policy: { maxAttempts: 1, waitForParentSeconds: 0, ...changes.policy },
  };
}

/** Runs one email on a worker of its own; `during` talks to the running workflow before its result is awaited. */
export async function run(
  fakes: RecordedActivities,
  input: ProcessInboundEmailInput,
  during?: (handle: Handle) => Promise<void>,
  /** Runs after the result while the worker still polls: for child workflows the email left running. */
  afterwards?: (handle: Handle) => Promise<void>,
): Promise<Run> {
  const server = testServer();
  assert.ok(bundle, 'useTimeSkippingServer() bundles the workflows');
  const taskQueue = unique('inbound-email');
  const worker = await Worker.create({ connection: server.nativeConnection, taskQueue, workflowBundle: bundle, activities: fakes.activities });
  return await worker.runUntil(async () => {
    const wallStart = Date.now();
    const handle = await server.client.workflow.start(processInboundEmail, { taskQueue, workflowId: unique('inbound-email'), args: [input] });
    if (during) await during(handle);
    let state: EmailState | undefined;
    let error: unknown;
    try {
      state = await handle.result();
    } catch (e) {
      error = e;
    }
    const wallMs = Date.now() - wallStart;
    await afterwards?.(handle);
    const { typedSearchAttributes, startTime, closeTime } = await handle.describe();
    assert.ok(closeTime, 'the workflow is closed');
    return { state, error, searchAttributes: typedSearchAttributes, wallMs, workflowMs: closeTime.getTime() - startTime.getTime() };
  });
}

export function finished(result: Run): EmailState {
  assert.equal(result.error, undefined, `the workflow failed: ${String(result.error)}`);
  assert.ok(result.state);
  return result.state;
}

/** The status query, polled until the email is parked; an email that ends instead fails the test at once. */
export async function whenParked(handle: Handle, timeoutMs = 15_000): Promise<EmailState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await handle.query(statusQuery);
    if (state.outcome === 'parked') return state;
    assert.notEqual(state.step, 'done', `the email ended as ${state.outcome} instead of parking: ${state.reasons.join('; ')}`);
    assert.ok(Date.now() < deadline, `not parked within ${timeoutMs} ms: still ${state.step}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
