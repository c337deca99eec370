/**
 * The one place that turns the Temporal configuration into connection options, shared by the
 * client's `Connection` (API, tests, benchmarks) and the worker's `NativeConnection`. The two SDK
 * option types differ (the client also takes grpc-js credentials and an API-key function, the worker
 * a proxy and DNS balancing); this returns only what both accept, so either call takes it as is.
 */
import type { TLSConfig } from '@temporalio/client';
import type { TemporalConfig } from './config';

export interface TemporalConnectionOptions {
  address: string;
  /** Absent = plaintext. */
  tls?: TLSConfig;
  /** Sent by both SDKs as `authorization: Bearer <key>`. */
  apiKey?: string;
}

export function temporalConnectionOptions(config: Pick<TemporalConfig, 'address' | 'tls' | 'apiKey'>): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.address };
  if (config.tls) {
    const { serverCa, serverName, client } = config.tls;
    options.tls = {
      ...(serverCa && { serverRootCACertificate: serverCa }),
      ...(serverName && { serverNameOverride: serverName }),
      ...(client && { clientCertPair: { crt: client.cert, key: client.key } }),
    };
  }
  if (config.apiKey !== undefined) options.apiKey = config.apiKey;
  return options;
}
