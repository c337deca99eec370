/**
 * Typed configuration, parsed once from the environment at start-up. A bad value fails fast with the
 * variable's name; secrets never appear in errors or logs (see `describeConfig`).
 */
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import { isAddress } from './domain/addresses';
import { isAuthservId } from './domain/auth-results';
import { DEFAULT_LIMITS, type Limits } from './domain/limits';
import { UNSCANNABLE_POLICIES, type UnscannablePolicy } from './domain/vocabulary';
import { describePeriod, parseRetentionPeriod, type RetentionKind, type RetentionPeriod, type RetentionPolicy } from './domain/retention';
import { PemFileError, readCertificates, readPrivateKey, readTextFile } from './pem-files';
import { BUILT_IN, ConnectorSettingsError, describeConnectors, parseConnectors, type ConnectorSettings } from './adapters/helpdesks/settings';
import { loadRules, RulesError, unknownHelpdesks, type Rules } from './rules';
import { parseWebUsers, WebUsersError, type WebUser } from './domain/web-users';
import { loadPollerSettings, NO_POLLERS, PollerSettingsError, type PollerSettings } from './ingress/pollers/settings';

/** TLS to the Temporal frontend. PEM contents are read and checked at start-up, never logged. */
export interface TemporalTls {
  /** CA certificates the server's certificate must chain to; undefined = the system's roots (Temporal Cloud). */
  serverCa: Buffer | undefined;
  /** Name checked in the server's certificate (and sent as SNI) when it differs from the address's host. */
  serverName: string | undefined;
  /** Mutual TLS: this client's certificate chain and its private key. */
  client: { cert: Buffer; key: Buffer } | undefined;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  taskQueue: string;
  uiPort: number;
  /** undefined = plaintext, as the local dev server speaks. */
  tls: TemporalTls | undefined;
  /** Temporal Cloud API key, sent as `authorization: Bearer …`; only ever over TLS. */
  apiKey: string | undefined;
}

export interface Config {
  temporal: TemporalConfig;
  s3: {
    endpoint: string | undefined;
    /** Endpoint in presigned URLs when browsers reach the store by another name (containers). */
    publicEndpoint: string | undefined;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
  };
  clamd: { host: string; port: number; timeoutMs: number };
  /** `sqlite:<path>` for the embedded store, `postgres://…` for PostgreSQL. */
  databaseUrl: string;
  smtp: { host: string; port: number; secure: boolean; user: string | undefined; password: string | undefined };
  ackFrom: string;
  /** requestTimeoutSeconds: a client must send its whole request within this (slow senders, slowloris). */
  api: { host: string; port: number; publicUrl: string; requestTimeoutSeconds: number; shutdownGraceSeconds: number };
  inboundDomains: string[];
  /**
   * authserv-ids of our own receiving servers: only their Authentication-Results are believed
   * (RFC 8601 §5). Empty (the default) = none is, and no sender counts as authenticated.
   */
  trustedAuthservIds: string[];
  /** Issue 12: who may write to a ticket, and how long a hard bounce silences an address. */
  trust: {
    /** A reply from someone not taking part in the ticket: a linked new ticket or an internal note (STRANGER_REPLY). */
    strangerReply: 'new_ticket' | 'internal_note';
    /** Agents take part in every ticket: addresses and `@domain` entries (AGENT_ADDRESSES). */
    agentAddresses: string[];
    /** Days an undeliverable mark suppresses acknowledgements (UNDELIVERABLE_MARK_DAYS). */
    undeliverableMarkDays: number;
  };
  /** Recipient that accepts mail for any address of an inbound domain; undefined = refuse unknown. */
  catchAll: string | undefined;
  limits: Limits;
  /** Lifetime of presigned attachment URLs handed out by the API redirect. */
  attachmentUrlTtlSeconds: number;
  /** Signed attachment links on tickets: HMAC key (never logged) and lifetime (ATTACHMENT_LINK_*). */
  attachmentLinks: { secret: string; ttlSeconds: number };
  /** The rules file, read again on SIGHUP (MAILGATE_RULES_FILE). */
  rulesFile: string | undefined;
  /** Named helpdesk connectors a queue may deliver into (HELPDESK_CONNECTORS); secrets resolved, never logged. */
  helpdesks: ConnectorSettings[];
  /**
   * An attachment the virus scanner could not read whole (a limit, encryption): kept under
   * quarantine/ for an operator, or deleted. Never linked either way (UNSCANNABLE_ATTACHMENTS).
   */
  unscannableAttachments: UnscannablePolicy;
  /** IMAP mailboxes and provider event APIs the worker pulls mail from (MAILGATE_POLLERS_FILE). */
  pollers: PollerSettings;
  /** Routing, threading policy, loop breakers and priority (MAILGATE_RULES_FILE). */
  rules: Rules;
  /** Key for the HMAC in Mailgate's own Message-IDs (never logged). */
  signingKey: string;
  ingress: {
    /** Shared secrets for request signatures; several at once during rotation (never logged). */
    secrets: string[];
    maxSkewSeconds: number;
    /** Requests a minute per source address. */
    ratePerMinute: number;
    /** Requests a source may send at once (its bucket's size; a new source starts with this many). */
    rateBurst: number;
  };
  /** Provider webhooks (README "Provider webhooks"); a provider without a secret is off (404). */
  providers: ProvidersConfig;
  /** Bearer token for everything under /v1 except the ingress (never logged). */
  adminToken: string;
  /**
   * The worker's Prometheus endpoints: its own registry and the Temporal SDK's runtime metrics, on
   * one host. Port 0 = an ephemeral port, logged at start (tests run several workers at once).
   */
  workerMetrics: { host: string; port: number; temporalPort: number };
  /**
   * Workflow runs a worker keeps in memory between their tasks (WORKER_MAX_CACHED_WORKFLOWS): the
   * bound on its workflow cache, about 1 MB each at most. A run pushed out (a parked email, an
   * email waiting for its parent) is replayed from its history when it next has work.
   */
  workerMaxCachedWorkflows: number;
  /**
   * Worker deployment versioning (WORKER_DEPLOYMENT_NAME, WORKER_BUILD_ID): undefined = off, as the
   * dev server path runs. On, each email stays on the build that started it (README "Running on Kubernetes").
   */
  workerVersioning: WorkerVersioning | undefined;
  /** How long each kind of stored data is kept, and how often the retention sweep runs. */
  retention: RetentionConfig;
  /** Mailgate's own MX (src/smtp.ts, README "Mail in over SMTP"). */
  smtpIngress: SmtpIngressConfig;
  /** The web view for agents and operators (WEB_*). */
  web: WebConfig;
}

/** The behaviours a workflow type may declare; the worker's default covers types that declare none. */
export const VERSIONING_BEHAVIORS = ['pinned', 'auto-upgrade'] as const;

export interface WorkerVersioning {
  deploymentName: string;
  buildId: string;
  defaultBehavior: (typeof VERSIONING_BEHAVIORS)[number];
}

/**
 * What a DMARC failure leads to at our MX: recorded in Authentication-Results only, tagged with a
 * header, held for an operator when the domain publishes p=quarantine or p=reject, or refused (550)
 * when it publishes p=reject (src/ingress/smtp/listener.ts).
 */
export const DMARC_ACTIONS = ['record', 'tag', 'quarantine', 'reject'] as const;
export type DmarcAction = (typeof DMARC_ACTIONS)[number];

export interface SmtpIngressConfig {
  host: string;
  /** 0 = an ephemeral port, logged at start. */
  port: number;
  /** The name in the greeting, EHLO answer and Received header. */
  hostname: string;
  /** The authserv-id of the Authentication-Results it stamps: always one of trustedAuthservIds. */
  authservId: string;
  /** STARTTLS certificate and key (PEM); undefined = STARTTLS is not offered. */
  tls: { cert: Buffer; key: Buffer } | undefined;
  /** AUTH for trusted relays (only after STARTTLS); undefined = AUTH is not offered (never logged). */
  auth: { user: string; password: string } | undefined;
  /** Load balancers whose PROXY protocol header (v1) names the real client; empty = none. */
  proxyFrom: string[];
  maxRecipients: number;
  maxClients: number;
  /** Per client address: new connections and messages a minute. */
  connectionsPerMinute: number;
  messagesPerMinute: number;
  /** Idle time before a client that says nothing (or stalls mid-DATA) is disconnected. */
  socketTimeoutSeconds: number;
  dmarcAction: DmarcAction;
  /** Its Prometheus endpoint (/metrics); 0 = an ephemeral port. */
  metricsPort: number;
}

/** Every secret here is never logged; an empty list turns its provider's route off. */
export interface ProvidersConfig {
  /** Mailgun webhook signing keys, any of which signs (MAILGUN_SIGNING_KEYS). */
  mailgun: { signingKeys: string[] };
  /**
   * SendGrid Inbound Parse: `user:password` pairs from the URL (SENDGRID_BASIC_AUTH) and/or the
   * security policy's ECDSA public keys, base64 DER (SENDGRID_VERIFICATION_KEYS). Both set: both checked.
   */
  sendgrid: { basicAuth: string[]; verificationKeys: string[] };
  /** Postmark inbound: `user:password` pairs from the webhook URL (POSTMARK_BASIC_AUTH). */
  postmark: { basicAuth: string[] };
  /**
   * Amazon SES through SNS: topics whose notifications are taken (SES_TOPIC_ARNS), and the hosts
   * a signing certificate may come from (SNS_CERT_HOSTS; unset: sns.<region>.amazonaws.com only).
   * Large emails are read from the S3 action's bucket with the S3_* credentials unless SES_S3_* are set.
   */
  ses: { topicArns: string[]; certHosts: string[] | undefined; s3: Config['s3'] };
  /** Generic parsed JSON: HMAC secrets, signed like /v1/inbound/mime (INBOUND_JSON_SECRETS). */
  json: { secrets: string[] };
}

/** The web view for agents and operators (src/api/web/). */
export interface WebConfig {
  /** Local users (WEB_USERS_FILE); empty = nobody signs in with a password. */
  users: WebUser[];
  /** A session ends this long after sign-in (WEB_SESSION_HOURS). */
  sessionHours: number;
  /** Cookies marked Secure (WEB_SECURE_COOKIES; default: API_PUBLIC_URL is https). */
  secureCookies: boolean;
  /**
   * Reverse-proxy single sign-on: the header the proxy sets to the signed-in user's name
   * (WEB_AUTH_HEADER). Only safe when nothing but the proxy reaches the API.
   */
  authHeader: string | undefined;
  /** The role of a user the proxy names who is not in WEB_USERS_FILE (WEB_AUTH_HEADER_ROLE). */
  authHeaderRole: 'agent' | 'operator';
  /** Where operators open an email's workflow (TEMPORAL_UI_URL; default the dev server's UI port). */
  temporalUiUrl: string;
  /** The worker's Prometheus endpoint the health page reads (WORKER_METRICS_URL). */
  workerMetricsUrl: string;
}

function webUsers(src: Source): WebUser[] {
  return (
    fromFile(src, 'WEB_USERS_FILE', (file) => {
      try {
        return parseWebUsers(readTextFile(file));
      } catch (error) {
        if (error instanceof WebUsersError) throw new PemFileError(file, error.message);
        throw error;
      }
    }) ?? []
  );
}

function webConfig(src: Source, publicUrl: string, uiPort: number, metricsPort: number): WebConfig {
  const authHeader = optional(src, 'WEB_AUTH_HEADER')?.toLowerCase();
  if (authHeader !== undefined && !/^[a-z0-9-]{1,64}$/.test(authHeader)) src.report('WEB_AUTH_HEADER', 'must be a header name');
  const temporalUiUrl = str(src, 'TEMPORAL_UI_URL', `http://127.0.0.1:${uiPort}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s"<>]+$/.test(temporalUiUrl)) src.report('TEMPORAL_UI_URL', 'must be an http(s) URL');
  const workerMetricsUrl = str(src, 'WORKER_METRICS_URL', `http://127.0.0.1:${metricsPort || 9464}/metrics`);
  if (!/^https?:\/\/\S+$/.test(workerMetricsUrl)) src.report('WORKER_METRICS_URL', 'must be an http(s) URL');
  return {
    users: webUsers(src),
    sessionHours: int(src, 'WEB_SESSION_HOURS', 12, 24 * 30),
    secureCookies: bool(src, 'WEB_SECURE_COOKIES', publicUrl.startsWith('https:')),
    authHeader,
    authHeaderRole: oneOf(src, 'WEB_AUTH_HEADER_ROLE', ['agent', 'operator'] as const, 'agent'),
    temporalUiUrl,
    workerMetricsUrl,
  };
}

export interface RetentionConfig {
  policy: RetentionPolicy;
  /** Minutes between scheduled sweeps (a Temporal Schedule the worker ensures at start). */
  intervalMinutes: number;
  /** Objects listed, decided and deleted per activity call (S3 DeleteObjects takes at most 1000). */
  batchSize: number;
}

/** One invalid or missing variable: its name and what is wrong, never its value. */
export interface ConfigProblem {
  readonly variable: string;
  readonly reason: string;
}

/**
 * The configuration could not be loaded. `problems` holds every invalid or missing variable found
 * in one pass (an operator fixes them all at once instead of one restart per variable); `variable`
 * is the first of them. Reasons name variables and rules, never a secret's value.
 */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  readonly variable: string;

  constructor(variable: string, reason: string, more: readonly ConfigProblem[] = []) {
    const problems = [{ variable, reason }, ...more];
    super(
      problems.length === 1
        ? `invalid configuration: ${variable} ${reason}`
        : `invalid configuration (${problems.length} variables): ${problems.map((p) => `${p.variable} ${p.reason}`).join('; ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
    this.variable = variable;
  }

  /** The names of the variables at fault, in the order they were read. */
  get variables(): string[] {
    return this.problems.map((p) => p.variable);
  }

  static of(problems: readonly ConfigProblem[]): ConfigError {
    const [first, ...more] = problems;
    if (first === undefined) throw new Error('ConfigError.of needs at least one problem');
    return new ConfigError(first.variable, first.reason, more);
  }
}

type Env = Record<string, string | undefined>;

/**
 * The environment being read, and every problem found so far. A reader that meets a bad value
 * records it and goes on with a placeholder, so one pass finds them all; `loadConfig` throws before
 * any placeholder can be used. One problem per variable: the first is the cause of the rest.
 */
class Source {
  readonly problems: ConfigProblem[] = [];

  constructor(readonly env: Env) {}

  /** `read()`, or `placeholder` after recording the ConfigError it threw. */
  check<T>(placeholder: T, read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) this.report(problem.variable, problem.reason);
      return placeholder;
    }
  }

  report(variable: string, reason: string): void {
    if (!this.problems.some((p) => p.variable === variable)) this.problems.push({ variable, reason });
  }
}

function str(src: Source, name: string, fallback?: string): string {
  const value = src.env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  src.report(name, 'is required');
  return '';
}

function optional(src: Source, name: string): string | undefined {
  const value = src.env[name]?.trim();
  return value ? value : undefined;
}

/** A positive integer; 0, NaN or a fraction is refused, never read as "no limit". */
function int(src: Source, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return src.check(fallback, () => {
    const raw = src.env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw)) throw new ConfigError(name, 'must be a positive integer');
    const value = Number(raw);
    if (value < 1 || value > max) throw new ConfigError(name, `must be between 1 and ${max}`);
    return value;
  });
}

/** A TCP port to listen on: 0 asks the OS for a free one (explicitly, never by a missing value). */
function listenPort(src: Source, name: string, fallback: number): number {
  return src.check(fallback, () => {
    const raw = src.env[name]?.trim();
    if (!raw) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError(name, 'must be a port number between 0 and 65535');
    return Number(raw);
  });
}

/** Days a kind of data is kept, or `never`; unset takes the default, 0 or garbage stops the start. */
function period(src: Source, name: string, fallback: RetentionPeriod): RetentionPeriod {
  return src.check(fallback, () => {
    const raw = src.env[name]?.trim();
    if (!raw) return fallback;
    const parsed = parseRetentionPeriod(raw);
    if (typeof parsed === 'object' && 'error' in parsed) throw new ConfigError(name, parsed.error);
    return parsed;
  });
}

/** Defaults: see config/defaults.env, where each one is explained. */
export const RETENTION_VARIABLES: Readonly<Record<RetentionKind, [string, RetentionPeriod]>> = Object.freeze({
  raw: ['RETENTION_RAW_DAYS', { days: 90 }],
  parsed: ['RETENTION_PARSED_DAYS', { days: 90 }],
  attachments: ['RETENTION_ATTACHMENTS_DAYS', { days: 365 }],
  quarantine: ['RETENTION_QUARANTINE_DAYS', { days: 30 }],
  emailRecords: ['RETENTION_EMAIL_RECORDS_DAYS', { days: 365 }],
});

/**
 * Both names set turn versioning on; one alone is refused (a build id without a deployment would
 * silently run unversioned). The server writes a version as `<deployment>.<build id>`, so the
 * deployment name holds no dot; both become Kubernetes label values in the chart, hence the length.
 */
function workerVersioning(src: Source): WorkerVersioning | undefined {
  const deploymentName = optional(src, 'WORKER_DEPLOYMENT_NAME');
  const buildId = optional(src, 'WORKER_BUILD_ID');
  const defaultBehavior = oneOf(src, 'WORKER_VERSIONING_DEFAULT', VERSIONING_BEHAVIORS, 'pinned');
  if (deploymentName === undefined && buildId === undefined) return undefined;
  if (deploymentName === undefined) src.report('WORKER_DEPLOYMENT_NAME', 'is required when WORKER_BUILD_ID is set');
  if (buildId === undefined) src.report('WORKER_BUILD_ID', 'is required when WORKER_DEPLOYMENT_NAME is set');
  if (deploymentName !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(deploymentName)) {
    src.report('WORKER_DEPLOYMENT_NAME', 'must be 1-63 letters, digits, - or _ (no dot), starting and ending with a letter or digit');
  }
  if (buildId !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/.test(buildId)) {
    src.report('WORKER_BUILD_ID', 'must be 1-63 letters, digits, ., - or _, starting and ending with a letter or digit');
  }
  return { deploymentName: deploymentName ?? '', buildId: buildId ?? '', defaultBehavior };
}

function retentionConfig(src: Source): RetentionConfig {
  const policy = Object.fromEntries(
    Object.entries(RETENTION_VARIABLES).map(([kind, [name, fallback]]) => [kind, period(src, name, fallback)]),
  ) as RetentionPolicy;
  return {
    policy,
    intervalMinutes: int(src, 'RETENTION_INTERVAL_MINUTES', 60, 7 * 24 * 60),
    batchSize: int(src, 'RETENTION_BATCH_SIZE', 500, 1000),
  };
}

function bool(src: Source, name: string, fallback: boolean): boolean {
  return src.check(fallback, () => {
    const raw = src.env[name]?.trim().toLowerCase();
    if (!raw) return fallback;
    if (['1', 'true', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'no'].includes(raw)) return false;
    throw new ConfigError(name, 'must be true or false');
  });
}

function oneOf<T extends string>(src: Source, name: string, allowed: readonly T[], fallback: T): T {
  return src.check(fallback, () => {
    const raw = src.env[name]?.trim().toLowerCase();
    if (!raw) return fallback;
    const match = allowed.find((value) => value === raw);
    if (match === undefined) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
    return match;
  });
}

function hostPort(src: Source, name: string, fallback: string): string {
  const value = str(src, name, fallback);
  if (!/^[^\s:]+:\d{1,5}$/.test(value)) src.report(name, 'must be host:port');
  return value;
}

/** Secrets shorter than 16 characters are guessable; refusing them is cheaper than a breach. */
function longSecret(src: Source, name: string): string {
  const key = str(src, name);
  if (key && key.length < 16) src.report(name, 'must be at least 16 characters');
  return key;
}

function secretList(src: Source, name: string): string[] {
  const secrets = str(src, name).split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.length === 0 || secrets.some((s) => s.length < 16)) src.report(name, 'must list secrets of at least 16 characters, comma-separated');
  return secrets;
}

/** A comma-separated list that may be empty (a provider left off); each entry long enough to guess hard. */
function optionalSecrets(src: Source, name: string, minLength = 16): string[] {
  const secrets = (optional(src, name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.some((s) => s.length < minLength)) src.report(name, `must list entries of at least ${minLength} characters, comma-separated`);
  return secrets;
}

/** `user:password` pairs for HTTP Basic auth, as configured in a provider's webhook URL. */
function basicAuthList(src: Source, name: string): string[] {
  const pairs = optionalSecrets(src, name);
  if (pairs.some((p) => !/^[^:\s]+:\S+$/.test(p))) src.report(name, 'must list user:password pairs, comma-separated');
  return pairs;
}

function providersConfig(src: Source, s3: Config['s3']): ProvidersConfig {
  const verificationKeys = optionalSecrets(src, 'SENDGRID_VERIFICATION_KEYS', 32);
  if (verificationKeys.some((k) => !/^[A-Za-z0-9+/]+={0,2}$/.test(k))) src.report('SENDGRID_VERIFICATION_KEYS', 'must list base64 public keys, comma-separated');
  const topicArns = (optional(src, 'SES_TOPIC_ARNS') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (topicArns.some((arn) => !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(arn))) src.report('SES_TOPIC_ARNS', 'must list SNS topic ARNs, comma-separated');
  const certHosts = optional(src, 'SNS_CERT_HOSTS')?.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (certHosts?.some((h) => !/^[a-z0-9.-]+(:\d{1,5})?$/.test(h))) src.report('SNS_CERT_HOSTS', 'must list host or host:port entries, comma-separated');
  const sesEndpoint = optional(src, 'SES_S3_ENDPOINT');
  if (sesEndpoint && !/^https?:\/\/[^\s]+$/.test(sesEndpoint)) src.report('SES_S3_ENDPOINT', 'must be an http(s) URL');
  return {
    mailgun: { signingKeys: optionalSecrets(src, 'MAILGUN_SIGNING_KEYS') },
    sendgrid: { basicAuth: basicAuthList(src, 'SENDGRID_BASIC_AUTH'), verificationKeys },
    postmark: { basicAuth: basicAuthList(src, 'POSTMARK_BASIC_AUTH') },
    ses: {
      topicArns,
      certHosts: certHosts && certHosts.length > 0 ? certHosts : undefined,
      s3: {
        ...s3,
        endpoint: sesEndpoint ?? s3.endpoint,
        region: optional(src, 'SES_S3_REGION') ?? s3.region,
        accessKeyId: optional(src, 'SES_S3_ACCESS_KEY_ID') ?? s3.accessKeyId,
        secretAccessKey: optional(src, 'SES_S3_SECRET_ACCESS_KEY') ?? s3.secretAccessKey,
        forcePathStyle: sesEndpoint === undefined ? s3.forcePathStyle : bool(src, 'SES_S3_FORCE_PATH_STYLE', true),
      },
    },
    json: { secrets: optionalSecrets(src, 'INBOUND_JSON_SECRETS') },
  };
}

/** The file named by `name`, read by `read`; its problems become ConfigErrors naming the variable. */
function fromFile<T>(src: Source, name: string, read: (file: string) => T): T | undefined {
  const file = optional(src, name);
  if (file === undefined) return undefined;
  try {
    return read(file);
  } catch (error) {
    if (error instanceof PemFileError) {
      src.report(name, error.message);
      return undefined;
    }
    throw error;
  }
}

/**
 * Either the key itself or a file holding it (a mounted secret), never both. Whitespace inside is
 * refused: the key becomes an HTTP/2 header value, where a line break would start another header.
 */
function apiKey(src: Source): string | undefined {
  return src.check(undefined, () => {
    const inline = optional(src, 'TEMPORAL_API_KEY');
    if (optional(src, 'TEMPORAL_API_KEY_FILE') === undefined) {
      if (inline !== undefined && /\s/.test(inline)) throw new ConfigError('TEMPORAL_API_KEY', 'must not contain whitespace');
      return inline;
    }
    if (inline !== undefined) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'and TEMPORAL_API_KEY are both set; set one');
    const file = new Source(src.env);
    const key = fromFile(file, 'TEMPORAL_API_KEY_FILE', readTextFile)?.trim();
    if (file.problems.length > 0) throw ConfigError.of(file.problems);
    if (!key) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'names an empty file');
    if (/\s/.test(key)) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'names a file whose key contains whitespace');
    return key;
  });
}

/** Comma-separated authserv-ids; unset or empty trusts none. A malformed name is refused, not skipped. */
function authservIds(src: Source, name: string): string[] {
  const ids = (optional(src, name) ?? '').split(',').map((id) => id.trim().toLowerCase()).filter(Boolean);
  const bad = ids.find((id) => !isAuthservId(id));
  if (bad !== undefined) src.report(name, `must list authserv-ids (domain names such as mx.example.com), comma-separated; "${bad}" is not one`);
  return [...new Set(ids)];
}

function strangerReply(src: Source): 'new_ticket' | 'internal_note' {
  const value = str(src, 'STRANGER_REPLY', 'new-ticket').toLowerCase();
  if (value === 'new-ticket') return 'new_ticket';
  if (value === 'internal-note') return 'internal_note';
  src.report('STRANGER_REPLY', 'must be new-ticket or internal-note');
  return 'new_ticket';
}

/** Comma-separated addresses and @domains; a malformed entry is refused, not skipped. */
function agentAddresses(src: Source, name: string): string[] {
  const entries = (optional(src, name) ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  const bad = entries.find((e) => !(e.startsWith('@') ? isAddress(`agent${e}`) : isAddress(e)));
  if (bad !== undefined) src.report(name, `must list addresses or @domains, comma-separated; "${bad}" is neither`);
  return [...new Set(entries)];
}

/** The pollers file; what is wrong with it is reported under MAILGATE_POLLERS_FILE. */
function pollers(src: Source): PollerSettings {
  try {
    return loadPollerSettings(optional(src, 'MAILGATE_POLLERS_FILE'));
  } catch (error) {
    if (!(error instanceof PollerSettingsError)) throw error;
    src.report('MAILGATE_POLLERS_FILE', `is invalid: ${error.message}`);
    return NO_POLLERS;
  }
}

/** The rules file; what is wrong with it is reported under MAILGATE_RULES_FILE, beside the rest. */
function rules(src: Source): Rules {
  try {
    return loadRules(optional(src, 'MAILGATE_RULES_FILE'));
  } catch (error) {
    if (!(error instanceof RulesError)) throw error;
    src.report('MAILGATE_RULES_FILE', `is invalid: ${error.message}`);
    return loadRules(undefined);
  }
}

const TLS_VARIABLES = ['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_SERVER_NAME'];

/**
 * TEMPORAL_TLS defaults to on as soon as any TLS file, server name or API key is set, and to off
 * (the dev server) otherwise. Turning it off explicitly beside such a setting is refused rather than
 * guessed: an API key over plaintext would hand the credential to anyone on the path.
 */
function temporalConfig(src: Source): TemporalConfig {
  const key = apiKey(src);
  const tlsSetting = TLS_VARIABLES.find((name) => optional(src, name) !== undefined);
  const tlsOn = bool(src, 'TEMPORAL_TLS', tlsSetting !== undefined || key !== undefined);
  if (!tlsOn && key !== undefined) src.report('TEMPORAL_TLS', 'is false but an API key is set; an API key is only sent over TLS');
  if (!tlsOn && tlsSetting !== undefined) src.report('TEMPORAL_TLS', `is false but ${tlsSetting} is set`);
  const serverName = optional(src, 'TEMPORAL_TLS_SERVER_NAME');
  if (serverName !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(serverName)) {
    src.report('TEMPORAL_TLS_SERVER_NAME', 'must be a DNS name');
  }
  const ca = fromFile(src, 'TEMPORAL_TLS_CA_FILE', readCertificates);
  const cert = fromFile(src, 'TEMPORAL_TLS_CERT_FILE', readCertificates);
  const privateKey = fromFile(src, 'TEMPORAL_TLS_KEY_FILE', readPrivateKey);
  const certSet = optional(src, 'TEMPORAL_TLS_CERT_FILE') !== undefined;
  const keySet = optional(src, 'TEMPORAL_TLS_KEY_FILE') !== undefined;
  if (certSet && !keySet) src.report('TEMPORAL_TLS_KEY_FILE', 'is required when TEMPORAL_TLS_CERT_FILE is set');
  if (keySet && !certSet) src.report('TEMPORAL_TLS_CERT_FILE', 'is required when TEMPORAL_TLS_KEY_FILE is set');
  if (cert && privateKey && !cert.leaf.checkPrivateKey(privateKey.key)) {
    src.report('TEMPORAL_TLS_KEY_FILE', 'does not match the (first) certificate in TEMPORAL_TLS_CERT_FILE');
  }
  return {
    address: hostPort(src, 'TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace: str(src, 'TEMPORAL_NAMESPACE', 'default'),
    taskQueue: str(src, 'TEMPORAL_TASK_QUEUE', 'mailgate'),
    uiPort: int(src, 'TEMPORAL_UI_PORT', 8233, 65535),
    tls: tlsOn ? { serverCa: ca?.pem, serverName, client: cert && privateKey ? { cert: cert.pem, key: privateKey.pem } : undefined } : undefined,
    apiKey: key,
  };
}

const placeholderSmtpIngress: SmtpIngressConfig = Object.freeze({
  host: '127.0.0.1', port: 2525, hostname: 'mx.mailgate.local', authservId: 'mx.mailgate.local', tls: undefined, auth: undefined, proxyFrom: [],
  maxRecipients: 50, maxClients: 200, connectionsPerMinute: 60, messagesPerMinute: 120, socketTimeoutSeconds: 60, dmarcAction: 'record', metricsPort: 9466,
});

/**
 * The MX's settings. Its authserv-id must be one the workers believe: stamped under any other name
 * the results would be evidence nobody reads. Unset, it is the first of TRUSTED_AUTHSERV_IDS, or
 * its host name when none is listed (then results are stamped and stored but trusted by no step).
 */
function smtpIngressConfig(src: Source, trusted: readonly string[], firstDomain: string): SmtpIngressConfig {
  const hostname = str(src, 'SMTP_INGRESS_HOSTNAME', `mx.${firstDomain}`).toLowerCase();
  if (!isAuthservId(hostname)) src.report('SMTP_INGRESS_HOSTNAME', 'must be a domain name');
  const explicitId = optional(src, 'SMTP_INGRESS_AUTHSERV_ID')?.toLowerCase();
  if (explicitId !== undefined && !trusted.includes(explicitId)) {
    src.report('SMTP_INGRESS_AUTHSERV_ID', 'must be one of TRUSTED_AUTHSERV_IDS, or the steps after the MX ignore what it stamps');
  }
  const cert = fromFile(src, 'SMTP_INGRESS_TLS_CERT_FILE', readCertificates);
  const key = fromFile(src, 'SMTP_INGRESS_TLS_KEY_FILE', readPrivateKey);
  const certSet = optional(src, 'SMTP_INGRESS_TLS_CERT_FILE') !== undefined;
  const keySet = optional(src, 'SMTP_INGRESS_TLS_KEY_FILE') !== undefined;
  if (certSet !== keySet) src.report(certSet ? 'SMTP_INGRESS_TLS_KEY_FILE' : 'SMTP_INGRESS_TLS_CERT_FILE', 'is required when the other SMTP_INGRESS_TLS_* file is set');
  if (cert && key && !cert.leaf.checkPrivateKey(key.key)) src.report('SMTP_INGRESS_TLS_KEY_FILE', 'does not match the certificate in SMTP_INGRESS_TLS_CERT_FILE');
  const user = optional(src, 'SMTP_INGRESS_AUTH_USER');
  const password = user === undefined ? undefined : longSecret(src, 'SMTP_INGRESS_AUTH_PASSWORD');
  if (user !== undefined && !certSet) src.report('SMTP_INGRESS_AUTH_USER', 'needs SMTP_INGRESS_TLS_CERT_FILE: AUTH is offered only after STARTTLS');
  const proxyFrom = (optional(src, 'SMTP_INGRESS_PROXY_FROM') ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  if (proxyFrom.some((a) => isIP(a) === 0)) src.report('SMTP_INGRESS_PROXY_FROM', 'must list IP addresses, comma-separated');
  return {
    host: str(src, 'SMTP_INGRESS_HOST', '127.0.0.1'),
    port: listenPort(src, 'SMTP_INGRESS_PORT', 2525),
    hostname,
    authservId: explicitId ?? trusted[0] ?? hostname,
    tls: cert && key ? { cert: cert.pem, key: key.pem } : undefined,
    auth: user !== undefined && password !== undefined ? { user, password } : undefined,
    proxyFrom,
    maxRecipients: int(src, 'SMTP_INGRESS_MAX_RECIPIENTS', 50, 1000),
    maxClients: int(src, 'SMTP_INGRESS_MAX_CLIENTS', 200, 100_000),
    connectionsPerMinute: int(src, 'SMTP_INGRESS_CONNECTIONS_PER_MINUTE', 60),
    messagesPerMinute: int(src, 'SMTP_INGRESS_MESSAGES_PER_MINUTE', 120),
    socketTimeoutSeconds: int(src, 'SMTP_INGRESS_SOCKET_TIMEOUT_SECONDS', 60, 3600),
    dmarcAction: oneOf(src, 'SMTP_INGRESS_DMARC_ACTION', DMARC_ACTIONS, 'record'),
    metricsPort: listenPort(src, 'SMTP_INGRESS_METRICS_PORT', 9466),
  };
}

/**
 * Reads and checks the whole configuration. Every invalid or missing variable is found in one pass
 * and reported together in one ConfigError (names and reasons, never a secret's value).
 */
export function loadConfig(env: Env = process.env): Config {
  const src = new Source(env);
  const apiHost = str(src, 'API_HOST', '127.0.0.1');
  const apiPort = int(src, 'API_PORT', 3000, 65535);
  const endpoint = optional(src, 'S3_ENDPOINT');
  if (endpoint && !/^https?:\/\/[^\s]+$/.test(endpoint)) src.report('S3_ENDPOINT', 'must be an http(s) URL');
  const domains = str(src, 'INBOUND_DOMAINS', 'mailgate.local')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  if (domains.length === 0) src.report('INBOUND_DOMAINS', 'must name at least one domain');
  const databaseUrl = str(src, 'DATABASE_URL', 'sqlite:.data/default/mailgate.sqlite');
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    // The value is not echoed: a postgres URL carries a password.
    src.report('DATABASE_URL', 'must start with sqlite: or postgres://');
  } else if (databaseUrl.startsWith('sqlite:') && !/^sqlite:[^?]+(\?synchronous=(normal|full))?$/.test(databaseUrl)) {
    src.report('DATABASE_URL', 'sqlite:<path> takes one option, ?synchronous=normal or ?synchronous=full');
  }
  const workerMetricsPort = listenPort(src, 'WORKER_METRICS_PORT', 9464);
  const temporalMetricsPort = listenPort(src, 'TEMPORAL_METRICS_PORT', 9465);
  if (workerMetricsPort !== 0 && workerMetricsPort === temporalMetricsPort) {
    src.report('TEMPORAL_METRICS_PORT', 'must differ from WORKER_METRICS_PORT');
  }
  const s3: Config['s3'] = {
    endpoint,
    publicEndpoint: optional(src, 'S3_PUBLIC_ENDPOINT'),
    region: str(src, 'S3_REGION', 'us-east-1'),
    bucket: str(src, 'S3_BUCKET', 'mailgate'),
    accessKeyId: str(src, 'S3_ACCESS_KEY_ID'),
    secretAccessKey: str(src, 'S3_SECRET_ACCESS_KEY'),
    forcePathStyle: bool(src, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
  };
  const config: Config = {
    temporal: temporalConfig(src),
    s3,
    clamd: {
      host: str(src, 'CLAMD_HOST', '127.0.0.1'),
      port: int(src, 'CLAMD_PORT', 3310, 65535),
      timeoutMs: int(src, 'CLAMD_TIMEOUT_MS', 60_000),
    },
    databaseUrl,
    smtp: {
      host: str(src, 'SMTP_HOST', '127.0.0.1'),
      port: int(src, 'SMTP_PORT', 25, 65535),
      secure: bool(src, 'SMTP_SECURE', false),
      user: optional(src, 'SMTP_USER'),
      password: optional(src, 'SMTP_PASSWORD'),
    },
    ackFrom: str(src, 'ACK_FROM', `Mailgate <support@${domains[0] ?? 'mailgate.local'}>`),
    api: {
      host: apiHost,
      port: apiPort,
      publicUrl: str(src, 'API_PUBLIC_URL', `http://${apiHost}:${apiPort}`).replace(/\/+$/, ''),
      requestTimeoutSeconds: int(src, 'REQUEST_TIMEOUT_SECONDS', 120, 3600),
      shutdownGraceSeconds: int(src, 'SHUTDOWN_GRACE_SECONDS', 25, 3600),
    },
    inboundDomains: domains,
    trustedAuthservIds: authservIds(src, 'TRUSTED_AUTHSERV_IDS'),
    trust: {
      strangerReply: strangerReply(src),
      agentAddresses: agentAddresses(src, 'AGENT_ADDRESSES'),
      // Ten years at most: a mark is a pause, and "forever" is what issue 12 removed.
      undeliverableMarkDays: int(src, 'UNDELIVERABLE_MARK_DAYS', 30, 3650),
    },
    catchAll: optional(src, 'INBOUND_CATCH_ALL')?.toLowerCase(),
    limits: {
      ...DEFAULT_LIMITS,
      maxMessageBytes: int(src, 'MAX_MESSAGE_BYTES', DEFAULT_LIMITS.maxMessageBytes),
      maxAttachmentBytes: int(src, 'MAX_ATTACHMENT_BYTES', DEFAULT_LIMITS.maxAttachmentBytes),
      maxAttachments: int(src, 'MAX_ATTACHMENTS', DEFAULT_LIMITS.maxAttachments, 10_000),
      maxMimeParts: int(src, 'MAX_MIME_PARTS', DEFAULT_LIMITS.maxMimeParts, 1_000),
      maxHeaderBytes: int(src, 'MAX_HEADER_BYTES', DEFAULT_LIMITS.maxHeaderBytes, 16 * 1024 * 1024),
    },
    attachmentUrlTtlSeconds: int(src, 'ATTACHMENT_URL_TTL_SECONDS', 300, 7 * 24 * 3600),
    unscannableAttachments: oneOf(src, 'UNSCANNABLE_ATTACHMENTS', UNSCANNABLE_POLICIES, 'quarantine'),
    attachmentLinks: {
      // Unset: a key derived one-way from MAILGATE_SIGNING_KEY (validated as signingKey), so links need no extra secret.
      secret: optional(src, 'ATTACHMENT_LINK_SECRET') === undefined ? createHmac('sha256', optional(src, 'MAILGATE_SIGNING_KEY') ?? '').update('mailgate attachment links').digest('hex') : longSecret(src, 'ATTACHMENT_LINK_SECRET'),
      ttlSeconds: int(src, 'ATTACHMENT_LINK_TTL_SECONDS', 900, 24 * 3600),
    },
    rulesFile: optional(src, 'MAILGATE_RULES_FILE'),
    rules: rules(src),
    helpdesks: helpdesks(src),
    pollers: pollers(src),
    signingKey: longSecret(src, 'MAILGATE_SIGNING_KEY'),
    ingress: {
      secrets: secretList(src, 'INGRESS_SECRETS'),
      maxSkewSeconds: int(src, 'INGRESS_MAX_SKEW_SECONDS', 300, 3600),
      ratePerMinute: int(src, 'INGRESS_RATE_PER_MINUTE', 1200),
      rateBurst: int(src, 'INGRESS_RATE_BURST', 60),
    },
    providers: providersConfig(src, s3),
    adminToken: longSecret(src, 'ADMIN_TOKEN'),
    workerMetrics: {
      host: str(src, 'WORKER_METRICS_HOST', '127.0.0.1'),
      port: workerMetricsPort,
      temporalPort: temporalMetricsPort,
    },
    workerMaxCachedWorkflows: int(src, 'WORKER_MAX_CACHED_WORKFLOWS', 500, 100_000),
    workerVersioning: workerVersioning(src),
    retention: retentionConfig(src),
    smtpIngress: placeholderSmtpIngress,

    web: webConfig(src, str(src, 'API_PUBLIC_URL', `http://${apiHost}:${apiPort}`), int(src, 'TEMPORAL_UI_PORT', 8233, 65535), workerMetricsPort),
  };
  config.smtpIngress = smtpIngressConfig(src, config.trustedAuthservIds, domains[0] ?? 'mailgate.local');

  const unrouted = unknownHelpdesks(config.rules, [BUILT_IN, ...config.helpdesks.map((h) => h.name)]);
  if (unrouted.length > 0) src.report('HELPDESK_CONNECTORS', `has no connector for ${unrouted.join(', ')} (named in the rules file)`);
  if (src.problems.length > 0) throw ConfigError.of(src.problems);
  return config;
}

function helpdesks(src: Source): ConnectorSettings[] {
  try {
    return parseConnectors(optional(src, 'HELPDESK_CONNECTORS'), src.env);
  } catch (error) {
    // The message names fields and variables, never a secret's value.
    if (error instanceof ConnectorSettingsError) src.report('HELPDESK_CONNECTORS', error.message);
    else throw error;
    return [];
  }
}


/** What is safe to log about the configuration: endpoints and names, never credentials. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    temporal: describeTemporal(config.temporal),
    s3: { endpoint: config.s3.endpoint ?? 'aws', region: config.s3.region, bucket: config.s3.bucket },
    clamd: `${config.clamd.host}:${config.clamd.port}`,
    database: config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : 'postgres',
    smtp: `${config.smtp.host}:${config.smtp.port}`,
    api: `${config.api.host}:${config.api.port}`,
    smtpIngress: {
      listen: `${config.smtpIngress.host}:${config.smtpIngress.port}`,
      hostname: config.smtpIngress.hostname,
      authservId: config.smtpIngress.authservId,
      starttls: config.smtpIngress.tls !== undefined,
      auth: config.smtpIngress.auth !== undefined,
      dmarcAction: config.smtpIngress.dmarcAction,
    },
    workerMetrics: config.workerMetrics,
    workerVersioning: config.workerVersioning ?? false,
    inboundDomains: config.inboundDomains,
    trustedAuthservIds: config.trustedAuthservIds,
    trust: { strangerReply: config.trust.strangerReply, agents: config.trust.agentAddresses.length, undeliverableMarkDays: config.trust.undeliverableMarkDays },
    rules: { instanceId: config.rules.instanceId, queues: config.rules.queues.map((q) => q.address) },
    helpdesks: describeConnectors(config.helpdesks),
    web: { users: config.web.users.length, sessionHours: config.web.sessionHours, secureCookies: config.web.secureCookies, authHeader: config.web.authHeader ?? false },
    pollers: { imap: config.pollers.imap.map((p) => p.name), mailgun: config.pollers.mailgun.map((p) => p.name) },
    retention: {
      ...Object.fromEntries(Object.entries(config.retention.policy).map(([kind, p]) => [kind, describePeriod(p)])),
      intervalMinutes: config.retention.intervalMinutes,
    },
  };
}

function describeTemporal({ tls, apiKey, ...names }: TemporalConfig): Record<string, unknown> {
  return {
    ...names,
    tls: tls ? { serverCa: tls.serverCa ? 'file' : 'system', serverName: tls.serverName, mutual: tls.client !== undefined } : false,
    apiKey: apiKey !== undefined,
  };
}
