/**
 * The Jira Service Management connector wired to its stand-in, as the contract suite, the connector
 * tests and the benchmark use it: the connector, an inspector that reads what Jira stored (the
 * description and comments, their Mailgate footers and properties), and cleanup.
 */
import type { HelpdeskInspector, HelpdeskUnderTest, InspectedComment } from '../../contract/helpdesk.contract';
import type { JiraSmConfig } from '../../../src/adapters/helpdesks/jira-sm/config';
import { JiraServiceManagement, type AttachmentSource } from '../../../src/adapters/helpdesks/jira-sm/connector';
import { MESSAGE_PROPERTY, parseBody, queueLabel, readTicketProperty, TICKET_PROPERTY, type MessageProperty } from '../../../src/adapters/helpdesks/jira-sm/mapping';
import { JSM_AGENT, JSM_PROJECT_KEY, JSM_REQUEST_TYPE_ID, JSM_SERVICE_DESK_ID, startJsmStandIn, type JsmStandIn, type JsmStandInOptions } from './index';
import type { JsmState } from './state';

/** Files as the object store would hand them over: a few bytes derived from the key. */
export const fakeFiles: AttachmentSource = {
  read: async (storageKey) => new TextEncoder().encode(`bytes of ${storageKey}`),
  link: async (storageKey) => `https://mailgate.example/files/${encodeURIComponent(storageKey)}?sig=test`,
};

export function jsmConfig(standIn: JsmStandIn, overrides: Partial<JiraSmConfig> = {}): JiraSmConfig {
  return {
    baseUrl: standIn.url,
    email: JSM_AGENT.email,
    apiToken: JSM_AGENT.token,
    serviceDeskId: JSM_SERVICE_DESK_ID,
    requestTypeId: JSM_REQUEST_TYPE_ID,
    projectKey: JSM_PROJECT_KEY,
    createCustomers: true,
    attachments: 'upload',
    linkType: 'Relates',
    timeoutMs: 10_000,
    ...overrides,
  };
}

export function jsmInspector(state: JsmState): HelpdeskInspector {
  return {
    comments: async (ticketId) => {
      const issue = state.issue(ticketId);
      if (!issue) return [];
      const property = readTicketProperty(issue.properties.get(TICKET_PROPERTY));
      const first: InspectedComment[] = property
        ? [{ messageId: property.firstMessage.messageId, text: parseBody(issue.description).text, internal: false, attachments: property.firstMessage.attachments }]
        : [];
      return [
        ...first,
        ...issue.comments.map((c) => {
          const message = c.properties.get(MESSAGE_PROPERTY) as MessageProperty | undefined;
          const parsed = parseBody(c.body);
          return { messageId: parsed.messageId ?? '', text: parsed.text, internal: !c.public, attachments: message?.attachments ?? [] };
        }),
      ];
    },
    queues: async (ticketId) => {
      const issue = state.issue(ticketId);
      const property = issue && readTicketProperty(issue.properties.get(TICKET_PROPERTY));
      return property ? [property.queue, ...property.extraQueues] : [];
    },
    showsQueue: async (ticketId, queue) => state.issue(ticketId)?.labels.includes(queueLabel(queue)) === true,
  };
}

export async function jsmUnderTest(options: JsmStandInOptions = {}, config: Partial<JiraSmConfig> = {}): Promise<HelpdeskUnderTest & { standIn: JsmStandIn; connector: JiraServiceManagement }> {
  const standIn = await startJsmStandIn(options);
  const connector = new JiraServiceManagement({ config: jsmConfig(standIn, config), files: fakeFiles });
  return { helpdesk: connector, connector, standIn, inspect: jsmInspector(standIn.state), cleanup: () => standIn.close() };
}
