/**
 * Debian's Dovecot (dovecot-imapd) run unprivileged on a free loopback port, with its own config,
 * passwd-file users and maildirs in a temporary folder: a real IMAP server for the poller's tests
 * (INGRESS-FORMATS.md D). As root the whole server runs as `nobody` (Dovecot refuses root for its
 * login and mail processes); as any other user, as that user. Nothing system-wide is touched.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './app';

export interface Dovecot {
  port: number;
  user: string;
  password: string;
  dir: string;
  /** A logged-in client for the test's own appends and checks (the caller logs out). */
  client(): Promise<ImapFlow>;
  /** APPENDs raw messages to a mailbox over one connection; returns their UIDs. */
  append(mailbox: string, messages: (string | Buffer)[]): Promise<number[]>;
  /** UIDs of messages in the mailbox, and which carry \Seen. */
  list(mailbox: string): Promise<{ uid: number; seen: boolean }[]>;
  /** Stops the server (SIGTERM, then SIGKILL) and, unless kept, removes its folder. */
  stop(): Promise<void>;
  /** Stops the server abruptly, dropping every connection; `start` runs it again on the same port and data. */
  kill(): Promise<void>;
  start(): Promise<void>;
}

function owner(): { uid: number; gid: number; name: string; group: string } | null {
  if (userInfo().uid !== 0) return null;
  return { uid: Number(execFileSync('id', ['-u', 'nobody']).toString()), gid: Number(execFileSync('id', ['-g', 'nobody']).toString()), name: 'nobody', group: execFileSync('id', ['-gn', 'nobody']).toString().trim() };
}

function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) chownTree(full, uid, gid);
    else chownSync(full, uid, gid);
  }
}

function config(dir: string, port: number, user: string, group: string): string {
  return `protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
info_log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = ${user}
default_internal_group = ${group}
default_login_user = ${user}
first_valid_uid = 1
mail_location = maildir:${dir}/mail/%u/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%u ${dir}/passwd
  default_fields = uid=${user} gid=${group} home=${dir}/mail/%u
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
`;
}

/** Resolves once the server greets on the port. */
async function greets(port: number, deadlineMs: number): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(2_000, () => (socket.destroy(), resolve(false)));
      socket.once('data', (d) => (socket.destroy(), resolve(d.toString().startsWith('* OK'))));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`dovecot did not greet on 127.0.0.1:${port} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startDovecot(): Promise<Dovecot> {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-dovecot-'));
  const port = await freePort();
  const runAs = owner();
  const me = userInfo();
  const user = runAs?.name ?? me.username;
  const group = runAs?.group ?? execFileSync('id', ['-gn']).toString().trim();
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  for (const sub of ['run', 'state', 'mail']) mkdirSync(path.join(dir, sub));
  writeFileSync(path.join(dir, 'passwd'), `support:{PLAIN}${password}::::::\n`);
  writeFileSync(path.join(dir, 'dovecot.conf'), config(dir, port, user, group));
  if (runAs) chownTree(dir, runAs.uid, runAs.gid);

  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn('/usr/sbin/dovecot', ['-F', '-c', path.join(dir, 'dovecot.conf')], {
      stdio: 'ignore',
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    const exited = new Promise<never>((_, reject) => child!.once('exit', (code) => reject(new Error(`dovecot exited with ${code}: ${tail(dir)}`))));
    await Promise.race([greets(port, 20_000), exited]);
  };
  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise<void>((r) => current.once('exit', () => r()));
    current.kill(signal);
    const timer = setTimeout(() => current.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };
  await start();

  const client = async (): Promise<ImapFlow> => {
    const c = new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: 'support', pass: password }, logger: false });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  return {
    port,
    user: 'support',
    password,
    dir,
    client,
    async append(mailbox, messages) {
      const c = await client();
      try {
        const uids: number[] = [];
        for (const m of messages) {
          const r = await c.append(mailbox, m);
          if (r && typeof r === 'object' && r.uid) uids.push(r.uid);
        }
        return uids;
      } finally {
        await c.logout();
      }
    },
    async list(mailbox) {
      const c = await client();
      try {
        const lock = await c.getMailboxLock(mailbox);
        try {
          if (!c.mailbox || c.mailbox.exists === 0) return [];
          const all = await c.fetchAll('1:*', { uid: true, flags: true }, { uid: true });
          return all.map((m) => ({ uid: m.uid, seen: m.flags?.has('\\Seen') ?? false }));
        } finally {
          lock.release();
        }
      } finally {
        await c.logout();
      }
    },
    start,
    kill: () => halt('SIGKILL'),
    async stop() {
      await halt('SIGTERM');
      if (!process.env.KEEP_DOVECOT) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tail(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'dovecot.log'), 'utf8').slice(-1500);
  } catch {
    return '(no log)';
  }
}

/**
 * Writes a pollers file (MAILGATE_POLLERS_FILE) for one Dovecot mailbox and returns the worker's
 * environment: the file, and the password under the variable the file names.
 */
export function imapPollerEnv(dovecot: Dovecot, options: { name: string; mailbox?: string; moveTo?: string; batchSize?: number; idleSeconds?: number }): Record<string, string> {
  const file = path.join(dovecot.dir, `pollers-${options.name}.json`);
  const entry = {
    name: options.name,
    host: '127.0.0.1',
    port: dovecot.port,
    secure: false,
    user: dovecot.user,
    password: { env: 'TEST_IMAP_PASSWORD' },
    recipient: 'support@mailgate.local',
    ...(options.mailbox ? { mailbox: options.mailbox } : {}),
    ...(options.moveTo ? { moveTo: options.moveTo } : {}),
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    ...(options.idleSeconds ? { idleSeconds: options.idleSeconds } : {}),
  };
  writeFileSync(file, JSON.stringify({ imap: [entry] }));
  return { MAILGATE_POLLERS_FILE: file, TEST_IMAP_PASSWORD: dovecot.password };
}

/** A customer's email as raw MIME (its own sender, subject and Message-ID), for APPEND. */
export function customerEmail(run: string, i: number, extra = ''): string {
  return [
    `From: ${run}-${i}@customer.example`,
    'To: support@mailgate.local',
    `Subject: Polled ${run} #${i}`,
    `Message-ID: <${run}.${i}@c.example>`,
    `Date: ${new Date(Date.UTC(2026, 11, 7, 12, 0, i % 60)).toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `email ${i} ${extra}`,
    '',
  ].join('\r\n');
}
