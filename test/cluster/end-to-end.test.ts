/**
 * Mailgate on a real Temporal cluster (scripts/cluster: the server built from its Go module on
 * PostgreSQL, frontend, two history, matching and worker services as separate processes, mutual TLS):
 * an email becomes a ticket and an acknowledgement, operators find it by Mailgate's search
 * attributes in a visibility query, and the frontend turns away clients without the cluster's trust.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import { EmailStatusKey } from '../../src/workflows/search-attributes';
import { startApp, type RunningApp } from '../helpers/app';
import { cluster, requireCluster } from '../helpers/cluster';
import { mailMatching } from '../helpers/maildev';
import { compose, postMime } from '../helpers/mail';
import { settled, ticket } from '../helpers/pipeline';
import { config, eventually, postgresUrl, unique } from '../helpers/stack';

const CONNECT_TIMEOUT = '5 seconds';

describe('Mailgate on the Temporal cluster', () => {
  let app: RunningApp;
  let client: Client;
  before(async () => {
    requireCluster();
    app = await startApp({ databaseUrl: postgresUrl() });
    const connection = await Connection.connect(temporalConnectionOptions(config.temporal));
    client = new Client({ connection, namespace: config.temporal.namespace });
  });
  after(async () => {
    await app?.stop();
    await client?.connection.close();
  });

  test('scripts/cluster status shows every service up and the frontend serving over mutual TLS', async () => {
    const status = await cluster('status');
    for (const name of ['frontend', 'history-1', 'history-2', 'matching', 'worker', 'postgres']) {
      assert.match(status, new RegExp(`^\\s+${name}\\s+up\\b`, 'm'), status);
    }
    assert.match(status, /health\s+SERVING .*mutual TLS/, status);
    assert.match(status, /server 1\.32\.\d+/, status);
  });

  test('an email becomes one ticket and one acknowledgement, and a visibility query finds it by its search attributes', async () => {
    const id = unique('cluster');
    const customer = `${id}@customer.example`;
    const raw = await compose({
      from: `Ada Customer <${customer}>`,
      to: 'support@mailgate.local',
      subject: `Cluster ${id}`,
      messageId: `<${id}@customer.example>`,
      text: 'The cluster path works end to end.',
      attachments: [{ filename: 'trace.txt', content: 'trace\n'.repeat(100) }],
    });
    const posted = await postMime(app.url, raw);
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const workflowId = posted.body.emails![0]!.workflowId;

    const view = await settled(app.url, workflowId, 120_000);
    assert.equal(view.state?.outcome, 'ticket_created');
    const t = await ticket(app.url, view.state!.ticketId!);
    assert.equal(t.requester, customer);
    assert.equal(t.comments[0]?.attachments[0]?.scanStatus, 'clean');
    const acks = await mailMatching(`the acknowledgement to ${customer}`, (m) => m.to.some((to) => to.address === customer), 60_000);
    assert.equal(acks.length, 1);
    assert.equal(acks[0]!.headers['auto-submitted'], 'auto-replied');

    // SQL visibility is written asynchronously: poll until the record is there.
    const query = `EmailStatus = 'ticket_created' AND TicketId = '${view.state!.ticketId}' AND RecipientQueue = 'support@mailgate.local'`;
    const found = await eventually('the visibility record', async () => {
      const ids: string[] = [];
      for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids.length > 0 ? ids : undefined;
    }, 30_000);
    assert.deepEqual(found, [workflowId]);
    const description = await client.workflow.getHandle(workflowId).describe();
    assert.equal(description.status.name, 'COMPLETED');
    assert.equal(description.typedSearchAttributes.get(EmailStatusKey), 'ticket_created');
  });

  test('the frontend refuses a plaintext client', async () => {
    await assert.rejects(sdkProbe({ address: config.temporal.address, connectTimeout: CONNECT_TIMEOUT }));
  });

  test('the frontend demands a client certificate of the cluster CA (mutual TLS), and accepts Mailgate\'s', async () => {
    const ca = readFileSync(process.env.TEMPORAL_TLS_CA_FILE!);
    assert.equal(await tlsProbe({ ca }), 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
    assert.equal(await tlsProbe({ ca, cert: readFileSync(process.env.TEMPORAL_TLS_CERT_FILE!), key: readFileSync(process.env.TEMPORAL_TLS_KEY_FILE!) }), 'accepted');
    await assert.rejects(sdkProbe({ address: config.temporal.address, tls: { serverRootCACertificate: ca, serverNameOverride: SERVER_NAME }, connectTimeout: CONNECT_TIMEOUT }));
  });

  test('a client that does not trust the cluster CA refuses the frontend\'s certificate', async () => {
    assert.equal(await tlsProbe({}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

const SERVER_NAME = process.env.TEMPORAL_TLS_SERVER_NAME ?? 'temporal.mailgate.local';

async function sdkProbe(options: ConnectionOptions): Promise<void> {
  const connection = await Connection.connect(options);
  try {
    await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}

/** A TLS handshake with the frontend, then HTTP/2's preface: 'accepted' when the server answers, else the TLS error's code. */
function tlsProbe(options: tls.ConnectionOptions): Promise<string> {
  const [host, port] = config.temporal.address.split(':') as [string, string];
  return new Promise((resolve) => {
    const socket = tls.connect({ host, port: Number(port), ALPNProtocols: ['h2'], servername: SERVER_NAME, ...options });
    const done = (result: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done('timeout'), 10_000);
    socket.on('secureConnect', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.on('data', () => done('accepted'));
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.on('close', () => done('closed'));
  });
}
