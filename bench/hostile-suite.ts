/**
 * Runs the hostile-input suite (bench/hostile-core.ts) against a running Mailgate and prints counts
 * per outcome. Exit code 1 when any message did not end in a recorded state.
 *   scripts/with-env node dist/bench/hostile-suite.js [--count 1000] [--seed 1] [--concurrency 8]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { authorizedFetch } from '../src/api/signing';
import { attackCases, fuzzCases, isRecorded, runHostileSuite } from './hostile-core';

const ROOT = path.resolve(__dirname, '../..');
const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}` },
    count: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '8' },
  },
});

async function main(): Promise<void> {
  const run = Date.now().toString(36);
  const attacks = attackCases(run);
  const fuzzed = fuzzCases({
    corpusDirs: [path.join(ROOT, 'test/fixtures/eval/mail'), path.join(ROOT, 'test/fixtures/mail')],
    count: Math.max(0, Number(values.count) - attacks.length),
    seed: Number(values.seed),
    run,
  });
  const started = Date.now();
  const results = await runHostileSuite({
    fetch: authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' }),
    baseUrl: values.url,
    cases: [...attacks, ...fuzzed],
    concurrency: Number(values.concurrency),
    settleTimeoutMs: 15 * 60_000,
  });
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  process.stdout.write(`hostile-input suite: ${attacks.length + fuzzed.length} messages (${attacks.length} attack shapes, ${fuzzed.length} fuzzed, seed ${values.seed}) in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  for (const [outcome, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${outcome.padEnd(24)} ${n}\n`);
  const bad = results.filter((r) => !isRecorded(r.outcome));
  for (const r of bad.slice(0, 30)) process.stdout.write(`NOT RECORDED ${r.outcome}: ${r.name} ${r.detail}\n`);
  for (const r of results.filter((x) => x.name.includes('(') === false || !x.name.includes('seed')).slice(0, 40)) {
    process.stdout.write(`  attack: ${r.name.padEnd(48)} ${r.outcome} ${r.detail.slice(0, 100)}\n`);
  }
  process.stdout.write(`${results.length - bad.length} recorded, ${bad.length} not recorded\n`);
  process.exit(bad.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
