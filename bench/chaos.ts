/**
 * Runs the chaos and duplicate suite (bench/chaos-core.ts) against the running infrastructure
 * (`make up`, or `scripts/stack up infra`) with its own worker and API processes, prints the counts
 * per phase, and exits 1 when any email was lost or doubled. The full size:
 *   scripts/with-env node dist/bench/chaos.js
 * and a smaller one, as CI runs it (test/slow/chaos.test.ts):
 *   scripts/with-env node dist/bench/chaos.js --duplicates 40 --kills 40 --temporal 20 --outage-emails 16 --outage-seconds 12
 */
import { parseArgs } from 'node:util';
import { runChaos, type Service } from './chaos-core';

const { values } = parseArgs({
  options: {
    duplicates: { type: 'string', default: '1000' },
    kills: { type: 'string', default: '500' },
    temporal: { type: 'string', default: '200' },
    'outage-emails': { type: 'string', default: '240' },
    'outage-seconds': { type: 'string', default: '60' },
    outages: { type: 'string', default: 's3,clamd,smtp,postgres' },
    rate: { type: 'string', default: '10' },
  },
});

async function main(): Promise<void> {
  const started = Date.now();
  const { phases: reports, logDir } = await runChaos({
    duplicates: Number(values.duplicates),
    kills: Number(values.kills),
    temporalRestart: Number(values.temporal),
    outageEmails: Number(values['outage-emails']),
    outageSeconds: Number(values['outage-seconds']),
    outages: values.outages.split(',').filter(Boolean) as Service[],
    rate: Number(values.rate),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const lost = reports.reduce((n, r) => n + r.lost, 0);
  const doubled = reports.reduce((n, r) => n + r.doubled, 0);
  const redelivered = reports.reduce((n, r) => n + r.redelivered, 0);
  const emails = reports.reduce((n, r) => n + r.emails, 0);
  process.stdout.write(`\nworker and API logs: ${logDir}`);
  process.stdout.write(`\nchaos suite: ${emails} emails in ${reports.length} phases, ${lost} lost, ${doubled} doubled, ${redelivered} acknowledgements delivered twice, ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  process.exit(lost === 0 && doubled === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
