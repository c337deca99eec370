/**
 * A loopback HAProxy (Debian's, installed by scripts/setup) in front of several API processes, as a
 * deployment puts a load balancer in front of its APIs: round robin, a health check on /readyz that
 * takes a dead API out within about two seconds, and a retry on another API when a connection fails
 * or an API dies before answering. Only those two are retried: the ingress is idempotent by
 * Message-ID, but a slow answer is not a lost one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './app';
import { eventually } from './stack';

export const HAPROXY = '/usr/sbin/haproxy';

export interface LoadBalancer {
  url: string;
  stop(): Promise<void>;
}

export function haproxyConfig(port: number, backends: string[]): string {
  return [
    'global',
    '  maxconn 4000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 120s',
    '  timeout server 120s',
    // A body must be buffered whole for a request to be sent again.
    '  option http-buffer-request',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '  option redispatch 1',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend apis',
    'backend apis',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 1s fall 2 rise 2',
    ...backends.map((url, i) => `  server api${i + 1} ${new URL(url).host} check`),
    '',
  ].join('\n');
}

export async function startLoadBalancer(backends: string[]): Promise<LoadBalancer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mailgate-haproxy-'));
  const port = await freePort();
  const file = path.join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(port, backends));
  // -db: stay in the foreground, so the test owns the process and its exit.
  const child: ChildProcess = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await eventually(`HAProxy on ${url}`, async () => {
    if (child.exitCode !== null) throw new Error(`HAProxy exited: ${stderr}`);
    return (await fetch(`${url}/readyz`)).ok ? true : undefined;
  }, 20_000);
  return {
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
