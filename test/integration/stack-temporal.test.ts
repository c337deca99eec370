import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { withInProcessWorker } from '../helpers/pipeline';
import { eventually, ROOT, unique } from '../helpers/stack';
import { stackProbeActivities } from '../workflows/stack-probe-activities';

const workflowsPath = require.resolve('../workflows/stack-probe');

test('a workflow with one activity runs on the dev server and is listed by its custom search attribute', async () => {
  const status = unique('probe-status');
  await withInProcessWorker({ workflowsPath, activities: stackProbeActivities, prefix: 'stack-probe' }, async (client, taskQueue) => {
    const result = await client.workflow.execute('stackProbe', {
      taskQueue,
      workflowId: unique('stack-probe'),
      args: [{ text: 'hello', status }],
    });
    assert.equal(result, 'echo: hello');

    const listed = await eventually('the execution to be visible by EmailStatus', async () => {
      const found = [];
      for await (const execution of client.workflow.list({ query: `EmailStatus = "${status}"` })) found.push(execution);
      return found.length > 0 ? found : undefined;
    });
    assert.equal(listed.length, 1);
    assert.equal(listed[0]?.type, 'stackProbe');
    assert.equal(listed[0]?.status.name, 'COMPLETED');
  });
});

test('the saved history of the probe workflow replays without nondeterminism', async () => {
  const file = path.join(ROOT, 'test/fixtures/histories/stack-probe.json');
  const history = JSON.parse(await readFile(file, 'utf8')) as unknown;
  await Worker.runReplayHistory({ workflowsPath }, history as Parameters<typeof Worker.runReplayHistory>[1]);
});
