/**
 * What the workflow code costs on its own, without Temporal's server or any activity: saved histories
 * of a small email (test/fixtures/histories) replayed many times on one worker, beside the bare
 * shape's history (bench/bare-workflows.ts) in the same run. It prints the CPU per replayed run and
 * the promises the workflow's sandbox creates per run (the SDK captures a stack trace for each), and
 * what one call into the sandbox costs with the deadlock timeout the SDK always sets (Node's vm runs
 * a watchdog thread per call with a timeout) and without one. The worker's floor per email is the
 * SDK's: the load bench (bench/load.ts) shows the rest.
 *
 *   npm run bench:workflow-code -- [--runs 300]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '300' } } });
const RUNS = Number(values.runs);
const HISTORIES = path.join(__dirname, '../../test/fixtures/histories');
/** The SDK's default isolateExecutionTimeout, which it passes to every call into the sandbox. */
const SDK_TIMEOUT_MS = 5_000;

let sandboxPromises = 0;
// Promises made by the sandbox's own Promise (another realm's constructor) are the workflow's.
v8.promiseHooks.onInit((promise) => {
  if ((promise as Promise<unknown>).constructor !== Promise) sandboxPromises += 1;
});

type History = Parameters<typeof Worker.runReplayHistory>[1];

async function replayCost(workflowBundle: WorkflowBundle, history: History, runs: number): Promise<{ cpuMs: number; promises: number }> {
  const copies = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ workflowId: `${tag}-${i}`, history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle }, copies(Math.min(50, runs), 'warm-up'))) if (result.error) throw result.error;
  sandboxPromises = 0;
  const start = process.cpuUsage();
  for await (const result of Worker.runReplayHistories({ workflowBundle }, copies(runs, 'run'))) if (result.error) throw result.error;
  const used = process.cpuUsage(start);
  return { cpuMs: (used.user + used.system) / 1000 / runs, promises: sandboxPromises / runs };
}

function sandboxCallCost(options: vm.RunningScriptOptions): number {
  const context = vm.createContext({}, { microtaskMode: 'afterEvaluate' });
  const script = new vm.Script('globalThis.n = (globalThis.n ?? 0) + 1');
  const calls = 5_000;
  for (let i = 0; i < 500; i++) script.runInContext(context, options);
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) script.runInContext(context, options);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const quiet = new DefaultLogger('WARN');
  const load = (file: string) => JSON.parse(readFileSync(path.join(HISTORIES, file), 'utf8')) as History;
  const bare = await bundleWorkflowCode({ workflowsPath: require.resolve('./bare-workflows'), logger: quiet });
  const mailgate = await bundleWorkflowCode({ workflowsPath: require.resolve('../src/workflows'), logger: quiet });
  const bareCost = await replayCost(bare, load('bare-email-shape-small.json'), RUNS);
  const small = await replayCost(mailgate, load('process-inbound-email-lean-path-flag.json'), RUNS);
  console.log(`${RUNS} replays of each history on one worker (CPU of this process, all threads)`);
  console.log(`bare shape, small             ${bareCost.cpuMs.toFixed(2)} ms per run, ${bareCost.promises.toFixed(0)} sandbox promises`);
  console.log(`Mailgate, small email         ${small.cpuMs.toFixed(2)} ms per run, ${small.promises.toFixed(0)} sandbox promises`);
  console.log(`Mailgate's workflow code adds ${(small.cpuMs - bareCost.cpuMs).toFixed(2)} ms per email to the bare shape's`);
  const withTimeout = sandboxCallCost({ timeout: SDK_TIMEOUT_MS });
  const without = sandboxCallCost({});
  console.log(`one call into a vm context: ${withTimeout.toFixed(0)} µs CPU with the SDK's ${SDK_TIMEOUT_MS} ms deadlock timeout, ${without.toFixed(1)} µs without`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
