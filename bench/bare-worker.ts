/**
 * A worker for the bare shape (bench/bare-workflows.ts), run as a process of its own so the
 * benchmark can read its CPU from /proc like the Mailgate worker's.
 *   node dist/bench/bare-worker.js <task queue>   (prints "ready" when it polls)
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { temporalConnectionOptions } from '../src/temporal-connection';

async function main(): Promise<void> {
  const taskQueue = process.argv[2];
  if (!taskQueue) throw new Error('usage: node dist/bench/bare-worker.js <task queue>');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath: require.resolve('./bare-workflows'),
    activities: { nothing: async () => {} },
    // As the Mailgate worker is configured (src/worker.ts), so the two differ only in what they do.
    maxConcurrentActivityTaskExecutions: 20,
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await connection.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
