/**
 * Prints threading accuracy over the reply scenarios of bench/eval-threading-core.ts, against a
 * running Mailgate (default: `make up`). Exit code 1 when any scenario lands wrong.
 *   scripts/with-env node dist/bench/eval-threading.js [--url http://127.0.0.1:3000]
 * Scenarios that race a reply against its parent need waitForParentSeconds ≥ 5 in the rules.
 */
import { parseArgs } from 'node:util';
import { authorizedFetch } from '../src/api/signing';
import { evaluateThreading } from './eval-threading-core';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: `http://${process.env.API_HOST ?? '127.0.0.1'}:${process.env.API_PORT ?? '3000'}` },
    'mail-view': { type: 'string', default: `http://127.0.0.1:${process.env.MAILDEV_WEB_PORT ?? '1080'}` },
  },
});

async function main(): Promise<void> {
  const results = await evaluateThreading({
    fetch: authorizedFetch({ ingressSecret: (process.env.INGRESS_SECRETS ?? '').split(',')[0] ?? '', adminToken: process.env.ADMIN_TOKEN ?? '' }),
    baseUrl: values.url,
    mailViewUrl: values['mail-view'],
    run: Date.now().toString(36),
    onResult: (r) => process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.ok ? '' : `\n     expected ${r.expected}\n     actual   ${r.actual}`}\n`),
  });
  const right = results.filter((r) => r.ok).length;
  process.stdout.write(`threading accuracy: ${right}/${results.length} (${((100 * right) / results.length).toFixed(1)} %)\n`);
  process.exit(right === results.length ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
