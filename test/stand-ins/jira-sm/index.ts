/**
 * A stateful Jira Service Management Cloud stand-in on loopback: Basic auth with an agent's email and
 * API token, one service desk (`SD`, id 1) with an "Emailed request" type, the servicedeskapi and
 * platform calls Mailgate uses, search that lags writes, and fault switches (429/503 + Retry-After,
 * hangs). With `prism: true` the platform calls pass through Prism, validated against
 * test/stand-ins/specs/jira-platform.openapi.yaml (Apache-2.0); the servicedeskapi calls, which that spec
 * does not cover, are validated by the stand-in itself (servicedesk-api.ts).
 */
import path from 'node:path';
import { basicCredentials, jsonBody, startLoopback, type FaultSwitch, type StandInAnswer } from '../loopback';
import { startPlatformRouter, startPrismProxy, type PlatformRouter, type RunningPrism } from '../prism';
import { jiraError, platformApi } from './platform-api';
import { serviceDeskApi } from './servicedesk-api';
import { JsmState, type JsmUser } from './state';

/** The vendored platform spec (from dist/test/stand-ins/jira-sm/ up to the repository root). */
export const JIRA_PLATFORM_SPEC = path.resolve(__dirname, '../../../../test/stand-ins/specs/jira-platform.openapi.yaml');

export const JSM_AGENT = { email: 'agent@mailgate.example', token: 'jsm-test-token-0123456789' };
export const JSM_SERVICE_DESK_ID = '1';
export const JSM_REQUEST_TYPE_ID = '10';
export const JSM_PROJECT_KEY = 'SD';

export interface JsmStandInOptions {
  /** How long a new issue stays invisible to JQL search (default 2 s, Jira's index lag is seconds). */
  searchLagMs?: number;
  /** Whether the agent may create customers (default true). */
  customerCreation?: boolean;
  /** Put Prism in front of the platform calls (default false: unit-level tests stay light). */
  prism?: boolean;
}

export interface JsmStandIn {
  /** The one base URL a connector uses, as it would use https://site.atlassian.net. */
  url: string;
  state: JsmState;
  faults: FaultSwitch;
  /** Requests the stand-in answered or faulted (after Prism, when it is in front). */
  log: { method: string; path: string }[];
  /** How many requests went through Prism (0 without it). */
  viaPrism(): number;
  close(): Promise<void>;
}

export async function startJsmStandIn(options: JsmStandInOptions = {}): Promise<JsmStandIn> {
  const agent: JsmUser = { accountId: '5b10ac8d82e05b22cc7d4ef5', emailAddress: JSM_AGENT.email, displayName: 'Mailgate Agent', accountType: 'atlassian' };
  const state = new JsmState(agent);
  state.desks.set(JSM_SERVICE_DESK_ID, {
    id: JSM_SERVICE_DESK_ID,
    projectKey: JSM_PROJECT_KEY,
    requestTypes: new Map([[JSM_REQUEST_TYPE_ID, new Set(['summary', 'description', 'labels', 'priority', 'attachment'])]]),
  });
  let base = '';
  const backend = await startLoopback(async (req): Promise<StandInAnswer> => {
    const who = basicCredentials(req);
    if (!who || who.user !== JSM_AGENT.email || who.password !== JSM_AGENT.token) {
      return { status: 401, body: { errorMessages: ['Client must be authenticated to access this resource.'], errors: {} } };
    }
    if (['POST', 'PUT'].includes(req.method) && req.body.length > 0 && String(req.headers['content-type'] ?? '').startsWith('application/json') && jsonBody(req) === undefined) {
      return jiraError(400, 'Unexpected character in the request body: it is not valid JSON.');
    }
    if (req.path.startsWith('/rest/servicedeskapi/')) return serviceDeskApi(state, agent, req, { customerCreation: options.customerCreation ?? true });
    if (req.path.startsWith('/rest/api/3/')) return platformApi(state, agent, req, { searchLagMs: options.searchLagMs ?? 2_000, base });
    return jiraError(404, `No resource at ${req.method} ${req.path}`);
  });
  let prism: RunningPrism | undefined;
  let router: PlatformRouter | undefined;
  if (options.prism) {
    try {
      prism = await startPrismProxy(JIRA_PLATFORM_SPEC, `${backend.url}/rest`);
      router = await startPlatformRouter({ prismUrl: prism.url, direct: backend.url, prefix: '/rest/api/3/', stripPrefix: '/rest' });
    } catch (error) {
      await prism?.stop();
      await backend.close();
      throw error;
    }
  }
  base = router?.url ?? backend.url;
  return {
    url: base,
    state,
    faults: backend.faults,
    log: backend.log,
    viaPrism: () => router?.viaPrism() ?? 0,
    close: async () => {
      await router?.close();
      await prism?.stop();
      await backend.close();
    },
  };
}
