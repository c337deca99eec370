/**
 * The production connection settings against a real TLS endpoint: a loopback proxy (test/helpers/tls)
 * terminates TLS in front of the running dev server, with throwaway certificates made by openssl.
 * Every connection here is built the way the worker and the API build theirs: environment ->
 * loadConfig -> temporalConnectionOptions.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { temporalConnectionOptions, type TemporalConnectionOptions } from '../../src/temporal-connection';
import { MINIMAL_ENV } from '../helpers/env';
import { config as stackConfig, unique } from '../helpers/stack';
import { makeTlsMaterial, NAMED_SERVER, startTlsProxy, type TlsMaterial, type TlsProxy, type TlsProxyOptions } from '../helpers/tls';
import { stackProbeActivities } from '../workflows/stack-probe-activities';

const workflowsPath = require.resolve('../workflows/stack-probe');
const API_KEY = 'mailgate-test-api-key-0123456789';
// A refused handshake is final; the client need not spend its default 10 s retrying it.
const CONNECT_TIMEOUT = '4 seconds';

let tls: TlsMaterial;
const proxies: TlsProxy[] = [];

before(async () => {
  tls = await makeTlsMaterial();
});
after(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await tls.remove();
});

async function proxy(options: Partial<TlsProxyOptions> & { named?: boolean } = {}): Promise<TlsProxy> {
  const { named, ...rest } = options;
  const started = await startTlsProxy({
    upstream: stackConfig.temporal.address,
    cert: await readFile(named ? tls.namedServerCert : tls.serverCert),
    key: await readFile(named ? tls.namedServerKey : tls.serverKey),
    ...rest,
  });
  proxies.push(started);
  return started;
}

/** The options the worker and API would build from this environment, aimed at the proxy. */
function optionsFor(target: TlsProxy, env: Record<string, string>): TemporalConnectionOptions {
  return temporalConnectionOptions(loadConfig({ ...MINIMAL_ENV, TEMPORAL_ADDRESS: target.address, ...env }).temporal);
}

async function clientConnects(options: TemporalConnectionOptions): Promise<void> {
  const connection = await Connection.connect({ ...options, connectTimeout: CONNECT_TIMEOUT });
  try {
    await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}

async function workerConnects(options: TemporalConnectionOptions): Promise<void> {
  const connection = await NativeConnection.connect(options);
  await connection.close();
}

/** A worker and a client, both connected with `options`, run one workflow with one activity. */
async function roundTrip(options: TemporalConnectionOptions, text: string): Promise<string> {
  const taskQueue = unique('tls-probe');
  const nativeConnection = await NativeConnection.connect(options);
  try {
    const worker = await Worker.create({
      connection: nativeConnection,
      namespace: stackConfig.temporal.namespace,
      taskQueue,
      workflowsPath,
      activities: stackProbeActivities,
    });
    const connection = await Connection.connect({ ...options, connectTimeout: CONNECT_TIMEOUT });
    try {
      const client = new Client({ connection, namespace: stackConfig.temporal.namespace });
      return await worker.runUntil(
        client.workflow.execute('stackProbe', { taskQueue, workflowId: unique('tls-probe'), args: [{ text, status: unique('tls') }] }),
      );
    } finally {
      await connection.close();
    }
  } finally {
    await nativeConnection.close();
  }
}

describe('connecting to Temporal over TLS', () => {
  test('a worker and a client that trust the configured CA run a workflow through the TLS endpoint', async () => {
    const endpoint = await proxy();
    const result = await roundTrip(optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert }), 'over tls');
    assert.equal(result, 'echo: over tls');
    assert.ok(endpoint.forwarded > 0, 'the calls went through the TLS endpoint');
  });

  test('without the CA (system roots only) the client and the worker refuse the server certificate', async () => {
    const endpoint = await proxy();
    const options = optionsFor(endpoint, { TEMPORAL_TLS: 'true' });
    // grpc-js only says "Failed to connect before the deadline"; the handshake it broke off is the
    // proof. The worker's core names the reason.
    await assert.rejects(clientConnects(options));
    assert.ok(endpoint.handshakeErrors.length > 0, 'the client broke off the handshake');
    await assert.rejects(workerConnects(options), /UnknownIssuer/);
    assert.equal(endpoint.forwarded, 0);
  });

  test('a certificate that names another host is refused unless TEMPORAL_TLS_SERVER_NAME names it', async () => {
    const endpoint = await proxy({ named: true });
    const unnamed = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert });
    await assert.rejects(clientConnects(unnamed));
    assert.ok(endpoint.handshakeErrors.length > 0, 'the client broke off the handshake');
    await assert.rejects(workerConnects(unnamed), /NotValidForName/);
    assert.equal(endpoint.forwarded, 0);
    const named = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_TLS_SERVER_NAME: NAMED_SERVER });
    await clientConnects(named);
    await workerConnects(named);
  });

  test('with mutual TLS required, a connection without a client certificate fails and one with it runs a workflow', async () => {
    const endpoint = await proxy({ clientCa: await readFile(tls.caCert) });
    const serverOnly = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert });
    await assert.rejects(clientConnects(serverOnly));
    assert.ok(endpoint.handshakeErrors.some((e) => e.includes('peer did not return a certificate')), endpoint.handshakeErrors.join('; '));
    await assert.rejects(workerConnects(serverOnly), /CertificateRequired/);
    assert.equal(endpoint.forwarded, 0, 'nothing was forwarded for a connection without a certificate');

    const mutual = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: tls.clientKey });
    assert.equal(await roundTrip(mutual, 'over mtls'), 'echo: over mtls');
  });

  test('the API key reaches the server as "authorization: Bearer <key>" from both the worker and the client', async () => {
    const endpoint = await proxy({ apiKey: API_KEY });
    const wrong = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_API_KEY: 'not-the-key' });
    await assert.rejects(clientConnects(wrong), (error: Error) => /16 UNAUTHENTICATED: bad api key/.test(String(error.cause)));
    await assert.rejects(workerConnects(wrong), /bad api key/);
    assert.equal(endpoint.forwarded, 0);

    endpoint.authorizations.length = 0;
    const keyed = optionsFor(endpoint, { TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_API_KEY: API_KEY });
    assert.equal(await roundTrip(keyed, 'with a key'), 'echo: with a key');
    assert.ok(endpoint.authorizations.length > 0);
    assert.deepEqual(new Set(endpoint.authorizations), new Set([`Bearer ${API_KEY}`]), 'every request carried the key');
  });
});
