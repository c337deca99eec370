/**
 * The worker process: connects to Temporal, builds the activities from real adapters and runs the
 * inbound-email workflows. Stops on SIGTERM/SIGINT after in-flight activities finish (grace period).
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker, type LogLevel as SdkLogLevel, type LogMetadata } from '@temporalio/worker';
import { createClamdScanner } from './adapters/clamd';
import { missingSecrets } from './adapters/notifiers';
import { checkScannerReportsEarlyStops, ScannerMisconfiguredError } from './adapters/clamd-self-check';
import { inFlightUnknown, temporalInFlightEmails } from './adapters/in-flight-emails';
import type { InFlightEmails } from './activities/retention';
import { createSmtpMailer } from './adapters/mailer';
import { buildConnectors, vendorConnectors } from './adapters/helpdesks/registry';
import { ensureCanarySchedules } from './canary-schedule';
import { RoutingHelpdesk } from './adapters/helpdesks/routing-helpdesk';
import { createS3ObjectStore, type ObjectStore } from './adapters/object-store';
import { signedAttachmentLink } from './api/attachment-links';
import type { Helpdesk } from './ports/helpdesk';
import { openTicketStore } from './adapters/ticket-store';
import type { TicketStore } from './adapters/ticket-store/types';
import { createActivities, type ActivityDeps } from './activities';
import { acceptEmailSettings, createAcceptEmail } from './ingress/accept-email';
import { startPollers } from './ingress/pollers/start-pollers';
import { describeConfig, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { connectorMetrics, metrics, servedRegistry } from './metrics';
import { ensureRetentionSchedule } from './retention-schedule';
import { reloadRulesOnSighup } from './rules-reload';
import { temporalConnectionOptions } from './temporal-connection';
import { workerDeploymentOptions } from './worker-versioning';
import { startMetricsServer, temporalMetricsAddress, temporalMetricsBindError, type HealthReport } from './worker-metrics';

export interface WorkerOptions {
  config: Config;
  /** Overrides the configured task queue (tests run one queue per suite). */
  taskQueue?: string;
}

/**
 * The activities' dependencies: the production adapters, built from the configuration. Without
 * `inFlight` (a Temporal client's view of unfinished emails) the retention sweep refuses to run.
 */
export function activityDeps(config: Config, tickets: TicketStore, inFlight: InFlightEmails = inFlightUnknown): ActivityDeps {
  const store = createS3ObjectStore(config.s3);
  return {
    store,
    scanner: createClamdScanner(config.clamd),
    // The built-in store is the ledger, and the helpdesk of every queue that names no connector.
    helpdesk: ticketHelpdesk(config, tickets, store),
    ledger: tickets,
    mailer: createSmtpMailer(config.smtp),
    limits: config.limits,
    ackFrom: config.ackFrom,
    rules: config.rules,
    signingKey: config.signingKey,
    inboundDomains: config.inboundDomains,
    trustedAuthservIds: config.trustedAuthservIds,
    unscannableAttachments: config.unscannableAttachments,
    agentAddresses: config.trust.agentAddresses,
    strangerReply: config.trust.strangerReply,
    undeliverableMarkDays: config.trust.undeliverableMarkDays,
    retention: tickets,
    inFlight,
    retentionPolicy: config.retention.policy,
    retentionBatchSize: config.retention.batchSize,
    notifyEnv: process.env,
    publicUrl: config.api.publicUrl,

    canaries: new Map(
      [...vendorConnectors(config.helpdesks)].map(([name, connector]) => [name, { connector, requester: config.helpdesks.find((h) => h.name === name)!.canary.requester }]),
    ),
  };
}

/**
 * The helpdesk the ticket activities use: the built-in store alone, or, with connectors configured,
 * the router that sends each queue's tickets to its connector (src/adapters/helpdesks/).
 */
export function ticketHelpdesk(config: Config, tickets: TicketStore, store: ObjectStore): Helpdesk {
  if (config.helpdesks.length === 0) return tickets;
  const connectors = buildConnectors(config.helpdesks, {
    record: tickets,
    ledger: tickets,
    readFile: (key) => store.getBuffer(key),
    linkFor: (id) => signedAttachmentLink(config.api.publicUrl, config.attachmentLinks, id),
    metrics: connectorMetrics,
  });
  for (const name of connectors.keys()) connectorMetrics.prime(name);
  return new RoutingHelpdesk(tickets, connectors, config.rules, tickets);
}

export interface MailgateWorker {
  worker: Worker;
  /** Whether the worker polls its task queue and Temporal answers now (GET /healthz). */
  health: () => Promise<HealthReport>;
  close: () => Promise<void>;
}

const HEALTH_DEADLINE_MS = 3_000;

export async function createMailgateWorker({ config, taskQueue }: WorkerOptions): Promise<MailgateWorker> {
  const tickets = openTicketStore(config.databaseUrl);
  await tickets.migrate();
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const clientConnection = await Connection.connect(temporalConnectionOptions(config.temporal));
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const queue = taskQueue ?? config.temporal.taskQueue;
  const log = createLogger({ process: 'worker' });
  await ensureRetentionSchedule({ client, taskQueue: queue, intervalMinutes: config.retention.intervalMinutes, log });
  // The variable's name only, never its value: its notifications would park with RemoteCredentials.
  for (const variable of missingSecrets(config.rules.notifications.targets, process.env)) {
    log.warn('a notification target\'s secret variable is not set', { variable });
  }
  await ensureCanarySchedules({ client, taskQueue: queue, connectors: config.helpdesks, log });
  const deps = activityDeps(config, tickets, temporalInFlightEmails(client));
  // The pollers feed the one accept path, built per message like the HTTP ingress's (a rules reload
  // applies from the next message on).
  deps.pollers = {
    settings: config.pollers,
    acceptEmail: (raw, envelope, source, options) =>
      createAcceptEmail({ ...acceptEmailSettings(config), taskQueue: queue, store: deps.store, temporal: client, clashes: tickets, log })(raw, envelope, source, options),
  };
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: queue,
    workflowsPath: require.resolve('./workflows'),
    activities: createActivities(deps),
    // Two cores: clamd and the object store, not the worker, bound how many scans help at once.
    maxConcurrentActivityTaskExecutions: 20,
    // Bounded by configuration, not by the heap (the SDK's default is about 600 runs per GB of heap).
    maxCachedWorkflows: config.workerMaxCachedWorkflows,
    shutdownGraceTime: '30 seconds',
    workerDeploymentOptions: workerDeploymentOptions(config.workerVersioning),
  });
  await startPollers({ client, taskQueue: queue, settings: config.pollers, log });
  // The SDK retries a lost connection by itself and stays RUNNING meanwhile: ask the frontend.
  const health = async (): Promise<HealthReport> => {
    const state = worker.getState();
    if (state !== 'RUNNING') return { ok: false, status: state.toLowerCase(), taskQueue: queue };
    try {
      await clientConnection.withDeadline(Date.now() + HEALTH_DEADLINE_MS, () => clientConnection.workflowService.getSystemInfo({}));
      return { ok: true, status: 'running', taskQueue: queue, temporal: 'ok' };
    } catch (error) {
      return { ok: false, status: 'disconnected', taskQueue: queue, temporal: `down: ${error instanceof Error ? error.message : String(error)}` };
    }
  };
  return {
    worker,
    health,
    close: async () => {
      await connection.close();
      await clientConnection.close();
      await tickets.close();
    },
  };
}

// The task token completes an activity from outside: a credential, never logged, in whichever
// spelling (the TypeScript SDK's taskToken, the core's task_token) and whether field or text.
const TASK_TOKEN_FIELD = /^task_?token$/i;
const TASK_TOKEN_TEXT = /(task_?token\W{1,3})[A-Za-z0-9+/=_-]{8,}/gi;

export function withoutTaskTokens(text: string): string {
  return text.replace(TASK_TOKEN_TEXT, '$1[redacted]');
}

export function withoutTaskTokenFields(meta: LogMetadata): LogMetadata {
  const out: LogMetadata = {};
  for (const [key, value] of Object.entries(meta)) {
    if (TASK_TOKEN_FIELD.test(key)) continue;
    out[key] = typeof value === 'string' ? withoutTaskTokens(value) : value;
  }
  return out;
}

/** Installs the SDK runtime (before any connection): SDK logs into ours, core metrics on `metricsAddress`. */
function installRuntime(log: Logger, metricsAddress: string): void {
  const levels: Record<SdkLogLevel, 'debug' | 'info' | 'warn' | 'error'> = {
    TRACE: 'debug',
    DEBUG: 'debug',
    INFO: 'info',
    WARN: 'warn',
    ERROR: 'error',
  };
  try {
    Runtime.install({
      logger: new DefaultLogger('INFO', (entry) => {
        const level = levels[entry.level];
        if (level === 'debug') return;
        log[level](withoutTaskTokens(entry.message), withoutTaskTokenFields((entry.meta ?? {}) as LogMetadata));
      }),
      telemetryOptions: {
        // The SDK core's own lines (connection retries, heartbeat failures) come through the logger
        // above as JSON too, instead of plain text on stderr.
        logging: { filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }), forward: {} },
        // Names stay the documented temporal_* ones (no unit or _total suffix); durations in seconds
        // like every other histogram we scrape (core then uses its seconds buckets).
        metrics: { prometheus: { bindAddress: metricsAddress, useSecondsForDurations: true } },
      },
    });
  } catch (error) {
    throw temporalMetricsBindError(error, 'TEMPORAL_METRICS_PORT', metricsAddress);
  }
}

/**
 * A clamd that answers OK for files it stopped reading would let them be linked as clean: the
 * worker refuses to start against one. An unreachable clamd does not stop the start (it is a
 * transient state the scan activity retries through, and /readyz reports it).
 */
async function selfCheckScanner(config: Config, log: Logger): Promise<void> {
  try {
    await checkScannerReportsEarlyStops(createClamdScanner(config.clamd));
    log.info('scanner self-check passed: clamd reports early stops');
  } catch (error) {
    if (error instanceof ScannerMisconfiguredError) throw error;
    log.warn('scanner self-check skipped: clamd did not answer', { error: error instanceof Error ? error.message : String(error) });
  }
}

async function main(): Promise<void> {
  const log = createLogger({ process: 'worker' });
  const config = loadConfig();
  // The activities read config.rules: a reload replaces them in place (src/rules-reload.ts).
  reloadRulesOnSighup({ rules: config.rules, file: config.rulesFile, log });
  const { host } = config.workerMetrics;
  const temporalMetrics = await temporalMetricsAddress({ host, port: config.workerMetrics.temporalPort, variable: 'TEMPORAL_METRICS_PORT' });
  installRuntime(log, temporalMetrics);
  log.info('temporal metrics listening', { url: `http://${temporalMetrics}/metrics` });
  metrics.prime(config.rules.queues.map((q) => q.address));
  // Until the worker exists (migrations, the scanner check, connecting), /healthz says "starting".
  let health = (): Promise<HealthReport> => Promise.resolve({ ok: false, status: 'starting' });
  const metricsServer = await startMetricsServer({
    host,
    port: config.workerMetrics.port,
    registry: servedRegistry('worker'),
    variable: 'WORKER_METRICS_PORT',
    health: () => health(),
  });
  log.info('worker metrics listening', { url: metricsServer.url, health: metricsServer.url.replace(/\/metrics$/, '/healthz') });
  try {
    log.info('starting worker', { config: describeConfig(config) });
    await selfCheckScanner(config, log);
    const mailgate = await createMailgateWorker({ config });
    const { worker, close } = mailgate;
    health = mailgate.health;
    log.info('worker running', { taskQueue: config.temporal.taskQueue, version: config.workerVersioning ? `${config.workerVersioning.deploymentName}.${config.workerVersioning.buildId}` : 'unversioned' });
    try {
      await worker.run();
    } finally {
      await close();
      log.info('worker stopped');
    }
  } finally {
    await metricsServer.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    createLogger({ process: 'worker' }).error('worker failed', { error });
    process.exit(1);
  });
}
