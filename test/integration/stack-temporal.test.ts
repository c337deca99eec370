import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Worker, NativeConnection } from '@temporalio/worker';
import { config, eventually, ROOT, unique } from '../helpers/stack';
import { stackProbeActivities } from '../workflows/stack-probe-activities';

const workflowsPath = require.resolve('../workflows/stack-probe');

test('a workflow with one activity runs on the dev server and is listed by its custom search attribute', async () => {
  const taskQueue = unique('stack-probe');
  const status = unique('probe-status');
  const nativeConnection = await NativeConnection.connect({ address: config.temporal.address });
  const connection = await Connection.connect({ address: config.temporal.address });
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath,
      activities: stackProbeActivities,
    });
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const result = await worker.runUntil(
      client.workflow.execute('stackProbe', {
        taskQueue,
        workflowId: unique('stack-probe'),
        args: [{ text: 'hello', status }],
      }),
    );
    assert.equal(result, 'echo: hello');

    const listed = await eventually('the execution to be visible by EmailStatus', async () => {
      const found = [];
      for await (const execution of client.workflow.list({ query: `EmailStatus = "${status}"` })) found.push(execution);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.type, 'stackProbe');
    assert.equal(listed[0]?.status.name, 'COMPLETED');
  } finally {
    await connection.close();
    await nativeConnection.close();
  }
});

test('the saved history of the probe workflow replays without nondeterminism', async () => {
  const file = path.join(ROOT, 'test/fixtures/histories/stack-probe.json');
  const history = JSON.parse(await readFile(file, 'utf8')) as unknown;
  await Worker.runReplayHistory({ workflowsPath }, history as Parameters<typeof Worker.runReplayHistory>[1]);
});
