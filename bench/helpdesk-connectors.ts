/**
 * Time to ticket and emails/s per helpdesk connector, beside the built-in store, in one run: one
 * Mailgate (real API and worker processes on the test stack) whose queues each deliver into one
 * target (the built-in store, or a connector in front of its loopback stand-in).
 *   MAILGATE_PROFILE=test scripts/with-env node dist/bench/helpdesk-connectors.js [--connectors built-in,zendesk,generic-rest,jira-sm,freshdesk,servicenow] [--latency 20] [--burst 30]
 * Latency: emails one at a time, each polled every 25 ms until its ticket exists (p50/p95).
 * Throughput: a burst posted at once, emails/s from the first POST to the last settled email.
 * A new vendor adds an entry to TARGETS (its stand-in and its HELPDESK_CONNECTORS entry).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startApp } from '../test/helpers/app';
import { compose, getJson, postMime } from '../test/helpers/mail';
import { settled } from '../test/helpers/pipeline';
import { ROOT, unique } from '../test/helpers/stack';
import { GenericRestReceiver } from '../test/stand-ins/generic-rest-receiver';
import { FRESHDESK_API_KEY, startFreshdeskStandIn } from '../test/stand-ins/freshdesk';
import { JSM_AGENT, JSM_PROJECT_KEY, JSM_REQUEST_TYPE_ID, JSM_SERVICE_DESK_ID, startJsmStandIn } from '../test/stand-ins/jira-sm';
import { SERVICENOW_USER, startServiceNowStandIn } from '../test/stand-ins/servicenow';
import { ZendeskStandIn } from '../test/stand-ins/zendesk';

interface Target {
  /** Starts the stand-in; returns the connector's HELPDESK_CONNECTORS entry and its secret's variables. */
  start(): Promise<{ connector: Record<string, unknown>; env: Record<string, string>; stop(): Promise<void> }>;
}

const ZENDESK_TOKEN = 'bench-zendesk-token';
const REST_SECRET = 'bench-generic-rest-secret-of-32-characters';

const TARGETS: Record<string, Target | null> = {
  'built-in': null,
  zendesk: {
    async start() {
      const standIn = new ZendeskStandIn({ bearer: ZENDESK_TOKEN });
      const baseUrl = await standIn.start();
      return { connector: { kind: 'zendesk', baseUrl, auth: 'oauth', tokenEnv: 'BENCH_ZENDESK_TOKEN' }, env: { BENCH_ZENDESK_TOKEN: ZENDESK_TOKEN }, stop: () => standIn.stop() };
    },
  },
  'generic-rest': {
    async start() {
      const receiver = new GenericRestReceiver(REST_SECRET);
      const baseUrl = await receiver.start();
      return { connector: { kind: 'generic-rest', baseUrl, secretEnv: 'BENCH_REST_SECRET' }, env: { BENCH_REST_SECRET: REST_SECRET }, stop: () => receiver.stop() };
    },
  },
  'jira-sm': {
    async start() {
      const standIn = await startJsmStandIn();
      const connector = { kind: 'jira-sm', baseUrl: standIn.url, email: JSM_AGENT.email, tokenEnv: 'BENCH_JSM_TOKEN', serviceDeskId: JSM_SERVICE_DESK_ID, requestTypeId: JSM_REQUEST_TYPE_ID, projectKey: JSM_PROJECT_KEY };
      return { connector, env: { BENCH_JSM_TOKEN: JSM_AGENT.token }, stop: () => standIn.close() };
    },
  },
  freshdesk: {
    async start() {
      const standIn = await startFreshdeskStandIn();
      return { connector: { kind: 'freshdesk', baseUrl: standIn.url, apiKeyEnv: 'BENCH_FD_KEY' }, env: { BENCH_FD_KEY: FRESHDESK_API_KEY }, stop: () => standIn.close() };
    },
  },
  servicenow: {
    async start() {
      const standIn = await startServiceNowStandIn();
      return { connector: { kind: 'servicenow', baseUrl: standIn.url, user: SERVICENOW_USER.name, passwordEnv: 'BENCH_SNOW_PASSWORD' }, env: { BENCH_SNOW_PASSWORD: SERVICENOW_USER.password }, stop: () => standIn.close() };
    },
  },
};

const { values } = parseArgs({ options: { connectors: { type: 'string', default: 'built-in,zendesk,generic-rest' }, latency: { type: 'string', default: '20' }, burst: { type: 'string', default: '30' } } });
const names = values.connectors.split(',').map((n) => n.trim()).filter(Boolean);
for (const n of names) if (!(n in TARGETS)) throw new Error(`unknown connector ${n} (${Object.keys(TARGETS).join(', ')})`);
const latencyCount = Number(values.latency);
const burstCount = Number(values.burst);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const run = unique('hdbench');
  const queueOf = (name: string): string => `bench-${name}@mailgate.local`;
  const stops: (() => Promise<void>)[] = [];
  const connectors: Record<string, unknown>[] = [];
  const env: Record<string, string> = {};
  for (const name of names) {
    const target = TARGETS[name];
    if (!target) continue;
    const started = await target.start();
    stops.push(started.stop);
    connectors.push({ name: `${name}-bench`, ...started.connector });
    Object.assign(env, started.env);
  }
  const dir = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'bench', run);
  mkdirSync(dir, { recursive: true });
  const rulesFile = path.join(dir, 'rules.json');
  const queues = names.map((n) => ({ address: queueOf(n), ...(TARGETS[n] ? { helpdesk: `${n}-bench` } : {}) }));
  // A bench sends many tickets per sender domain: the new-ticket limit is per mailbox, each email has its own.
  writeFileSync(rulesFile, JSON.stringify({ queues, defaultQueue: queueOf(names[0]!) }));
  const app = await startApp({ env: { MAILGATE_RULES_FILE: rulesFile, HELPDESK_CONNECTORS: JSON.stringify(connectors), ...env } });
  let sequence = 0;
  const post = async (name: string): Promise<{ id: string; at: number }> => {
    sequence += 1;
    const raw = await compose({ from: `${run}-${sequence}@customer.example`, to: queueOf(name), subject: `bench ${name} ${sequence}`, messageId: `<${run}.${sequence}@c.example>`, text: 'Benchmark email.' });
    const at = performance.now();
    const posted = await postMime(app.url, raw);
    if (posted.status !== 202) throw new Error(`POST answered ${posted.status}`);
    return { id: posted.body.emails![0]!.workflowId, at };
  };
  const rows: string[] = [];
  try {
    for (const name of names) {
      const latencies: number[] = [];
      for (let i = 0; i < latencyCount; i++) {
        const { id, at } = await post(name);
        for (;;) {
          const view = await getJson<{ state?: { step?: string; outcome?: string } }>(`${app.url}/v1/emails/${id}`);
          if (view.body.state?.step === 'done') {
            if (view.body.state.outcome !== 'ticket_created') throw new Error(`${name}: email ${id} ended ${view.body.state.outcome}`);
            break;
          }
          if (performance.now() - at > 60_000) throw new Error(`${name}: no ticket for ${id} within 60 s`);
          await new Promise((r) => setTimeout(r, 25));
        }
        latencies.push(performance.now() - at);
      }
      const burstStarted = performance.now();
      const ids = await Promise.all(Array.from({ length: burstCount }, () => post(name)));
      await Promise.all(ids.map(({ id }) => settled(app.url, id, 180_000)));
      const seconds = (performance.now() - burstStarted) / 1000;
      latencies.sort((a, b) => a - b);
      rows.push(`| ${name} | ${latencyCount} | ${Math.round(percentile(latencies, 50))} | ${Math.round(percentile(latencies, 95))} | ${burstCount} | ${(burstCount / seconds).toFixed(1)} |`);
    }
  } finally {
    await app.stop();
    for (const stop of stops) await stop();
  }
  process.stdout.write(['| target | emails | time to ticket p50 (ms) | p95 (ms) | burst | emails/s |', '|---|---|---|---|---|---|', ...rows].join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
