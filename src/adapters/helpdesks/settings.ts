/**
 * Helpdesk connectors from configuration: HELPDESK_CONNECTORS is a JSON list, one object per named
 * connector. Secrets are never written there: a field ending in `Env` names the environment variable
 * that holds the secret (`"tokenEnv": "ZENDESK_TOKEN"`), read once here and kept out of every log
 * and error (describeConnectors shows names, kinds and hosts only).
 *
 *   [{ "name": "zendesk-main", "kind": "zendesk", "baseUrl": "https://acme.zendesk.com",
 *      "auth": "oauth", "tokenEnv": "ZENDESK_TOKEN", "attachments": "upload", "timeoutMs": 10000 }]
 */
import type { AttachmentMode } from './delivering-helpdesk';

export const BUILT_IN = 'built-in';
const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const COMMON = new Set(['name', 'kind', 'baseUrl', 'attachments', 'timeoutMs', 'canary']);

export interface CanarySettings {
  enabled: boolean;
  /** Minutes between canary tickets. */
  everyMinutes: number;
  requester: string;
}

export interface ConnectorSettings {
  name: string;
  kind: string;
  baseUrl: string;
  attachments: AttachmentMode;
  timeoutMs: number;
  canary: CanarySettings;
  /** The kind's own fields, without the `…Env` references. */
  options: Record<string, unknown>;
  /** Secrets read from the environment, by field name without `Env` (`token`). Never logged. */
  secrets: Record<string, string>;
}

export class ConnectorSettingsError extends Error {
  override name = 'ConnectorSettingsError';
}

export function parseConnectors(text: string | undefined, env: Record<string, string | undefined>): ConnectorSettings[] {
  if (text === undefined || text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConnectorSettingsError('must be a JSON list of connector objects');
  }
  if (!Array.isArray(parsed)) throw new ConnectorSettingsError('must be a JSON list of connector objects');
  const seen = new Set<string>();
  return parsed.map((entry: unknown, i) => {
    const where = `[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ConnectorSettingsError(`${where} must be an object`);
    const o = entry as Record<string, unknown>;
    const name = o.name;
    if (typeof name !== 'string' || !NAME.test(name) || name === BUILT_IN) {
      throw new ConnectorSettingsError(`${where}.name must be 1-40 lower-case letters, digits, _ or - (and not "${BUILT_IN}")`);
    }
    if (seen.has(name)) throw new ConnectorSettingsError(`${where}.name "${name}" is used twice`);
    seen.add(name);
    if (typeof o.kind !== 'string' || o.kind === '') throw new ConnectorSettingsError(`${where} (${name}).kind is required`);
    if (typeof o.baseUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(o.baseUrl)) throw new ConnectorSettingsError(`${where} (${name}).baseUrl must be an http(s) URL`);
    const attachments = o.attachments ?? 'upload';
    if (attachments !== 'upload' && attachments !== 'links') throw new ConnectorSettingsError(`${where} (${name}).attachments must be "upload" or "links"`);
    const timeoutMs = o.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 25_000) {
      throw new ConnectorSettingsError(`${where} (${name}).timeoutMs must be an integer from 100 to 25000 (the ticket step's 30 s budget holds an upload and the create)`);
    }
    const options: Record<string, unknown> = {};
    const secrets: Record<string, string> = {};
    for (const [key, value] of Object.entries(o)) {
      if (COMMON.has(key)) continue;
      if (key.endsWith('Env')) {
        if (typeof value !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(value)) throw new ConnectorSettingsError(`${where} (${name}).${key} must name an environment variable`);
        const secret = env[value]?.trim();
        if (!secret) throw new ConnectorSettingsError(`${where} (${name}).${key}: ${value} is not set`);
        secrets[key.slice(0, -3)] = secret;
      } else options[key] = value;
    }
    return { name, kind: o.kind, baseUrl: o.baseUrl.replace(/\/+$/, ''), attachments, timeoutMs, canary: canary(o.canary, `${where} (${name}).canary`), options, secrets };
  });
}

function canary(value: unknown, where: string): CanarySettings {
  if (value === undefined) return { enabled: false, everyMinutes: 60, requester: 'canary@mailgate.invalid' };
  if (typeof value !== 'object' || value === null) throw new ConnectorSettingsError(`${where} must be an object`);
  const o = value as Record<string, unknown>;
  const everyMinutes = o.everyMinutes ?? 60;
  if (typeof everyMinutes !== 'number' || !Number.isInteger(everyMinutes) || everyMinutes < 1) throw new ConnectorSettingsError(`${where}.everyMinutes must be a positive integer`);
  const requester = o.requester ?? 'canary@mailgate.invalid';
  if (typeof requester !== 'string' || !requester.includes('@')) throw new ConnectorSettingsError(`${where}.requester must be an email address`);
  return { enabled: o.enabled === true, everyMinutes, requester };
}

/** What may be logged about the connectors: names, kinds, hosts and modes, never secrets or paths. */
export function describeConnectors(settings: readonly ConnectorSettings[]): Record<string, unknown>[] {
  return settings.map((s) => ({ name: s.name, kind: s.kind, host: new URL(s.baseUrl).host, attachments: s.attachments, canary: s.canary.enabled }));
}
