/**
 * CPU seconds of processes from /proc, for the benchmarks' per-service cost. A PostgreSQL server is
 * a tree (one backend process per connection): its cost is the postmaster's own, what its exited
 * children left in its cutime/cstime, and what its live children used so far.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Stat {
  ppid: number;
  /** utime + stime, and cutime + cstime, in seconds. */
  own: number;
  children: number;
}

function stat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), own: (Number(f[11]) + Number(f[12])) / clockTicks, children: (Number(f[13]) + Number(f[14])) / clockTicks };
  } catch {
    return null;
  }
}

/** A process's CPU seconds so far; NaN when it is not running. */
export function processCpu(pid: number | undefined | null): number {
  if (!pid) return Number.NaN;
  return stat(pid)?.own ?? Number.NaN;
}

/** A process tree's CPU seconds so far: the root's own and reaped children's, and every live descendant's. */
export function treeCpu(root: number | undefined | null): number {
  if (!root) return Number.NaN;
  const top = stat(root);
  if (!top) return Number.NaN;
  const byParent = new Map<number, { pid: number; own: number }[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    const list = byParent.get(s.ppid) ?? [];
    list.push({ pid: Number(name), own: s.own });
    byParent.set(s.ppid, list);
  }
  let total = top.own + top.children;
  const queue = [root];
  while (queue.length > 0) {
    for (const child of byParent.get(queue.pop()!) ?? []) {
      total += child.own;
      queue.push(child.pid);
    }
  }
  return total;
}

export function pidFile(file: string): number | null {
  try {
    return Number(readFileSync(file, 'utf8').split('\n')[0]!.trim()) || null;
  } catch {
    return null;
  }
}

/** The postmaster of the PostgreSQL cluster scripts/stack runs for a data folder (see pg_dir in scripts/lib.sh). */
export function postmasterPid(dataDir: string): number | null {
  const hashed = path.join('/var/tmp/mailgate-postgres', createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  return pidFile(path.join(dataDir, 'postgres/data/postmaster.pid')) ?? pidFile(path.join(hashed, 'data/postmaster.pid'));
}
