/**
 * The Helpdesk contract through the framework's production path for the Jira Service Management,
 * Freshdesk and ServiceNow kinds: a HELPDESK_CONNECTORS entry built by the registry's factory,
 * wrapped in DeliveringHelpdesk (the conversation recorded in a SQLite built-in store, delivered once
 * under ledger claims) against each vendor's stand-in. Text, Message-ID and visibility are read from
 * the stand-in; the file records from Mailgate's record, as the Zendesk harness does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DeliveringHelpdesk } from '../../src/adapters/helpdesks/delivering-helpdesk';
import { CONNECTOR_KINDS } from '../../src/adapters/helpdesks/registry';
import { parseConnectors } from '../../src/adapters/helpdesks/settings';
import { createSqliteTicketStore } from '../../src/adapters/ticket-store';
import { helpdeskContract, type HelpdeskInspector, type HelpdeskUnderTest } from './helpdesk.contract';
import { freshdeskInspector } from '../stand-ins/freshdesk/harness';
import { FRESHDESK_API_KEY, startFreshdeskStandIn } from '../stand-ins/freshdesk';
import { jsmInspector } from '../stand-ins/jira-sm/harness';
import { JSM_AGENT, JSM_PROJECT_KEY, JSM_REQUEST_TYPE_ID, JSM_SERVICE_DESK_ID, startJsmStandIn } from '../stand-ins/jira-sm';
import { serviceNowInspector } from '../stand-ins/servicenow/harness';
import { SERVICENOW_USER, startServiceNowStandIn } from '../stand-ins/servicenow';

const dir = mkdtempSync(join(tmpdir(), 'mailgate-vendor-kinds-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let stores = 0;

interface StandIn {
  url: string;
  close(): Promise<void>;
}

async function through(kind: string, entry: Record<string, unknown>, env: Record<string, string>, standIn: StandIn, vendorSide: HelpdeskInspector): Promise<HelpdeskUnderTest> {
  stores += 1;
  const store = createSqliteTicketStore(join(dir, `store-${stores}`, 'tickets.sqlite'));
  await store.migrate();
  const [settings] = parseConnectors(JSON.stringify([{ name: `${kind}-test`, kind, baseUrl: standIn.url, timeoutMs: 10_000, ...entry }]), env);
  if (!settings) throw new Error('no settings');
  const factory = CONNECTOR_KINDS[kind];
  if (!factory) throw new Error(`${kind} is not registered`);
  const helpdesk = new DeliveringHelpdesk({
    name: settings.name,
    connector: factory(settings, { request: () => undefined, rateLimited: () => undefined }),
    record: store,
    ledger: store,
    attachments: 'upload',
    readFile: async (key) => Buffer.from(`bytes of ${key}`),
    leaseMs: 30_000,
  });
  const external = (ticketId: string) => store.deliveredId({ connector: settings.name, ticketId, messageId: null });
  return {
    helpdesk,
    inspect: {
      comments: async (ticketId) => {
        const local = await store.getTicket(ticketId);
        const externalId = await external(ticketId);
        if (!local || externalId === null) return [];
        return (await vendorSide.comments(externalId)).map((c) => ({
          ...c,
          attachments: local.comments.find((l) => l.messageId === c.messageId)?.attachments.map(({ id: _id, ...a }) => a) ?? [],
        }));
      },
      queues: async (ticketId) => {
        const ticket = await store.getTicket(ticketId);
        return ticket ? [ticket.queue, ...ticket.extraQueues] : [];
      },
      showsQueue: async (ticketId, queue) => {
        const externalId = await external(ticketId);
        return externalId !== null && (await vendorSide.showsQueue!(externalId, queue));
      },
    },
    cleanup: async () => {
      await standIn.close();
      await store.close();
    },
  };
}

helpdeskContract('jira-sm kind through DeliveringHelpdesk', async () => {
  const standIn = await startJsmStandIn({ searchLagMs: 2_000 });
  const entry = { email: JSM_AGENT.email, tokenEnv: 'JSM_TOKEN', serviceDeskId: JSM_SERVICE_DESK_ID, requestTypeId: JSM_REQUEST_TYPE_ID, projectKey: JSM_PROJECT_KEY };
  return through('jira-sm', entry, { JSM_TOKEN: JSM_AGENT.token }, standIn, jsmInspector(standIn.state));
});

helpdeskContract('freshdesk kind through DeliveringHelpdesk', async () => {
  const standIn = await startFreshdeskStandIn({ searchLagMs: 2_000 });
  return through('freshdesk', { apiKeyEnv: 'FD_KEY' }, { FD_KEY: FRESHDESK_API_KEY }, standIn, freshdeskInspector(standIn));
});

helpdeskContract('servicenow kind through DeliveringHelpdesk', async () => {
  const standIn = await startServiceNowStandIn();
  return through('servicenow', { user: SERVICENOW_USER.name, passwordEnv: 'SNOW_PASSWORD' }, { SNOW_PASSWORD: SERVICENOW_USER.password }, standIn, serviceNowInspector(standIn));
});
