/**
 * The registry of named helpdesk connectors: each configured connector (./settings.ts) built by its
 * kind's factory and wrapped in a DeliveringHelpdesk. A new vendor adds one entry to CONNECTOR_KINDS.
 */
import type { Ledger } from '../../ports/ledger';
import type { VendorConnector } from './connector';
import { DeliveringHelpdesk, type ConversationRecord } from './delivering-helpdesk';
import { NO_METRICS, type HttpMetricsHook } from './http';
import { ConnectorSettingsError, type ConnectorSettings } from './settings';
import { GenericRestConnector } from './generic-rest/generic-rest';
import { freshdeskKind, jiraSmKind, serviceNowKind } from './vendor-kinds';
import { ZendeskConnector } from './zendesk/zendesk';

export type ConnectorFactory = (settings: ConnectorSettings, metrics: HttpMetricsHook) => VendorConnector;

function zendesk(s: ConnectorSettings, metrics: HttpMetricsHook): VendorConnector {
  const auth = s.options.auth ?? 'oauth';
  const token = s.secrets.token;
  if (!token) throw new ConnectorSettingsError(`${s.name}: tokenEnv is required`);
  if (auth === 'oauth') return new ZendeskConnector({ name: s.name, baseUrl: s.baseUrl, auth: { kind: 'oauth', token }, timeoutMs: s.timeoutMs, metrics });
  if (auth === 'api_token' && typeof s.options.email === 'string' && s.options.email.includes('@')) {
    return new ZendeskConnector({ name: s.name, baseUrl: s.baseUrl, auth: { kind: 'api_token', email: s.options.email, token }, timeoutMs: s.timeoutMs, metrics });
  }
  throw new ConnectorSettingsError(`${s.name}: auth must be "oauth", or "api_token" with an email`);
}

function genericRest(s: ConnectorSettings, metrics: HttpMetricsHook): VendorConnector {
  const secret = s.secrets.secret;
  if (!secret || secret.length < 32) throw new ConnectorSettingsError(`${s.name}: secretEnv must name a secret of at least 32 characters`);
  return new GenericRestConnector({ name: s.name, baseUrl: s.baseUrl, secret, timeoutMs: s.timeoutMs, metrics });
}

export const CONNECTOR_KINDS: Record<string, ConnectorFactory> = { zendesk, 'generic-rest': genericRest, 'jira-sm': jiraSmKind, freshdesk: freshdeskKind, servicenow: serviceNowKind };

export interface RegistryDeps {
  record: ConversationRecord;
  ledger: Pick<Ledger, 'claimDelivery' | 'completeDelivery' | 'deliveredId'>;
  readFile(storageKey: string): Promise<Uint8Array>;
  linkFor?(attachmentId: string): string;
  metrics: HttpMetricsHook;
  /** Extra kinds (tests, or vendors added beside these). */
  kinds?: Record<string, ConnectorFactory>;
}

/** The vendor connectors alone (reachability checks, the canary): no ledger, no metrics. */
export function vendorConnectors(settings: readonly ConnectorSettings[], kinds: Record<string, ConnectorFactory> = CONNECTOR_KINDS): Map<string, VendorConnector> {
  return new Map(settings.map((s) => [s.name, factoryOf(s, kinds)(s, NO_METRICS)]));
}

function factoryOf(s: ConnectorSettings, kinds: Record<string, ConnectorFactory>): ConnectorFactory {
  const factory = kinds[s.kind];
  if (!factory) throw new ConnectorSettingsError(`${s.name}: unknown kind "${s.kind}" (${Object.keys(kinds).join(', ')})`);
  return factory;
}

export function buildConnectors(settings: readonly ConnectorSettings[], deps: RegistryDeps): Map<string, DeliveringHelpdesk> {
  const kinds = { ...CONNECTOR_KINDS, ...deps.kinds };
  const built = new Map<string, DeliveringHelpdesk>();
  for (const s of settings) {
    const factory = factoryOf(s, kinds);
    built.set(
      s.name,
      new DeliveringHelpdesk({
        name: s.name,
        connector: factory(s, deps.metrics),
        record: deps.record,
        ledger: deps.ledger,
        attachments: s.attachments,
        readFile: deps.readFile,
        linkFor: deps.linkFor,
        // Past one call's timeout (plus the upload calls before it), a claim's worker is gone.
        leaseMs: 2 * s.timeoutMs + 5_000,
      }),
    );
  }
  return built;
}
