/**
 * The Temporal cluster of scripts/cluster, as the cluster suites (test/cluster/, `make test-cluster`)
 * find it: scripts/test started it and exported its TEMPORAL_* settings into this process's
 * environment, so the config module, the worker and the API all connect to it with mutual TLS.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './stack';

export type ClusterProcess = 'frontend' | 'history-1' | 'history-2' | 'matching' | 'worker';

export const clusterDir = (): string => path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'cluster');

/** Refuses to run a cluster suite against the dev server: the point is the cluster. */
export function requireCluster(): void {
  const address = process.env.TEMPORAL_ADDRESS ?? '';
  const frontend = `127.0.0.1:${process.env.CLUSTER_PORT_BASE ?? '7350'}`;
  if (address !== frontend || !process.env.TEMPORAL_TLS_CA_FILE) {
    throw new Error(`the cluster suites run on the cluster (TEMPORAL_ADDRESS=${frontend} with TLS): run them with \`make test-cluster\`, not against ${address}`);
  }
}

export function clusterPid(name: ClusterProcess): number {
  return Number(readFileSync(path.join(clusterDir(), 'run', `${name}.pid`), 'utf8').trim());
}

/** Runs scripts/cluster as an operator would (`restart history-1 KILL`, `status`). */
export async function cluster(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(path.join(ROOT, 'scripts/cluster'), args, { env: process.env, timeout: 300_000 });
  return stdout;
}
