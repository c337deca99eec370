/** The bare shape's worker as a process of its own (./bare-worker.ts), so /proc tells its CPU apart. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const START_DEADLINE_MS = 60_000;

/** Starts the bare worker on `queue` and resolves once it says it is polling. */
export async function spawnBareWorker(queue: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const bare = spawn(process.execPath, [path.join(__dirname, 'bare-worker.js'), queue], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  bare.stdout!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!said.includes('ready')) {
    if (bare.exitCode !== null || Date.now() > deadline) throw new Error('the bare worker did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return bare;
}
