/**
 * The threading evaluation set (bench/eval-threading-core.ts, at least 30 reply scenarios) through
 * the real pipeline: every scenario must land on the expected ticket by the expected rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { evaluateThreading, SCENARIOS } from '../../bench/eval-threading-core';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch } from '../helpers/mail';
import { ROOT, unique } from '../helpers/stack';

let app: RunningApp;
before(async () => {
  app = await startApp({ env: { MAILGATE_RULES_FILE: path.join(ROOT, 'test/fixtures/rules/threading-eval.json') } });
});
after(async () => {
  await app?.stop();
});

test('every reply scenario of the threading evaluation lands on the right ticket by the right rule', async () => {
  assert.ok(SCENARIOS.length >= 30, `${SCENARIOS.length} scenarios`);
  const results = await evaluateThreading({
    fetch: apiFetch,
    baseUrl: app.url,
    mailViewUrl: `http://127.0.0.1:${process.env.MAILDEV_WEB_PORT ?? '1080'}`,
    run: unique('eval'),
  });
  const wrong = results.filter((r) => !r.ok);
  process.stdout.write(`# threading accuracy ${results.length - wrong.length}/${results.length}\n`);
  assert.deepEqual(wrong, []);
});
