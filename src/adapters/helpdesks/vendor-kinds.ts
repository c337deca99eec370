/**
 * Registry factories (./registry.ts) for Jira Service Management, Freshdesk and ServiceNow, from a
 * HELPDESK_CONNECTORS entry. Secrets come from the entry's `…Env` references (./settings.ts):
 *
 *   { "name": "jsm", "kind": "jira-sm", "baseUrl": "https://acme.atlassian.net", "email": "agent@acme.example",
 *     "tokenEnv": "JSM_TOKEN", "serviceDeskId": "4", "requestTypeId": "27", "projectKey": "HELP" }
 *   { "name": "fd", "kind": "freshdesk", "baseUrl": "https://acme.freshdesk.com", "apiKeyEnv": "FD_KEY" }
 *   { "name": "snow", "kind": "servicenow", "baseUrl": "https://acme.service-now.com", "user": "mailgate",
 *     "passwordEnv": "SNOW_PASSWORD", "table": "incident" }
 *
 * The settings are checked by each vendor's own parser, so a bad value is named the same way.
 */
import type { VendorConnector } from './connector';
import { freshdeskConfigFromEnv } from './freshdesk/config';
import { Freshdesk } from './freshdesk/connector';
import type { HttpMetricsHook } from './http';
import { jiraSmConfigFromEnv } from './jira-sm/config';
import { JiraServiceManagement } from './jira-sm/connector';
import { HandedFiles, PortVendorConnector } from './port-vendor';
import { serviceNowConfigFromEnv } from './servicenow/config';
import { ServiceNow } from './servicenow/connector';
import { ConnectorSettingsError, type ConnectorSettings } from './settings';

/** The entry as the vendor parsers' environment: option `serviceDeskId` → `P_SERVICE_DESK_ID`. */
function asEnv(s: ConnectorSettings, extra: Record<string, string | undefined>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { P_BASE_URL: s.baseUrl, P_TIMEOUT_MS: String(s.timeoutMs < 1_000 ? 1_000 : s.timeoutMs), ...extra };
  for (const [key, value] of Object.entries(s.options)) {
    const name = `P_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number') env[name] = String(value);
    // A map (ServiceNow's assignmentGroups) goes as its JSON, checked by the vendor's parser.
    else if (value !== null && typeof value === 'object') env[name] = JSON.stringify(value);
  }
  return env;
}

function parsed<T>(s: ConnectorSettings, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new ConnectorSettingsError(`${s.name}: ${error instanceof Error ? error.message.replace(/\bP_/g, '') : String(error)}`);
  }
}

export function jiraSmKind(s: ConnectorSettings, metrics: HttpMetricsHook): VendorConnector {
  const config = parsed(s, () => jiraSmConfigFromEnv(asEnv(s, { P_API_TOKEN: s.secrets.token, P_ATTACHMENTS: 'upload' }), 'P_'));
  const files = new HandedFiles();
  return new PortVendorConnector('jira-sm', new JiraServiceManagement({ config, files, metrics, name: s.name }), files);
}

export function freshdeskKind(s: ConnectorSettings, metrics: HttpMetricsHook): VendorConnector {
  const config = parsed(s, () => freshdeskConfigFromEnv(asEnv(s, { P_API_KEY: s.secrets.apiKey, P_ATTACHMENTS: 'upload' }), 'P_'));
  const files = new HandedFiles();
  return new PortVendorConnector('freshdesk', new Freshdesk({ config, files, metrics, name: s.name }), files);
}

export function serviceNowKind(s: ConnectorSettings, metrics: HttpMetricsHook): VendorConnector {
  const config = parsed(s, () => serviceNowConfigFromEnv(asEnv(s, { P_PASSWORD: s.secrets.password, P_ATTACHMENTS: 'upload' }), 'P_'));
  const files = new HandedFiles();
  return new PortVendorConnector('servicenow', new ServiceNow({ config, files, metrics, name: s.name }), files);
}
