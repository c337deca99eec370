/**
 * Debian's Postfix as a private instance for tests: its own configuration directory (postfix -c),
 * queue and data directories, one smtpd on a free loopback port, nothing from /etc/postfix and
 * nothing on port 25, so it never touches the machine's mail. The master runs as root (Postfix
 * needs that to drop its daemons to the postfix user); a pipe transport runs as `nobody`. Retries
 * are fast (a deferred message is tried again within seconds) and logging goes to a file.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './app';

const run = promisify(execFile);

export interface PostfixOptions {
  /** The transport for mail to mailgate.local (`smtp:[127.0.0.1]:2525`, `mailgate:`). */
  transport: string;
  /** Extra master.cf lines (a pipe service). */
  services?: string[];
}

export interface Postfix {
  dir: string;
  /** The loopback port its smtpd listens on. */
  port: number;
  maillog(): Promise<string>;
  stop(): Promise<void>;
}

function uidOf(name: string): Promise<number> {
  return run('id', ['-u', name]).then(({ stdout }) => Number(stdout.trim()));
}

export async function startPostfix(options: PostfixOptions): Promise<Postfix> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mailgate-postfix-'));
  // mkdtemp makes 0700: the postfix user must reach its queue and data directories inside.
  await chmod(dir, 0o755);
  const etc = path.join(dir, 'etc');
  const data = path.join(dir, 'data');
  await mkdir(etc);
  await mkdir(path.join(dir, 'queue'));
  await mkdir(data);
  await chown(data, await uidOf('postfix'), 0);
  const port = await freePort();
  const main = [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    'myhostname = relay.mailgate.test',
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'relay_domains = mailgate.local',
    `transport_maps = inline:{ mailgate.local=${options.transport} }`,
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    `maillog_file_prefixes = ${dir}`,
    `maillog_file = ${dir}/maillog`,
    'smtp_tls_security_level = none',
    // Retry a deferred message within seconds, not the production half hour. The shortest backoff is
    // 3 s, not 1 s: a deferred file is stamped that far ahead, and qmgr takes one stamped at most 1 s
    // ahead at its next scan, which can come before the delivery agent has released the file's lock;
    // qmgr then logs "skipped, still being delivered" and parks it in the incoming queue 60 s ahead,
    // where only new mail triggers a scan (Postfix's qmgr_active.c), so with no more mail it waits.
    'queue_run_delay = 1s',
    'minimal_backoff_time = 3s',
    'maximal_backoff_time = 4s',
    'smtp_connect_timeout = 5s',
    'alias_maps =',
    'alias_database =',
    'biff = no',
    '',
  ].join('\n');
  const service = (name: string, type: string, priv: string, limit: string, command: string): string =>
    `${name.padEnd(10)} ${type.padEnd(10)} ${priv} - n - ${limit} ${command}`;
  const master = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    service('pickup', 'unix', 'n', '1', 'pickup'),
    service('cleanup', 'unix', 'n', '0', 'cleanup'),
    service('qmgr', 'unix', 'n', '1', 'qmgr'),
    service('rewrite', 'unix', '-', '-', 'trivial-rewrite'),
    service('bounce', 'unix', '-', '0', 'bounce'),
    service('defer', 'unix', '-', '0', 'bounce'),
    service('trace', 'unix', '-', '0', 'bounce'),
    service('verify', 'unix', '-', '1', 'verify'),
    service('flush', 'unix', 'n', '0', 'flush'),
    service('proxymap', 'unix', '-', '-', 'proxymap'),
    service('smtp', 'unix', '-', '-', 'smtp'),
    service('relay', 'unix', '-', '-', 'smtp'),
    service('showq', 'unix', 'n', '-', 'showq'),
    service('error', 'unix', '-', '-', 'error'),
    service('retry', 'unix', '-', '-', 'error'),
    service('discard', 'unix', '-', '-', 'discard'),
    service('anvil', 'unix', '-', '1', 'anvil'),
    service('scache', 'unix', '-', '1', 'scache'),
    service('postlog', 'unix-dgram', 'n', '1', 'postlogd'),
    ...(options.services ?? []),
    '',
  ].join('\n');
  await writeFile(path.join(etc, 'main.cf'), main);
  await writeFile(path.join(etc, 'master.cf'), master);
  await run('postfix', ['-c', etc, 'start'], { timeout: 60_000 });
  const maillog = (): Promise<string> => readFile(path.join(dir, 'maillog'), 'utf8').catch(() => '');
  // Started means its smtpd answers; the master logs "daemon started" first.
  const deadline = Date.now() + 60_000;
  while (!(await maillog()).includes('daemon started')) {
    if (Date.now() > deadline) throw new Error(`postfix did not start:\n${await maillog()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    dir,
    port,
    maillog,
    async stop() {
      await run('postfix', ['-c', etc, 'stop'], { timeout: 60_000 }).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** How many lines of the mail log say `status=<status>` for deliveries to `to`. */
export function countStatus(log: string, to: string, status: 'sent' | 'deferred' | 'bounced'): number {
  return log.split('\n').filter((line) => line.includes(`to=<${to}>`) && line.includes(`status=${status}`)).length;
}
