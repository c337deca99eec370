/**
 * Typed configuration, parsed once from the environment at start-up. A bad value fails fast with the
 * variable's name; secrets never appear in errors or logs (see `describeConfig`).
 */
import { createHmac } from 'node:crypto';
import { isAddress } from './domain/addresses';
import { isAuthservId } from './domain/auth-results';
import { DEFAULT_LIMITS, type Limits } from './domain/limits';
import { UNSCANNABLE_POLICIES, type UnscannablePolicy } from './domain/vocabulary';
import { describePeriod, parseRetentionPeriod, type RetentionKind, type RetentionPeriod, type RetentionPolicy } from './domain/retention';
import { PemFileError, readCertificates, readPrivateKey, readTextFile } from './pem-files';
import { loadRules, type Rules } from './rules';

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
  /**
   * An attachment the virus scanner could not read whole (a limit, encryption): kept under
   * quarantine/ for an operator, or deleted. Never linked either way (UNSCANNABLE_ATTACHMENTS).
   */
  unscannableAttachments: UnscannablePolicy;
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
  /** Bearer token for everything under /v1 except the ingress (never logged). */
  adminToken: string;
  /**
   * The worker's Prometheus endpoints: its own registry and the Temporal SDK's runtime metrics, on
   * one host. Port 0 = an ephemeral port, logged at start (tests run several workers at once).
   */
  workerMetrics: { host: string; port: number; temporalPort: number };
  /** How long each kind of stored data is kept, and how often the retention sweep runs. */
  retention: RetentionConfig;
}

export interface RetentionConfig {
  policy: RetentionPolicy;
  /** Minutes between scheduled sweeps (a Temporal Schedule the worker ensures at start). */
  intervalMinutes: number;
  /** Objects listed, decided and deleted per activity call (S3 DeleteObjects takes at most 1000). */
  batchSize: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string, fallback?: string): string {
  const value = env[name]?.trim();
  if (value) return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(name, 'is required');
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** A positive integer; 0, NaN or a fraction is refused, never read as "no limit". */
function int(env: Env, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, 'must be a positive integer');
  const value = Number(raw);
  if (value < 1 || value > max) throw new ConfigError(name, `must be between 1 and ${max}`);
  return value;
}

/** A TCP port to listen on: 0 asks the OS for a free one (explicitly, never by a missing value). */
function listenPort(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) throw new ConfigError(name, 'must be a port number between 0 and 65535');
  return Number(raw);
}

/** Days a kind of data is kept, or `never`; unset takes the default, 0 or garbage stops the start. */
function period(env: Env, name: string, fallback: RetentionPeriod): RetentionPeriod {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const parsed = parseRetentionPeriod(raw);
  if (typeof parsed === 'object' && 'error' in parsed) throw new ConfigError(name, parsed.error);
  return parsed;
}

/** Defaults: see config/defaults.env, where each one is explained. */
export const RETENTION_VARIABLES: Readonly<Record<RetentionKind, [string, RetentionPeriod]>> = Object.freeze({
  raw: ['RETENTION_RAW_DAYS', { days: 90 }],
  parsed: ['RETENTION_PARSED_DAYS', { days: 90 }],
  attachments: ['RETENTION_ATTACHMENTS_DAYS', { days: 365 }],
  quarantine: ['RETENTION_QUARANTINE_DAYS', { days: 30 }],
  emailRecords: ['RETENTION_EMAIL_RECORDS_DAYS', { days: 365 }],
});

function retentionConfig(env: Env): RetentionConfig {
  const policy = Object.fromEntries(
    Object.entries(RETENTION_VARIABLES).map(([kind, [name, fallback]]) => [kind, period(env, name, fallback)]),
  ) as RetentionPolicy;
  return {
    policy,
    intervalMinutes: int(env, 'RETENTION_INTERVAL_MINUTES', 60, 7 * 24 * 60),
    batchSize: int(env, 'RETENTION_BATCH_SIZE', 500, 1000),
  };
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes'].includes(raw)) return true;
  if (['0', 'false', 'no'].includes(raw)) return false;
  throw new ConfigError(name, 'must be true or false');
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  const match = allowed.find((value) => value === raw);
  if (match === undefined) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`);
  return match;
}

function hostPort(env: Env, name: string, fallback: string): string {
  const value = str(env, name, fallback);
  if (!/^[^\s:]+:\d{1,5}$/.test(value)) throw new ConfigError(name, 'must be host:port');
  return value;
}

/** Secrets shorter than 16 characters are guessable; refusing them is cheaper than a breach. */
function longSecret(env: Env, name: string): string {
  const key = str(env, name);
  if (key.length < 16) throw new ConfigError(name, 'must be at least 16 characters');
  return key;
}

function signingKey(env: Env): string {
  return longSecret(env, 'MAILGATE_SIGNING_KEY');
}

function secretList(env: Env, name: string): string[] {
  const secrets = str(env, name).split(',').map((s) => s.trim()).filter(Boolean);
  if (secrets.length === 0 || secrets.some((s) => s.length < 16)) throw new ConfigError(name, 'must list secrets of at least 16 characters, comma-separated');
  return secrets;
}

/** The file named by `name`, read by `read`; its problems become ConfigErrors naming the variable. */
function fromFile<T>(env: Env, name: string, read: (file: string) => T): T | undefined {
  const file = optional(env, name);
  if (file === undefined) return undefined;
  try {
    return read(file);
  } catch (error) {
    if (error instanceof PemFileError) throw new ConfigError(name, error.message);
    throw error;
  }
}

/**
 * Either the key itself or a file holding it (a mounted secret), never both. Whitespace inside is
 * refused: the key becomes an HTTP/2 header value, where a line break would start another header.
 */
function apiKey(env: Env): string | undefined {
  const inline = optional(env, 'TEMPORAL_API_KEY');
  if (optional(env, 'TEMPORAL_API_KEY_FILE') === undefined) {
    if (inline !== undefined && /\s/.test(inline)) throw new ConfigError('TEMPORAL_API_KEY', 'must not contain whitespace');
    return inline;
  }
  if (inline !== undefined) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'and TEMPORAL_API_KEY are both set; set one');
  const key = fromFile(env, 'TEMPORAL_API_KEY_FILE', readTextFile)?.trim();
  if (!key) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'names an empty file');
  if (/\s/.test(key)) throw new ConfigError('TEMPORAL_API_KEY_FILE', 'names a file whose key contains whitespace');
  return key;
}

/** Comma-separated authserv-ids; unset or empty trusts none. A malformed name is refused, not skipped. */
function authservIds(env: Env, name: string): string[] {
  const ids = (optional(env, name) ?? '').split(',').map((id) => id.trim().toLowerCase()).filter(Boolean);
  const bad = ids.find((id) => !isAuthservId(id));
  if (bad !== undefined) throw new ConfigError(name, `must list authserv-ids (domain names such as mx.example.com), comma-separated; "${bad}" is not one`);
  return [...new Set(ids)];
}

function strangerReply(env: Env): 'new_ticket' | 'internal_note' {
  const value = str(env, 'STRANGER_REPLY', 'new-ticket').toLowerCase();
  if (value === 'new-ticket') return 'new_ticket';
  if (value === 'internal-note') return 'internal_note';
  throw new ConfigError('STRANGER_REPLY', 'must be new-ticket or internal-note');
}

/** Comma-separated addresses and @domains; a malformed entry is refused, not skipped. */
function agentAddresses(env: Env, name: string): string[] {
  const entries = (optional(env, name) ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  const bad = entries.find((e) => !(e.startsWith('@') ? isAddress(`agent${e}`) : isAddress(e)));
  if (bad !== undefined) throw new ConfigError(name, `must list addresses or @domains, comma-separated; "${bad}" is neither`);
  return [...new Set(entries)];
}

const TLS_VARIABLES = ['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_SERVER_NAME'];

/**
 * TEMPORAL_TLS defaults to on as soon as any TLS file, server name or API key is set, and to off
 * (the dev server) otherwise. Turning it off explicitly beside such a setting is refused rather than
 * guessed: an API key over plaintext would hand the credential to anyone on the path.
 */
function temporalConfig(env: Env): TemporalConfig {
  const key = apiKey(env);
  const tlsSetting = TLS_VARIABLES.find((name) => optional(env, name) !== undefined);
  const tlsOn = bool(env, 'TEMPORAL_TLS', tlsSetting !== undefined || key !== undefined);
  if (!tlsOn && key !== undefined) throw new ConfigError('TEMPORAL_TLS', 'is false but an API key is set; an API key is only sent over TLS');
  if (!tlsOn && tlsSetting !== undefined) throw new ConfigError('TEMPORAL_TLS', `is false but ${tlsSetting} is set`);
  const serverName = optional(env, 'TEMPORAL_TLS_SERVER_NAME');
  if (serverName !== undefined && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(serverName)) {
    throw new ConfigError('TEMPORAL_TLS_SERVER_NAME', 'must be a DNS name');
  }
  const ca = fromFile(env, 'TEMPORAL_TLS_CA_FILE', readCertificates);
  const cert = fromFile(env, 'TEMPORAL_TLS_CERT_FILE', readCertificates);
  const privateKey = fromFile(env, 'TEMPORAL_TLS_KEY_FILE', readPrivateKey);
  if (cert && !privateKey) throw new ConfigError('TEMPORAL_TLS_KEY_FILE', 'is required when TEMPORAL_TLS_CERT_FILE is set');
  if (privateKey && !cert) throw new ConfigError('TEMPORAL_TLS_CERT_FILE', 'is required when TEMPORAL_TLS_KEY_FILE is set');
  if (cert && privateKey && !cert.leaf.checkPrivateKey(privateKey.key)) {
    throw new ConfigError('TEMPORAL_TLS_KEY_FILE', 'does not match the (first) certificate in TEMPORAL_TLS_CERT_FILE');
  }
  return {
    address: hostPort(env, 'TEMPORAL_ADDRESS', '127.0.0.1:7233'),
    namespace: str(env, 'TEMPORAL_NAMESPACE', 'default'),
    taskQueue: str(env, 'TEMPORAL_TASK_QUEUE', 'mailgate'),
    uiPort: int(env, 'TEMPORAL_UI_PORT', 8233, 65535),
    tls: tlsOn ? { serverCa: ca?.pem, serverName, client: cert && privateKey ? { cert: cert.pem, key: privateKey.pem } : undefined } : undefined,
    apiKey: key,
  };
}

export function loadConfig(env: Env = process.env): Config {
  const apiHost = str(env, 'API_HOST', '127.0.0.1');
  const apiPort = int(env, 'API_PORT', 3000, 65535);
  const endpoint = optional(env, 'S3_ENDPOINT');
  if (endpoint && !/^https?:\/\/[^\s]+$/.test(endpoint)) throw new ConfigError('S3_ENDPOINT', 'must be an http(s) URL');
  const domains = str(env, 'INBOUND_DOMAINS', 'mailgate.local')
    .split(',')
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);
  if (domains.length === 0) throw new ConfigError('INBOUND_DOMAINS', 'must name at least one domain');
  const databaseUrl = str(env, 'DATABASE_URL', 'sqlite:.data/default/mailgate.sqlite');
  if (!/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must start with sqlite: or postgres://');
  }
  const workerMetricsPort = listenPort(env, 'WORKER_METRICS_PORT', 9464);
  const temporalMetricsPort = listenPort(env, 'TEMPORAL_METRICS_PORT', 9465);
  if (workerMetricsPort !== 0 && workerMetricsPort === temporalMetricsPort) {
    throw new ConfigError('TEMPORAL_METRICS_PORT', 'must differ from WORKER_METRICS_PORT');
  }
  return {
    temporal: temporalConfig(env),
    s3: {
      endpoint,
      publicEndpoint: optional(env, 'S3_PUBLIC_ENDPOINT'),
      region: str(env, 'S3_REGION', 'us-east-1'),
      bucket: str(env, 'S3_BUCKET', 'mailgate'),
      accessKeyId: str(env, 'S3_ACCESS_KEY_ID'),
      secretAccessKey: str(env, 'S3_SECRET_ACCESS_KEY'),
      forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    },
    clamd: {
      host: str(env, 'CLAMD_HOST', '127.0.0.1'),
      port: int(env, 'CLAMD_PORT', 3310, 65535),
      timeoutMs: int(env, 'CLAMD_TIMEOUT_MS', 60_000),
    },
    databaseUrl,
    smtp: {
      host: str(env, 'SMTP_HOST', '127.0.0.1'),
      port: int(env, 'SMTP_PORT', 25, 65535),
      secure: bool(env, 'SMTP_SECURE', false),
      user: optional(env, 'SMTP_USER'),
      password: optional(env, 'SMTP_PASSWORD'),
    },
    ackFrom: str(env, 'ACK_FROM', `Mailgate <support@${domains[0]}>`),
    api: {
      host: apiHost,
      port: apiPort,
      publicUrl: str(env, 'API_PUBLIC_URL', `http://${apiHost}:${apiPort}`).replace(/\/+$/, ''),
      requestTimeoutSeconds: int(env, 'REQUEST_TIMEOUT_SECONDS', 120, 3600),
      shutdownGraceSeconds: int(env, 'SHUTDOWN_GRACE_SECONDS', 25, 3600),
    },
    inboundDomains: domains,
    trustedAuthservIds: authservIds(env, 'TRUSTED_AUTHSERV_IDS'),
    trust: {
      strangerReply: strangerReply(env),
      agentAddresses: agentAddresses(env, 'AGENT_ADDRESSES'),
      // Ten years at most: a mark is a pause, and "forever" is what issue 12 removed.
      undeliverableMarkDays: int(env, 'UNDELIVERABLE_MARK_DAYS', 30, 3650),
    },
    catchAll: optional(env, 'INBOUND_CATCH_ALL')?.toLowerCase(),
    limits: {
      ...DEFAULT_LIMITS,
      maxMessageBytes: int(env, 'MAX_MESSAGE_BYTES', DEFAULT_LIMITS.maxMessageBytes),
      maxAttachmentBytes: int(env, 'MAX_ATTACHMENT_BYTES', DEFAULT_LIMITS.maxAttachmentBytes),
      maxAttachments: int(env, 'MAX_ATTACHMENTS', DEFAULT_LIMITS.maxAttachments, 10_000),
      maxMimeParts: int(env, 'MAX_MIME_PARTS', DEFAULT_LIMITS.maxMimeParts, 1_000),
      maxHeaderBytes: int(env, 'MAX_HEADER_BYTES', DEFAULT_LIMITS.maxHeaderBytes, 16 * 1024 * 1024),
    },
    attachmentUrlTtlSeconds: int(env, 'ATTACHMENT_URL_TTL_SECONDS', 300, 7 * 24 * 3600),
    unscannableAttachments: oneOf(env, 'UNSCANNABLE_ATTACHMENTS', UNSCANNABLE_POLICIES, 'quarantine'),
    attachmentLinks: {
      // Unset: a key derived one-way from MAILGATE_SIGNING_KEY (validated as signingKey), so links need no extra secret.
      secret: optional(env, 'ATTACHMENT_LINK_SECRET') === undefined ? createHmac('sha256', optional(env, 'MAILGATE_SIGNING_KEY') ?? '').update('mailgate attachment links').digest('hex') : longSecret(env, 'ATTACHMENT_LINK_SECRET'),
      ttlSeconds: int(env, 'ATTACHMENT_LINK_TTL_SECONDS', 900, 24 * 3600),
    },
    rulesFile: optional(env, 'MAILGATE_RULES_FILE'),
    rules: loadRules(optional(env, 'MAILGATE_RULES_FILE')),
    signingKey: signingKey(env),
    ingress: {
      secrets: secretList(env, 'INGRESS_SECRETS'),
      maxSkewSeconds: int(env, 'INGRESS_MAX_SKEW_SECONDS', 300, 3600),
      ratePerMinute: int(env, 'INGRESS_RATE_PER_MINUTE', 1200),
      rateBurst: int(env, 'INGRESS_RATE_BURST', 60),
    },
    adminToken: longSecret(env, 'ADMIN_TOKEN'),
    workerMetrics: {
      host: str(env, 'WORKER_METRICS_HOST', '127.0.0.1'),
      port: workerMetricsPort,
      temporalPort: temporalMetricsPort,
    },
    retention: retentionConfig(env),
  };
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
    workerMetrics: config.workerMetrics,
    inboundDomains: config.inboundDomains,
    trustedAuthservIds: config.trustedAuthservIds,
    trust: { strangerReply: config.trust.strangerReply, agents: config.trust.agentAddresses.length, undeliverableMarkDays: config.trust.undeliverableMarkDays },
    rules: { instanceId: config.rules.instanceId, queues: config.rules.queues.map((q) => q.address) },
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
