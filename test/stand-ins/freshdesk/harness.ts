/** The Freshdesk connector wired to its stand-in: connector, inspector (notes, footers, the meta field) and cleanup. */
import type { HelpdeskInspector, HelpdeskUnderTest } from '../../contract/helpdesk.contract';
import type { FreshdeskConfig } from '../../../src/adapters/helpdesks/freshdesk/config';
import { Freshdesk, queueTag, readMeta } from '../../../src/adapters/helpdesks/freshdesk/connector';
import { parseBody } from '../../../src/adapters/helpdesks/footer';
import { fakeFiles } from '../jira-sm/harness';
import { FRESHDESK_API_KEY, startFreshdeskStandIn, type FreshdeskStandIn } from './index';

export function freshdeskConfig(standIn: FreshdeskStandIn, overrides: Partial<FreshdeskConfig> = {}): FreshdeskConfig {
  return { baseUrl: standIn.url, apiKey: FRESHDESK_API_KEY, idField: 'cf_mailgate_id', metaField: 'cf_mailgate_meta', attachments: 'upload', timeoutMs: 10_000, ...overrides };
}

export function freshdeskInspector(standIn: FreshdeskStandIn): HelpdeskInspector {
  const ticket = (id: string) => standIn.tickets.get(Number(id));
  return {
    comments: async (ticketId) => {
      const t = ticket(ticketId);
      const meta = t && readMeta(t.custom_fields.cf_mailgate_meta);
      if (!t || !meta) return [];
      const files = new Map(meta.messages.map((m) => [m.messageId, m.attachments]));
      const first = parseBody(t.description_text);
      return [
        { messageId: first.messageId ?? '', text: first.text, internal: false, attachments: files.get(first.messageId ?? '') ?? [] },
        ...t.notes.map((n) => {
          const parsed = parseBody(n.body_text);
          return { messageId: parsed.messageId ?? '', text: parsed.text, internal: n.private, attachments: files.get(parsed.messageId ?? '') ?? [] };
        }),
      ];
    },
    queues: async (ticketId) => {
      const t = ticket(ticketId);
      const meta = t && readMeta(t.custom_fields.cf_mailgate_meta);
      return meta ? [meta.queue, ...meta.extraQueues] : [];
    },
    showsQueue: async (ticketId, queue) => ticket(ticketId)?.tags.includes(queueTag(queue)) === true,
  };
}

export async function freshdeskUnderTest(options: { searchLagMs?: number } = {}): Promise<HelpdeskUnderTest & { standIn: FreshdeskStandIn }> {
  const standIn = await startFreshdeskStandIn(options);
  return { helpdesk: new Freshdesk({ config: freshdeskConfig(standIn), files: fakeFiles }), standIn, inspect: freshdeskInspector(standIn), cleanup: () => standIn.close() };
}
