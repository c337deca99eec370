/**
 * The hostile-input suite in CI size: every attack shape and a seeded sample of fuzzed fixtures go
 * through the real ingress and pipeline; each must end in a recorded state, none may be stuck or
 * crash a process. (`node dist/bench/hostile-suite.js --count 1000` runs the full size.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { attackCases, fuzzCases, isRecorded, runHostileSuite } from '../../bench/hostile-core';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch } from '../helpers/mail';
import { ROOT, unique } from '../helpers/stack';

let app: RunningApp;
before(async () => {
  app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/no-wait.json') } });
});
after(async () => {
  await app?.stop();
});

test('every attack shape and 120 fuzzed messages end in a recorded state, and the worker and API survive', async () => {
  const run = unique('hostile');
  const cases = [
    ...attackCases(run),
    ...fuzzCases({ corpusDirs: [path.join(ROOT, 'test/fixtures/eval/mail'), path.join(ROOT, 'test/fixtures/mail')], count: 120, seed: 20261127, run }),
  ];
  const results = await runHostileSuite({ fetch: apiFetch, baseUrl: app.url, cases, concurrency: 6, settleTimeoutMs: 300_000 });
  const counts: Record<string, number> = {};
  for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
  process.stdout.write(`# hostile suite: ${JSON.stringify(counts)}\n`);
  // Parked is a recorded state, but with every service up nothing here should need an operator.
  assert.deepEqual(results.filter((r) => !isRecorded(r.outcome) || r.outcome === 'parked'), []);
  assert.equal((await fetch(`${app.url}/healthz`)).status, 200, 'the API is still up');
  const after = await apiFetch(`${app.url}/v1/tickets?limit=1`);
  assert.equal(after.status, 200);
});
