/** The ServiceNow connector wired to its stand-in: connector, inspector (journal entries, the Mailgate record) and cleanup. */
import type { HelpdeskInspector, HelpdeskUnderTest } from '../../contract/helpdesk.contract';
import type { ServiceNowConfig } from '../../../src/adapters/helpdesks/servicenow/config';
import { readServiceNowMeta, ServiceNow } from '../../../src/adapters/helpdesks/servicenow/connector';
import { parseBody } from '../../../src/adapters/helpdesks/footer';
import { fakeFiles } from '../jira-sm/harness';
import { SERVICENOW_USER, startServiceNowStandIn, type ServiceNowStandIn } from './index';

export function serviceNowConfig(standIn: ServiceNowStandIn, overrides: Partial<ServiceNowConfig> = {}): ServiceNowConfig {
  return {
    baseUrl: standIn.url,
    user: SERVICENOW_USER.name,
    password: SERVICENOW_USER.password,
    table: 'incident',
    numberPrefix: 'INC',
    metaField: 'u_mailgate_meta',
    headersField: 'u_mailgate_headers',
    assignmentGroups: {},
    closeCode: 'Solved (Permanently)',
    attachments: 'upload',
    timeoutMs: 10_000,
    ...overrides,
  };
}

export function serviceNowInspector(standIn: ServiceNowStandIn): HelpdeskInspector {
  const record = (id: string) => standIn.tables.get('incident')?.get(id);
  return {
    comments: async (ticketId) => {
      const row = record(ticketId);
      const meta = row && readServiceNowMeta(row.u_mailgate_meta);
      if (!row || !meta) return [];
      const files = new Map(meta.messages.map((m) => [m.messageId, m.attachments]));
      const first = parseBody(row.description ?? '');
      const entries = [...(standIn.tables.get('sys_journal_field')?.values() ?? [])].filter((j) => j.element_id === ticketId);
      return [
        { messageId: first.messageId ?? '', text: first.text, internal: false, attachments: files.get(first.messageId ?? '') ?? [] },
        ...entries.map((j) => {
          const parsed = parseBody(j.value ?? '');
          return { messageId: parsed.messageId ?? '', text: parsed.text, internal: j.element === 'work_notes', attachments: files.get(parsed.messageId ?? '') ?? [] };
        }),
      ];
    },
    queues: async (ticketId) => {
      const meta = readServiceNowMeta(record(ticketId)?.u_mailgate_meta);
      return meta ? [meta.queue, ...meta.extraQueues] : [];
    },
    // Without an assignment group for the queue, a work note is what agents see.
    showsQueue: async (ticketId, queue) =>
      [...(standIn.tables.get('sys_journal_field')?.values() ?? [])].some((j) => j.element_id === ticketId && j.element === 'work_notes' && (j.value ?? '').includes(` ${queue}.`)),
  };
}

export async function serviceNowUnderTest(): Promise<HelpdeskUnderTest & { standIn: ServiceNowStandIn }> {
  const standIn = await startServiceNowStandIn();
  return { helpdesk: new ServiceNow({ config: serviceNowConfig(standIn), files: fakeFiles }), standIn, inspect: serviceNowInspector(standIn), cleanup: () => standIn.close() };
}
