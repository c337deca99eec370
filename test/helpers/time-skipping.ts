/**
 * Temporal's time-skipping test server for workflow tests: timers (the 7-day park timeout, the wait
 * for a late parent) pass as soon as nothing else is left to do, so those paths run in seconds.
 * The server is the Java program scripts/setup installs into .tools; the SDK would download it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType, type SearchAttributeKey } from '@temporalio/common/lib/search-attributes';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ROOT } from './stack';

/** The wrapper the SDK runs as `<path> <port>` (see the script for the start-up measurements). */
export const TEST_SERVER = path.join(ROOT, 'scripts/temporal-test-server');

/**
 * The SDK waits 5 s for the server to answer and then gives up. The class-data archive setup writes
 * brings the JVM start to about 1 s even with the load average at 10 on two cores; a start that
 * still misses (a machine busier than that) is tried again rather than failing a whole test file.
 */
const START_ATTEMPTS = 3;

export interface TimeSkippingEnvOptions {
  /**
   * Custom search attributes to register. The test server refuses a workflow that upserts one it
   * does not know ("search attribute EmailStatus is not defined"), like a real server would.
   */
  searchAttributes?: SearchAttributeKey<SearchAttributeType>[];
}

/** Starts a time-skipping server of its own; the caller tears it down (`env.teardown()`). */
export async function createTimeSkippingEnv(options: TimeSkippingEnvOptions = {}): Promise<TestWorkflowEnvironment> {
  if (!existsSync(path.join(ROOT, '.tools/temporal-test-server/lib'))) {
    throw new Error('the time-skipping test server is not installed: run scripts/setup');
  }
  const env = await start();
  const keys = options.searchAttributes ?? [];
  try {
    if (keys.length > 0) {
      await env.connection.operatorService.addSearchAttributes({
        namespace: env.namespace ?? 'default',
        searchAttributes: Object.fromEntries(keys.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)!])),
      });
    }
  } catch (error) {
    await env.teardown();
    throw error;
  }
  return env;
}

async function start(): Promise<TestWorkflowEnvironment> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: TEST_SERVER } },
      });
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`the time-skipping test server did not start in ${START_ATTEMPTS} attempts`, { cause: lastError });
}
