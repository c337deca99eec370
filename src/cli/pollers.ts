/**
 * `mailgate pollers start`: starts the configured pollers (MAILGATE_POLLERS_FILE) without waiting
 * for a worker restart, straight through Temporal (the worker does the same at start-up). One
 * workflow id per poller: a running one is left as it is.
 */
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config';
import { startPollers } from '../ingress/pollers/start-pollers';
import { createLogger } from '../logger';
import { temporalConnectionOptions } from '../temporal-connection';

export async function startConfiguredPollers(out: (text: string) => void): Promise<number> {
  const config = loadConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const ids = await startPollers({ client, taskQueue: config.temporal.taskQueue, settings: config.pollers, log: createLogger({ process: 'cli' }) });
    for (const id of ids) out(id);
    out(`${ids.length} poller(s) running`);
    return 0;
  } finally {
    await connection.close();
  }
}
