/**
 * The pollers' configuration (issue 17): a JSON file named by MAILGATE_POLLERS_FILE listing IMAP
 * mailboxes and provider event APIs to pull mail from. Credentials are given by reference only (the
 * name of an environment variable, or a file such as a mounted secret or a token an OAuth agent
 * refreshes), so the file itself holds no secret and a credential is read when a connection opens.
 *
 *   { "imap": [{ "name": "support", "host": "imap.example.com", "port": 993, "secure": true,
 *                "user": "support@example.com", "password": { "env": "SUPPORT_IMAP_PASSWORD" },
 *                "recipient": "support@example.com" }],
 *     "mailgun": [{ "name": "mg", "domain": "mg.example.com", "apiKey": { "file": "/run/secrets/mg" } }] }
 */
import { readFileSync } from 'node:fs';

/** A credential by reference: an environment variable's name, or a file's path. */
export type SecretRef = { env: string } | { file: string };

export interface ImapPollerSettings {
  /** Names the poller: its workflow id, its cursor, its logs. Lower-case letters, digits, '-'. */
  name: string;
  host: string;
  port: number;
  /** TLS from the start (993); false: STARTTLS, required except on loopback (143). */
  secure: boolean;
  user: string;
  /** LOGIN with a password, or AUTHENTICATE XOAUTH2 with a bearer token (Gmail, Microsoft 365). */
  auth: { password: SecretRef } | { accessToken: SecretRef };
  mailbox: string;
  /** The address this mailbox receives for: the envelope recipient every message is accepted for. */
  recipient: string;
  /** What happens to a message once accepted: flagged \Seen, or moved to another mailbox. */
  afterAccept: { seen: true } | { moveTo: string };
  /** Messages per activity call; the cursor advances message by message within it. */
  batchSize: number;
  /** Longest wait for new mail in one activity call (IDLE, or NOOP polls without it). */
  idleSeconds: number;
}

export interface MailgunPollerSettings {
  name: string;
  /** https://api.mailgun.net (US) or https://api.eu.mailgun.net (EU); a stand-in in tests. */
  baseUrl: string;
  domain: string;
  apiKey: SecretRef;
  /** Used when a stored event names no recipient (it always does in Mailgun's own shape). */
  recipient: string | null;
  /** Events per page (Mailgun allows 1 to 300). */
  pageSize: number;
  /** The poll interval adapts between these: short while pages come back full, long when idle. */
  minIntervalSeconds: number;
  maxIntervalSeconds: number;
  /**
   * Only events older than this are trusted (Mailgun "Event Polling": events reach its storage out
   * of order, so a recent page may still gain events; it suggests half an hour).
   */
  settleSeconds: number;
  /** The first round (no cursor yet) starts this far before the settled edge: mail stored before Mailgate polled. */
  lookbackSeconds: number;
}

export interface PollerSettings {
  imap: ImapPollerSettings[];
  mailgun: MailgunPollerSettings[];
}

export const NO_POLLERS: PollerSettings = Object.freeze({ imap: [], mailgun: [] }) as PollerSettings;

export class PollerSettingsError extends Error {}

type Json = Record<string, unknown>;

function fail(where: string, what: string): never {
  throw new PollerSettingsError(`${where}: ${what}`);
}

function obj(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(where, 'must be an object');
  return value as Json;
}

function text(o: Json, key: string, where: string, fallback?: string): string {
  const value = o[key];
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '' || value.length > 1000) fail(`${where}.${key}`, 'must be a non-empty string');
  return value.trim();
}

function integer(o: Json, key: string, where: string, fallback: number, min: number, max: number): number {
  const value = o[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(`${where}.${key}`, `must be an integer from ${min} to ${max}`);
  return value;
}

function secretRef(value: unknown, where: string): SecretRef {
  const o = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Json;
  const keys = Object.keys(o);
  if (keys.length === 1 && typeof o['env'] === 'string' && /^[A-Z_][A-Z0-9_]*$/.test(o['env'])) return { env: o['env'] };
  if (keys.length === 1 && typeof o['file'] === 'string' && o['file'].startsWith('/')) return { file: o['file'] };
  return fail(where, 'must be {"env": "VARIABLE_NAME"} or {"file": "/absolute/path"} (credentials are never written in this file)');
}

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

function imap(value: unknown, where: string): ImapPollerSettings {
  const o = obj(value, where);
  const name = text(o, 'name', where);
  if (!NAME.test(name)) fail(`${where}.name`, 'must be lower-case letters, digits and -');
  const recipient = text(o, 'recipient', where).toLowerCase();
  if (!ADDRESS.test(recipient)) fail(`${where}.recipient`, 'must be an address');
  const secure = o['secure'] ?? true;
  if (typeof secure !== 'boolean') fail(`${where}.secure`, 'must be true or false');
  if ((o['password'] === undefined) === (o['accessToken'] === undefined)) fail(where, 'needs exactly one of password or accessToken');
  const moveTo = o['moveTo'];
  if (moveTo !== undefined && (typeof moveTo !== 'string' || moveTo.trim() === '')) fail(`${where}.moveTo`, 'must name a mailbox');
  const mailbox = text(o, 'mailbox', where, 'INBOX');
  if (typeof moveTo === 'string' && moveTo.trim() === mailbox) fail(`${where}.moveTo`, 'must differ from mailbox');
  return {
    name,
    host: text(o, 'host', where),
    port: integer(o, 'port', where, secure ? 993 : 143, 1, 65535),
    secure,
    user: text(o, 'user', where),
    auth: o['password'] !== undefined ? { password: secretRef(o['password'], `${where}.password`) } : { accessToken: secretRef(o['accessToken'], `${where}.accessToken`) },
    mailbox,
    recipient,
    afterAccept: typeof moveTo === 'string' ? { moveTo: moveTo.trim() } : { seen: true },
    batchSize: integer(o, 'batchSize', where, 100, 1, 1000),
    idleSeconds: integer(o, 'idleSeconds', where, 300, 1, 1740),
  };
}

function mailgun(value: unknown, where: string): MailgunPollerSettings {
  const o = obj(value, where);
  const name = text(o, 'name', where);
  if (!NAME.test(name)) fail(`${where}.name`, 'must be lower-case letters, digits and -');
  const baseUrl = text(o, 'baseUrl', where, 'https://api.mailgun.net').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s/]+(:\d+)?$/.test(baseUrl)) fail(`${where}.baseUrl`, 'must be an http(s) origin');
  const recipient = o['recipient'] === undefined ? null : text(o, 'recipient', where).toLowerCase();
  if (recipient !== null && !ADDRESS.test(recipient)) fail(`${where}.recipient`, 'must be an address');
  const minIntervalSeconds = integer(o, 'minIntervalSeconds', where, 5, 1, 3600);
  const maxIntervalSeconds = integer(o, 'maxIntervalSeconds', where, 60, 1, 3600);
  if (maxIntervalSeconds < minIntervalSeconds) fail(`${where}.maxIntervalSeconds`, 'must be at least minIntervalSeconds');
  return {
    name,
    baseUrl,
    domain: text(o, 'domain', where),
    apiKey: secretRef(o['apiKey'], `${where}.apiKey`),
    recipient,
    pageSize: integer(o, 'pageSize', where, 100, 1, 300),
    minIntervalSeconds,
    maxIntervalSeconds,
    settleSeconds: integer(o, 'settleSeconds', where, 1800, 0, 86_400),
    // Mailgun keeps events for at least 3 days (30 on paid plans).
    lookbackSeconds: integer(o, 'lookbackSeconds', where, 0, 0, 30 * 86_400),
  };
}

export function parsePollerSettings(value: unknown): PollerSettings {
  const o = obj(value, 'pollers');
  const unknown = Object.keys(o).filter((k) => k !== 'imap' && k !== 'mailgun');
  if (unknown.length > 0) fail('pollers', `unknown kind ${unknown.join(', ')} (imap, mailgun)`);
  const list = (key: string): unknown[] => {
    const v = o[key] ?? [];
    if (!Array.isArray(v)) fail(key, 'must be a list');
    return v;
  };
  const settings = { imap: list('imap').map((v, i) => imap(v, `imap[${i}]`)), mailgun: list('mailgun').map((v, i) => mailgun(v, `mailgun[${i}]`)) };
  const names = [...settings.imap, ...settings.mailgun].map((p) => p.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) fail('pollers', `the name ${twice} is used twice`);
  return settings;
}

/** Reads and checks the file; unset means no pollers. Errors name the entry, never a value. */
export function loadPollerSettings(file: string | undefined): PollerSettings {
  if (file === undefined) return NO_POLLERS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new PollerSettingsError(`cannot read ${file} as JSON (${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'})`);
  }
  return parsePollerSettings(parsed);
}

/** Reads a credential when a connection opens (rotated files and variables are picked up). */
export function readSecret(ref: SecretRef, env: Record<string, string | undefined> = process.env): string | null {
  if ('env' in ref) return env[ref.env]?.trim() || null;
  try {
    return readFileSync(ref.file, 'utf8').trim() || null;
  } catch {
    return null;
  }
}
