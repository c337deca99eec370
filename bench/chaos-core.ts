/**
 * The chaos and duplicate suite: real worker and API processes (test/helpers/app.ts) against the
 * running infrastructure, with the failures done for real: the same email delivered three times at
 * once, the worker SIGKILLed at random moments, the Temporal dev server restarted on its database
 * file, and SeaweedFS, clamd, the SMTP server and PostgreSQL each stopped for a while mid-run.
 *
 * The client delivers like an MTA: it retries a 503 or 429 (after Retry-After, capped) and a refused
 * connection until it gets its 202. Each phase then waits until no workflow of its emails runs and
 * counts, per email: workflows, tickets (through the admin API), acknowledgements (what the SMTP
 * server received: distinct Message-IDs, and copies of one) and outcomes. Lost: an email with no
 * ticket. Doubled: more than one workflow, ticket or distinct acknowledgement for one email.
 * Redelivered: the same acknowledgement (same Message-ID) received twice, which happens when a
 * worker is killed between the SMTP server's "250" and the activity's record of the send.
 */
import { Client, Connection } from '@temporalio/client';
import MailComposer from 'nodemailer/lib/mail-composer';
import { temporalConnectionOptions } from '../src/temporal-connection';
import { startApp, type RunningApp } from '../test/helpers/app';
import { receivedMail } from '../test/helpers/maildev';
import { apiFetch } from '../test/helpers/mail';
import { config, postgresUrl, stack } from '../test/helpers/stack';

export type Service = 's3' | 'clamd' | 'smtp' | 'postgres';

export interface ChaosOptions {
  /** Emails each delivered three times concurrently. */
  duplicates: number;
  /** Emails during which the worker is SIGKILLed at random moments. */
  kills: number;
  /** Emails during which the Temporal dev server restarts. */
  temporalRestart: number;
  /** Emails per outage, and how long each service stays down. */
  outageEmails: number;
  outageSeconds: number;
  outages: Service[];
  /** Emails per second offered in each phase. */
  rate: number;
  /** How long a phase may take to settle after its last delivery. */
  settleTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface PhaseReport {
  phase: string;
  emails: number;
  deliveries: number;
  /** Answers the ingress gave, by status ('network' for a refused or reset connection). */
  answers: Record<string, number>;
  /** Answers given while the fault was in place (outage phases). */
  answersDuringFault: Record<string, number>;
  workflows: number;
  tickets: number;
  /** Distinct acknowledgements (Message-IDs) received. */
  acknowledgements: number;
  /** Extra copies of an acknowledgement already received (same Message-ID). */
  redelivered: number;
  outcomes: Record<string, number>;
  lost: number;
  doubled: number;
  faults: number;
  seconds: number;
  notes: string[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const RETRY_CAP_MS = 2_000;

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export interface Email {
  index: number;
  sender: string;
  raw: Buffer;
  workflowIds: Set<string>;
}

/** `domain`: the sender's; more than 200 acknowledgements an hour to one domain are suppressed by the default rules. */
export async function compose(phase: string, runId: string, index: number, domain = 'customer.example'): Promise<Email> {
  const sender = `chaos-${runId}-${phase}-${index}@${domain}`;
  const raw = await new MailComposer({
    from: sender,
    to: 'support@mailgate.local',
    subject: `Chaos ${phase} ${runId} #${index}`,
    messageId: `<chaos.${runId}.${phase}.${index}@customer.example>`,
    text: `Chaos suite email ${index} of phase ${phase}.`,
    // An attachment, so the scan and store steps (clamd, the object store) run for every email.
    attachments: [{ filename: `trace-${index}.txt`, content: `trace line ${index}\n`.repeat(50) }],
  })
    .compile()
    .build();
  return { index, sender, raw, workflowIds: new Set() };
}

export class Phase {
  readonly answers: Record<string, number> = {};
  readonly answersDuringFault: Record<string, number> = {};
  faultActive = false;
  deliveries = 0;
  faults = 0;
  readonly notes: string[] = [];

  constructor(
    readonly name: string,
    /** Where emails are delivered and tickets counted: one app, or a load balancer in front of several. */
    readonly app: () => Pick<RunningApp, 'url'>,
    readonly emails: Email[],
  ) {}

  /** Delivers one copy of an email, retrying like an MTA until it is accepted. */
  async deliver(email: Email, deadline: number): Promise<void> {
    this.deliveries += 1;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`${this.name}: email ${email.index} was not accepted before the deadline`);
      let status: string;
      let wait = RETRY_CAP_MS;
      try {
        const response = await apiFetch(`${this.app().url}/v1/inbound/mime`, {
          method: 'POST',
          headers: { 'content-type': 'message/rfc822' },
          body: new Uint8Array(email.raw),
          signal: AbortSignal.timeout(60_000),
        });
        status = String(response.status);
        const body = (await response.json().catch(() => ({}))) as { emails?: { workflowId: string }[] };
        if (response.status === 202) {
          for (const e of body.emails ?? []) email.workflowIds.add(e.workflowId);
        } else if (response.status === 503 || response.status === 429) {
          wait = Math.min(RETRY_CAP_MS, Number(response.headers.get('retry-after') ?? 1) * 1000);
        } else {
          throw new Error(`${this.name}: email ${email.index} refused with ${response.status}: ${JSON.stringify(body)}`);
        }
      } catch (error) {
        if ((error as Error).message.startsWith(this.name)) throw error;
        status = 'network';
      }
      bump(this.answers, status);
      if (this.faultActive) bump(this.answersDuringFault, status);
      if (status === '202') return;
      await sleep(wait);
    }
  }

  /** Offers the emails at `rate` per second, each `copies` times at once. */
  async offer(rate: number, copies = 1, deadline = Date.now() + 30 * 60_000): Promise<void> {
    const t0 = Date.now();
    await Promise.all(
      this.emails.map(async (email, i) => {
        await sleep(Math.max(0, t0 + (i * 1000) / rate - Date.now()));
        await Promise.all(Array.from({ length: copies }, () => this.deliver(email, deadline)));
      }),
    );
  }
}

export async function settle(client: Client, emails: Email[], timeoutMs: number): Promise<void> {
  const ids = emails.flatMap((e) => [...e.workflowIds]);
  const deadline = Date.now() + timeoutMs;
  let open = ids;
  while (open.length > 0) {
    if (Date.now() > deadline) throw new Error(`${open.length} workflows still running after ${timeoutMs} ms`);
    const still: string[] = [];
    for (let i = 0; i < open.length; i += 50) {
      const batch = open.slice(i, i + 50);
      const statuses = await Promise.all(
        batch.map(async (id) => (await client.workflow.getHandle(id).describe()).status.name),
      );
      batch.forEach((id, j) => {
        if (statuses[j] === 'RUNNING') still.push(id);
      });
    }
    open = still;
    if (open.length > 0) await sleep(1_000);
  }
}

export async function count(phase: Phase, client: Client, started: number): Promise<PhaseReport> {
  const { emails } = phase;
  const outcomes: Record<string, number> = {};
  let tickets = 0;
  let lost = 0;
  let doubled = 0;
  const acksBySender = new Map<string, Map<string, number>>();
  for (const mail of await receivedMail()) {
    for (const to of mail.to) {
      const byId = acksBySender.get(to.address.toLowerCase()) ?? new Map<string, number>();
      byId.set(mail.messageId, (byId.get(mail.messageId) ?? 0) + 1);
      acksBySender.set(to.address.toLowerCase(), byId);
    }
  }
  let acknowledgements = 0;
  let redelivered = 0;
  for (let i = 0; i < emails.length; i += 16) {
    await Promise.all(
      emails.slice(i, i + 16).map(async (email) => {
        for (const id of email.workflowIds) {
          const result = (await client.workflow.getHandle(id).result().catch(() => null)) as { outcome?: string } | null;
          bump(outcomes, result?.outcome ?? 'failed');
        }
        const response = await apiFetch(`${phase.app().url}/v1/tickets?requester=${encodeURIComponent(email.sender)}`);
        const page = (await response.json()) as { tickets?: unknown[] };
        if (!response.ok || !page.tickets) throw new Error(`ticket query for ${email.sender} answered ${response.status}: ${JSON.stringify(page)}`);
        const received = acksBySender.get(email.sender) ?? new Map<string, number>();
        const acks = received.size;
        for (const copies of received.values()) redelivered += copies - 1;
        tickets += page.tickets.length;
        acknowledgements += acks;
        if (page.tickets.length === 0 || email.workflowIds.size === 0) lost += 1;
        if (page.tickets.length > 1 || acks > 1 || email.workflowIds.size > 1) doubled += 1;
        if (acks === 0 && page.tickets.length === 1) phase.notes.push(`email ${email.index}: ticket without acknowledgement`);
      }),
    );
  }
  return {
    phase: phase.name,
    emails: emails.length,
    deliveries: phase.deliveries,
    answers: phase.answers,
    answersDuringFault: phase.answersDuringFault,
    workflows: emails.reduce((n, e) => n + e.workflowIds.size, 0),
    tickets,
    acknowledgements,
    redelivered,
    outcomes,
    lost,
    doubled,
    faults: phase.faults,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    notes: phase.notes.slice(0, 10),
  };
}

export interface ChaosResult {
  phases: PhaseReport[];
  /** Where the suite's worker and API processes wrote their logs. */
  logDir: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? (() => undefined);
  const settleMs = options.settleTimeoutMs ?? 20 * 60_000;
  const runId = Date.now().toString(36);
  // PostgreSQL holds the tickets, so that its outage is a real one.
  const databaseUrl = postgresUrl();
  // One source delivers everything here, as one relay would: the per-source limit is set above the
  // suite's own rate, so that the limit is not what is counted.
  const app = await startApp({ databaseUrl, env: { INGRESS_RATE_PER_MINUTE: '100000', INGRESS_RATE_BURST: '100000' } });
  const connect = (): Promise<Client> =>
    Connection.connect(temporalConnectionOptions(config.temporal)).then((connection) => new Client({ connection, namespace: config.temporal.namespace }));
  let client = await connect();
  const reports: PhaseReport[] = [];
  const build = async (name: string, n: number): Promise<Phase> => {
    const emails: Email[] = [];
    for (let i = 0; i < n; i++) emails.push(await compose(name, runId, i));
    return new Phase(name, () => app, emails);
  };
  const finish = async (phase: Phase, started: number): Promise<void> => {
    await settle(client, phase.emails, settleMs);
    const report = await count(phase, client, started);
    reports.push(report);
    log(formatReport(report));
  };

  try {
    if (options.duplicates > 0) {
      const phase = await build('duplicates', options.duplicates);
      const started = Date.now();
      log(`duplicates: ${options.duplicates} emails, each delivered 3 times at once, ${options.rate}/s`);
      await phase.offer(options.rate, 3);
      await finish(phase, started);
    }

    if (options.kills > 0) {
      const phase = await build('worker-kill', options.kills);
      const started = Date.now();
      log(`worker-kill: ${options.kills} emails at ${options.rate}/s, the worker SIGKILLed every 2-8 s and restarted`);
      let offering = true;
      const offered = phase.offer(options.rate).finally(() => (offering = false));
      // Kill while emails arrive, and keep killing while the backlog drains, until every email
      // has been delivered and a last kill has happened after it.
      const killer = (async () => {
        while (offering || phase.faults < 2) {
          await sleep(2_000 + Math.random() * 6_000);
          await app.killWorker('SIGKILL');
          phase.faults += 1;
          await app.startWorker();
        }
      })();
      await Promise.all([offered, killer]);
      await finish(phase, started);
    }

    if (options.temporalRestart > 0) {
      const phase = await build('temporal-restart', options.temporalRestart);
      const started = Date.now();
      log(`temporal-restart: ${options.temporalRestart} emails at ${options.rate}/s, the Temporal dev server restarted mid-run`);
      const offered = phase.offer(options.rate);
      await sleep((options.temporalRestart / options.rate) * 400);
      phase.faultActive = true;
      await stack('down', 'temporal');
      phase.faults += 1;
      await sleep(2_000);
      await stack('up', 'temporal');
      phase.faultActive = false;
      await offered;
      await client.connection.close().catch(() => undefined);
      client = await connect();
      await finish(phase, started);
    }

    for (const service of options.outages) {
      if (options.outageEmails <= 0) break;
      const phase = await build(`${service}-outage`, options.outageEmails);
      const started = Date.now();
      // The emails arrive over the outage and half as long again: a fifth of them before the service
      // stops, most while it is down, the rest after it is back.
      const rate = Math.min(options.rate, options.outageEmails / (options.outageSeconds * 1.5));
      log(`${service}-outage: ${options.outageEmails} emails at ${rate.toFixed(1)}/s, ${service} stopped for ${options.outageSeconds} s mid-run`);
      const offered = phase.offer(rate);
      await sleep((options.outageEmails / rate) * 200);
      await stack('down', service);
      phase.faultActive = true;
      phase.faults += 1;
      await sleep(options.outageSeconds * 1000);
      phase.faultActive = false;
      await stack('up', service);
      await offered;
      await finish(phase, started);
    }
  } finally {
    await app.stop();
    await client.connection.close().catch(() => undefined);
  }
  return { phases: reports, logDir: app.logDir };
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}×${v}`).join(' ');
}

export function formatReport(r: PhaseReport): string {
  return (
    `${r.phase.padEnd(17)} emails ${String(r.emails).padStart(5)}  deliveries ${String(r.deliveries).padStart(5)}  ` +
    `workflows ${String(r.workflows).padStart(5)}  tickets ${String(r.tickets).padStart(5)}  acks ${String(r.acknowledgements).padStart(5)}  ` +
    `redelivered ${r.redelivered}  ` +
    `lost ${r.lost}  doubled ${r.doubled}  faults ${r.faults}  ${r.seconds} s\n` +
    `${''.padEnd(17)} answers: ${formatCounts(r.answers)}; during the fault: ${formatCounts(r.answersDuringFault)}; outcomes: ${formatCounts(r.outcomes)}` +
    (r.notes.length > 0 ? `\n${''.padEnd(17)} notes: ${r.notes.join('; ')}` : '')
  );
}
