/**
 * Issue 12, class 1, at the deployment level: a clamd that answers OK for files it stopped reading
 * (a stock clamd.conf without AlertExceedsMax / AlertEncrypted) is caught at worker start. Runs a
 * second, real clamd from the project's template with the alerts removed, on a free port, and stops
 * it again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createClamdScanner } from '../../src/adapters/clamd';
import { checkScannerReportsEarlyStops, ScannerMisconfiguredError } from '../../src/adapters/clamd-self-check';
import { freePort, startApp } from '../helpers/app';
import { config, eventually, ROOT, unique } from '../helpers/stack';

describe('the scanner self-check at worker start', () => {
  let stock: ChildProcess | undefined;
  let stockPort = 0;

  before(async () => {
    const dir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'test-apps', unique('stock-clamd'));
    mkdirSync(path.join(dir, 'db'), { recursive: true });
    mkdirSync(path.join(dir, 'tmp'), { recursive: true });
    copyFileSync(path.join(ROOT, 'config/clamav/mailgate-test.ndb'), path.join(dir, 'db/mailgate-test.ndb'));
    stockPort = await freePort();
    const template = readFileSync(path.join(ROOT, 'config/clamav/clamd.conf.in'), 'utf8');
    const stockConf = template
      .replace(/^(AlertExceedsMax|AlertEncrypted|AlertBrokenExecutables) yes$/gm, '')
      .replace('@PORT@', String(stockPort))
      .replace('@ADDR@', '127.0.0.1')
      .replace('@PID@', path.join(dir, 'clamd.pid'))
      .replace('@LOG@', path.join(dir, 'clamd.log'))
      .replace('@DB@', path.join(dir, 'db'))
      .replace('@TMP@', path.join(dir, 'tmp'));
    assert.doesNotMatch(stockConf, /^Alert/m);
    writeFileSync(path.join(dir, 'clamd.conf'), stockConf);
    stock = spawn('clamd', ['--foreground', `--config-file=${path.join(dir, 'clamd.conf')}`], { stdio: 'ignore' });
    const scanner = createClamdScanner({ host: '127.0.0.1', port: stockPort, timeoutMs: 2_000 });
    await eventually('the stock clamd to answer PING', async () => ((await scanner.ping().then(() => true, () => false)) ? true : undefined), 60_000);
  });

  after(() => {
    stock?.kill('SIGTERM');
  });

  test("the project's clamd passes: both probes come back unscannable", async () => {
    await checkScannerReportsEarlyStops(createClamdScanner(config.clamd));
  });

  test('a clamd without the alerts fails it, naming the setting to change', async () => {
    const scanner = createClamdScanner({ host: '127.0.0.1', port: stockPort, timeoutMs: 10_000 });
    await assert.rejects(checkScannerReportsEarlyStops(scanner), (error: unknown) => {
      assert.ok(error instanceof ScannerMisconfiguredError);
      assert.match(error.message, /clamd answered "clean" for a file nested 64 containers deep/);
      assert.match(error.message, /AlertExceedsMax yes/);
      return true;
    });
  });

  test('the worker refuses to start against a clamd without the alerts', async () => {
    await assert.rejects(startApp({ env: { CLAMD_PORT: String(stockPort) } }), /worker exited with 1 before it was ready[\s\S]*does not report files it stops reading early/);
  });

  test('an unreachable clamd does not stop the worker: the check is skipped with a warning', async () => {
    const app = await startApp({ env: { CLAMD_PORT: String(await freePort()) } });
    try {
      const log = readFileSync(path.join(app.logDir, 'worker-1.log'), 'utf8');
      assert.match(log, /scanner self-check skipped: clamd did not answer/);
    } finally {
      await app.stop();
    }
  });
});
