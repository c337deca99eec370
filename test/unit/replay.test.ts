/**
 * Determinism guard: saved histories of processInboundEmail (scripts/save-history) must replay on
 * the current workflow code. A change that alters the command sequence for a running or parked
 * email fails here; put it behind patched() instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { ROOT } from '../helpers/stack';

const dir = path.join(ROOT, 'test/fixtures/histories');
const saved = readdirSync(dir).filter((f) => f.startsWith('process-inbound-email-') && f.endsWith('.json'));

test('saved processInboundEmail histories replay on the current workflow code', async () => {
  assert.ok(saved.length >= 2, 'histories for a new ticket and for a reply are kept');
  const histories = saved.map((file) => ({
    workflowId: file,
    history: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as Parameters<typeof Worker.runReplayHistory>[1],
  }));
  const results = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../../src/workflows') }, histories)) {
    results.push(result);
  }
  assert.equal(results.length, saved.length);
  for (const result of results) assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
});
