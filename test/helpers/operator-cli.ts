/** The operator CLI (`scripts/mailgate`) as a test runs it: against one running API, exit code and stdout. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './stack';

const run = promisify(execFile);

export async function operatorCli(apiUrl: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [path.join(ROOT, 'dist/src/cli/mailgate.js'), ...args], { env: { ...process.env, MAILGATE_API_URL: apiUrl } });
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '' };
  }
}
