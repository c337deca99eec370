/**
 * The threading evaluation set (bench/eval-threading-core.ts, at least 30 reply scenarios) through
 * the real pipeline: every scenario must land on the expected ticket by the expected rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { evaluateThreading, SCENARIOS, SUBJECT_SCENARIOS } from '../../bench/eval-threading-core';
import { parseRules } from '../../src/rules';
import { startApp, type RunningApp } from '../helpers/app';
import { apiFetch } from '../helpers/mail';
import { ROOT, unique } from '../helpers/stack';

const RULES_FILE = path.join(ROOT, 'test/fixtures/rules/threading-eval.json');
let app: RunningApp;
before(async () => {
  app = await startApp({ env: { MAILGATE_RULES_FILE: RULES_FILE } });
});
after(async () => {
  await app?.stop();
});

test('every reply scenario of the threading evaluation lands on the right ticket by the right rule', async () => {
  assert.ok(SCENARIOS.length >= 30, `${SCENARIOS.length} scenarios`);
  const subjectRule = parseRules(JSON.parse(readFileSync(RULES_FILE, 'utf8'))).threadBySubject;
  assert.equal(subjectRule.enabled, true, 'the evaluation runs with threadBySubject enabled');
  const results = await evaluateThreading({
    fetch: apiFetch,
    baseUrl: app.url,
    mailViewUrl: `http://127.0.0.1:${process.env.MAILDEV_WEB_PORT ?? '1080'}`,
    run: unique('eval'),
    subjectRule,
  });
  const wrong = results.filter((r) => !r.ok);
  process.stdout.write(`# threading accuracy ${results.length - wrong.length}/${results.length}\n`);
  const subjectNames = new Set(SUBJECT_SCENARIOS.map((s) => s.name));
  const subject = results.filter((r) => subjectNames.has(r.name));
  process.stdout.write(`# fidelity class 7 (threading recall): subject-participant scenarios ${subject.filter((r) => r.ok).length}/${subject.length}\n`);
  assert.deepEqual(wrong, []);
});
