/**
 * Ingress benchmark per kind, in one run on this machine: raw MIME over HTTP, the IMAP poller (a
 * real Dovecot, test/helpers/dovecot.ts) and the Mailgun event poller (the stateful stand-in,
 * test/helpers/mailgun-stand-in.ts), all into one freshly started worker and API on the running
 * stack (`scripts/stack up infra`). For each kind:
 *   accept latency  one message at a time, from the moment it is available to its source (POST sent,
 *                   APPEND done, event stored) until the accept path took it (202; the poller's
 *                   cursor in the ledger passed it, which for IMAP includes flagging it \Seen)
 *   emails/s        a backlog of --count messages made available at once, until the last is taken
 * Between kinds the pipeline is left to drain (every ticket made), so one kind's downstream work does
 * not slow the next. Pollers: IMAP batches of 100 with IDLE; Mailgun settle time 0 and an interval of
 * 1-2 s (its latency is mostly that interval; in production settleSeconds adds half an hour).
 *   scripts/with-env node dist/bench/ingress-polling.js [--count 200] [--samples 10]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import { startApp, type RunningApp } from '../test/helpers/app';
import { customerEmail, startDovecot } from '../test/helpers/dovecot';
import { postMime } from '../test/helpers/mail';
import { startMailgunStandIn } from '../test/helpers/mailgun-stand-in';

const { values } = parseArgs({ options: { count: { type: 'string', default: '200' }, samples: { type: 'string', default: '10' } } });
const count = Number(values.count);
const samples = Number(values.samples);
const run = `bench${Date.now().toString(36)}`;
let sequence = 0;

function percentile(list: number[], q: number): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

async function until(what: string, check: () => boolean, timeoutMs = 15 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function main(): Promise<void> {
  return bench();
}

async function bench(): Promise<void> {
  const dovecot = await startDovecot();
  const mailgun = await startMailgunStandIn();
  const file = path.join(dovecot.dir, 'pollers-bench.json');
  writeFileSync(
    file,
    JSON.stringify({
      imap: [{ name: `${run}-imap`, host: '127.0.0.1', port: dovecot.port, secure: false, user: dovecot.user, password: { env: 'BENCH_IMAP_PASSWORD' }, recipient: 'support@mailgate.local', batchSize: 100, idleSeconds: 600 }],
      mailgun: [{ name: `${run}-mg`, baseUrl: mailgun.baseUrl, domain: mailgun.domain, apiKey: { env: 'BENCH_MAILGUN_KEY' }, pageSize: 100, settleSeconds: 0, lookbackSeconds: 60, minIntervalSeconds: 1, maxIntervalSeconds: 2 }],
    }),
  );
  let app: RunningApp | undefined;
  try {
    app = await startApp({
      env: { MAILGATE_POLLERS_FILE: file, BENCH_IMAP_PASSWORD: dovecot.password, BENCH_MAILGUN_KEY: mailgun.apiKey, INGRESS_RATE_PER_MINUTE: '1000000', INGRESS_RATE_BURST: '1000000' },
    });
    const db = new DatabaseSync(app.env.DATABASE_URL!.replace(/^sqlite:/, ''), { readOnly: true, timeout: 5_000 });
    const imapUid = (): number => Number(db.prepare('SELECT last_uid FROM mailbox_cursors WHERE account = ?').get(`${run}-imap`)?.['last_uid'] ?? 0);
    const mailgunSince = (): number => Number(db.prepare('SELECT since FROM since_cursors WHERE source = ?').get(`${run}-mg`)?.['since'] ?? 0);
    const tickets = (): number => Number(db.prepare('SELECT COUNT(*) AS n FROM tickets WHERE requester LIKE ?').get(`${run}-%`)?.['n'] ?? 0);
    const next = (): string => customerEmail(run, sequence++);
    const drain = () => until('the pipeline to drain', () => tickets() >= sequence, 30 * 60_000);
    // Both pollers have started and settled into their idle wait.
    await until('the pollers to start', () => mailgunSince() > 0);

    const kinds: { kind: string; one: () => Promise<number>; backlog: (n: number) => Promise<number> }[] = [
      {
        kind: 'HTTP (raw MIME)',
        one: async () => {
          const raw = next();
          const t = performance.now();
          const answer = await postMime(app!.url, raw);
          if (answer.status !== 202) throw new Error(`HTTP answered ${answer.status}`);
          return performance.now() - t;
        },
        backlog: async (n) => {
          const raws = Array.from({ length: n }, next);
          const t = performance.now();
          let i = 0;
          // Eight senders at once, as an MTA's queue runner or a provider's webhook fan-out would.
          await Promise.all(Array.from({ length: 8 }, async () => {
            while (i < raws.length) {
              const answer = await postMime(app!.url, raws[i++]!);
              if (answer.status !== 202) throw new Error(`HTTP answered ${answer.status}`);
            }
          }));
          return performance.now() - t;
        },
      },
      {
        kind: 'IMAP (Dovecot, IDLE)',
        one: async () => {
          const [uid] = await dovecot.append('INBOX', [next()]);
          const t = performance.now();
          await until('the IMAP cursor', () => imapUid() >= uid!);
          return performance.now() - t;
        },
        backlog: async (n) => {
          const uids = await dovecot.append('INBOX', Array.from({ length: n }, next));
          const t = performance.now();
          await until('the IMAP backlog', () => imapUid() >= uids[uids.length - 1]!);
          return performance.now() - t;
        },
      },
      {
        kind: 'Mailgun events (stand-in)',
        one: async () => {
          const at = Date.now() / 1000;
          mailgun.store([{ raw: next(), recipient: 'support@mailgate.local', sender: 'bench@customer.example', timestamp: at }]);
          const t = performance.now();
          await until('the Mailgun cursor', () => mailgunSince() >= Number(at.toFixed(6)));
          return performance.now() - t;
        },
        backlog: async (n) => {
          // Distinct, already settled timestamps in order: the cursor passes the last one last.
          const at = Date.now() / 1000 - 1;
          mailgun.store(Array.from({ length: n }, (_, i) => ({ raw: next(), recipient: 'support@mailgate.local', sender: 'bench@customer.example', timestamp: at + i / 1000 })));
          const t = performance.now();
          await until('the Mailgun backlog', () => mailgunSince() >= Number((at + (n - 1) / 1000).toFixed(6)));
          return performance.now() - t;
        },
      },
    ];

    const rows: string[] = [];
    for (const k of kinds) {
      const latencies: number[] = [];
      for (let s = 0; s < samples; s++) latencies.push(await k.one());
      await drain();
      const elapsed = await k.backlog(count);
      await drain();
      rows.push(
        `${k.kind.padEnd(28)} accept latency p50 ${percentile(latencies, 0.5).toFixed(0).padStart(6)} ms  p95 ${percentile(latencies, 0.95).toFixed(0).padStart(6)} ms   ` +
          `backlog of ${count}: ${(count / (elapsed / 1000)).toFixed(1).padStart(6)} emails/s (${(elapsed / 1000).toFixed(1)} s)`,
      );
    }
    db.close();
    process.stdout.write(`ingress per kind, one worker and API on this machine (${new Date().toISOString()}, ${samples} latency samples, backlog ${count}):\n${rows.join('\n')}\n`);
  } finally {
    await app?.stop();
    await mailgun.close();
    await dovecot.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
