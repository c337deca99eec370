/**
 * The Jira Service Management connector's settings, read from the environment under a prefix
 * (`JIRA_SM_` by default, so several connectors can be configured side by side). A bad value fails
 * fast naming the variable; the API token is never put in an error or a log.
 */
import type { AttachmentMode } from '../vendor-env';

export interface JiraSmConfig {
  /** https://<site>.atlassian.net (or https://api.atlassian.com/ex/jira/<cloudId>). */
  baseUrl: string;
  /** The agent account the API token belongs to. */
  email: string;
  apiToken: string;
  serviceDeskId: string;
  requestTypeId: string;
  /** The service desk's project key (`SD`): a ticket number n is the issue `SD-n`. */
  projectKey: string;
  /** Create a JSM customer for a requester with no account (needs the permission; else the request is raised as the agent). */
  createCustomers: boolean;
  /** Clean files uploaded into the request, or named with links to Mailgate's copies. */
  attachments: AttachmentMode;
  /** The issue link type that ties a follow-up to the closed ticket it follows. */
  linkType: string;
  timeoutMs: number;
}

export class JiraSmConfigError extends Error {}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new JiraSmConfigError(`${name} is required for the Jira Service Management connector`);
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new JiraSmConfigError(`${name} must be true or false`);
}

export function jiraSmConfigFromEnv(env: NodeJS.ProcessEnv, prefix = 'JIRA_SM_'): JiraSmConfig {
  const baseUrl = required(env, `${prefix}BASE_URL`);
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new JiraSmConfigError(`${prefix}BASE_URL must be an absolute URL`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new JiraSmConfigError(`${prefix}BASE_URL must use https (plain http only to a loopback stand-in)`);
  }
  const projectKey = required(env, `${prefix}PROJECT_KEY`);
  if (!/^[A-Z][A-Z0-9_]*$/.test(projectKey)) throw new JiraSmConfigError(`${prefix}PROJECT_KEY must be a Jira project key (upper case, e.g. SD)`);
  const serviceDeskId = required(env, `${prefix}SERVICE_DESK_ID`);
  const requestTypeId = required(env, `${prefix}REQUEST_TYPE_ID`);
  for (const [name, value] of [[`${prefix}SERVICE_DESK_ID`, serviceDeskId], [`${prefix}REQUEST_TYPE_ID`, requestTypeId]] as const) {
    if (!/^\d+$/.test(value)) throw new JiraSmConfigError(`${name} must be a numeric id`);
  }
  const attachments = env[`${prefix}ATTACHMENTS`]?.trim() || 'upload';
  if (attachments !== 'upload' && attachments !== 'links') throw new JiraSmConfigError(`${prefix}ATTACHMENTS must be upload or links`);
  const timeout = Number(env[`${prefix}TIMEOUT_MS`]?.trim() || '30000');
  if (!Number.isInteger(timeout) || timeout < 1_000 || timeout > 300_000) throw new JiraSmConfigError(`${prefix}TIMEOUT_MS must be an integer from 1000 to 300000`);
  return {
    baseUrl: url.toString().replace(/\/$/, ''),
    email: required(env, `${prefix}EMAIL`),
    apiToken: required(env, `${prefix}API_TOKEN`),
    serviceDeskId,
    requestTypeId,
    projectKey,
    createCustomers: flag(env, `${prefix}CREATE_CUSTOMERS`, true),
    attachments,
    linkType: env[`${prefix}LINK_TYPE`]?.trim() || 'Relates',
    timeoutMs: timeout,
  };
}
