/**
 * Provider webhook tests: the API app in this process with the real adapters against the test
 * stack, the providers' secrets set as a test chooses, and a ledger of its own.
 */
import { mkdtempSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Agent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createClamdScanner } from '../../src/adapters/clamd';
import { createS3ObjectStore, type ObjectStore } from '../../src/adapters/object-store';
import { openTicketStore } from '../../src/adapters/ticket-store';
import type { TicketStore } from '../../src/adapters/ticket-store/types';
import { createApp } from '../../src/api/app';
import type { Config, ProvidersConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { config, unique } from './stack';

export interface WebhookHarness {
  tickets: TicketStore;
  store: ObjectStore;
  temporal: Client;
  /** Starts an app (closed by `close`) and returns its base URL. */
  serve(options?: { providers?: Partial<ProvidersConfig>; ingress?: Partial<Config['ingress']>; store?: ObjectStore; temporal?: Client; agent?: Agent }): Promise<string>;
  /** True once the workflow exists in Temporal. */
  workflowExists(workflowId: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function webhookHarness(): Promise<WebhookHarness> {
  const tickets = openTicketStore(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'mailgate-webhooks-')), 'tickets.sqlite')}`);
  await tickets.migrate();
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const store = createS3ObjectStore(config.s3);
  const servers: Server[] = [];
  const taskQueue = unique('webhooks');
  return {
    tickets,
    store,
    temporal,
    async serve(options = {}) {
      const app = createApp({
        config: { ...config, temporal: { ...config.temporal, taskQueue }, ingress: { ...config.ingress, ...options.ingress }, providers: { ...config.providers, ...options.providers } },
        store: options.store ?? store,
        scanner: createClamdScanner(config.clamd),
        tickets,
        temporal: options.temporal ?? temporal,
        log: createLogger({ process: 'test' }, 'error'),
        ...(options.agent ? { webhookAgent: options.agent } : {}),
      });
      const server = app.listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((resolve) => server.once('listening', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async workflowExists(workflowId) {
      try {
        await temporal.workflow.getHandle(workflowId).describe();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      for (const server of servers) server.closeAllConnections();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await connection.close();
      await tickets.close();
    },
  };
}
