/**
 * Threading by subject on a synthetic mailing-list month with its own thread index (issue 14,
 * class 7). The month is written for Mailgate (project licence): 40 threads, about 150 posts, some
 * replies without threading headers, same-subject threads, generic subjects, late replies, strangers.
 * Each post runs through the lookup order that matters here: a reply with In-Reply-To joins its
 * parent's ticket (message-id), then, when enabled, the subject rule exactly as the worker runs it
 * (src/activities/thread-by-subject.ts over an in-memory ledger with the SQL stores' semantics), else
 * a new ticket. Participants are the senders of the posts on a ticket (a list's To is the list).
 *
 * Scored pairwise over posts: precision = pairs put on one ticket that belong to one thread, recall =
 * pairs of one thread put on one ticket. A thread is whole when one ticket holds all of it and
 * nothing else.
 */
import { findBySubject, indexSubject } from '../src/activities/thread-by-subject';
import type { ThreadBySubjectRule } from '../src/domain/thread-by-subject';
import type { Ledger, SubjectCandidate, SubjectEntry, SubjectLookup } from '../src/ports/ledger';

const LIST = 'dev@lists.example';
const DAY_MS = 86_400_000;
const MONTH_START = Date.parse('2024-03-01T08:00:00.000Z');

/**
 * A thread: its subject, the day its first post went out, and its posts after the first as
 * "sender:form+days" (days after the previous post, default 1). Forms:
 *   h  a reply with In-Reply-To/References to the previous post, subject "Re: [dev] …"
 *   n  a reply without threading headers, subject "Re: [dev] …"
 *   a  a reply without threading headers, subject "AW: …" (no list tag)
 *   b  a reply without threading headers and without a reply prefix (bare subject)
 */
interface ThreadSpec {
  subject: string;
  day: number;
  starter: string;
  posts: string;
  /** Why the thread is in the set, when it tests something particular. */
  note?: string;
}

export const LIST_MONTH: ThreadSpec[] = [
  { subject: 'Segfault in the XML parser on large files', day: 0, starter: 'alice', posts: 'bob:h alice:h bob:n carol:h' },
  { subject: 'Proposal: drop Python 3.8 support', day: 0, starter: 'dave', posts: 'erin:h frank:h dave:h erin:n gina:h dave:h' },
  { subject: 'Release 4.2.0 schedule', day: 1, starter: 'henry', posts: 'alice:h henry:h ivan:h' },
  { subject: 'CI timeouts on the ARM64 runners', day: 1, starter: 'ivan', posts: 'judy:h ivan:n judy:h' },
  { subject: 'Memory leak in connection pool after reconnect', day: 2, starter: 'kate', posts: 'leo:h kate:h leo:h kate:n+2 mike:h' },
  { subject: 'Docs: typo in the installation guide', day: 2, starter: 'nina', posts: 'oscar:h' },
  { subject: 'Windows build broken by the new linker flags', day: 3, starter: 'paul', posts: 'quinn:h paul:n quinn:h paul:h' },
  { subject: 'How to configure TLS client certificates', day: 3, starter: 'rita', posts: 'sam:h rita:h sam:h rita:n' },
  { subject: 'Deprecating the legacy config format', day: 4, starter: 'tom', posts: 'alice:h bob:h tom:h ursula:h tom:n' },
  { subject: 'Flaky test test_retry_backoff', day: 4, starter: 'victor', posts: 'wendy:h victor:h' },
  { subject: 'Plugin API versioning', day: 5, starter: 'xena', posts: 'yuri:h xena:h zack:h yuri:n xena:h' },
  { subject: 'Unicode normalisation of file names on macOS', day: 5, starter: 'alice', posts: 'carol:h alice:a carol:h' },
  { subject: 'Benchmark results for the new scheduler', day: 6, starter: 'erin', posts: 'frank:h erin:h frank:n+3' },
  { subject: 'Security: token leak in debug logs', day: 6, starter: 'gina', posts: 'henry:h gina:h' },
  { subject: 'Mirror for the package index is down', day: 7, starter: 'judy', posts: 'ivan:h judy:n' },
  { subject: 'Adding type hints to the public API', day: 7, starter: 'kate', posts: 'leo:h mike:h kate:h leo:h' },
  { subject: 'Crash when the disk is full during export', day: 8, starter: 'nina', posts: 'oscar:h nina:n oscar:h' },
  { subject: 'Translation updates for Portuguese', day: 8, starter: 'paul', posts: 'rita:h' },
  { subject: 'Code of conduct committee election', day: 9, starter: 'sam', posts: 'tom:h ursula:h sam:h' },
  { subject: 'Timezone bug in the cron parser', day: 9, starter: 'victor', posts: 'wendy:h victor:a wendy:h' },
  { subject: 'GPU support roadmap', day: 10, starter: 'xena', posts: 'yuri:h zack:h xena:n yuri:h' },
  { subject: 'Slow startup with many plugins installed', day: 10, starter: 'alice', posts: 'bob:h alice:h bob:h' },
  { subject: 'Meeting notes 2024-03-12', day: 11, starter: 'dave', posts: 'erin:h' },
  { subject: 'Licence question about vendored zlib', day: 12, starter: 'frank', posts: 'gina:h frank:n gina:h' },
  { subject: 'Roadmap for the 5.0 storage engine', day: 13, starter: 'henry', posts: 'ivan:h judy:h henry:h ivan:n' },
  // Strangers: a header-less reply from someone not yet in the thread stays apart (a split, never a merge).
  { subject: 'Broken link on the download page', day: 3, starter: 'kate', posts: 'leo:h newcomer1:n', note: 'stranger' },
  { subject: 'Packaging for Alpine Linux', day: 6, starter: 'mike', posts: 'newcomer2:n mike:h', note: 'stranger' },
  { subject: 'Error message wording in the CLI', day: 9, starter: 'oscar', posts: 'nina:h newcomer3:n nina:h', note: 'stranger' },
  // Generic subjects: never threaded by subject.
  { subject: 'Hello', day: 4, starter: 'newcomer4', posts: 'alice:h newcomer4:n', note: 'generic' },
  { subject: 'Question', day: 11, starter: 'newcomer5', posts: 'bob:h newcomer5:n', note: 'generic' },
  { subject: '(no subject)', day: 14, starter: 'newcomer6', posts: 'carol:h newcomer6:n', note: 'generic' },
  { subject: '', day: 15, starter: 'newcomer7', posts: 'dave:h newcomer7:n', note: 'generic' },
  // Two threads with one subject: a participant of the first answers the second without headers.
  { subject: 'Build fails with GCC 14', day: 2, starter: 'paul', posts: 'quinn:h paul:h', note: 'same subject, first' },
  { subject: 'Build fails with GCC 14', day: 10, starter: 'rita', posts: 'quinn:n rita:h', note: 'same subject, second' },
  { subject: 'Segfault in the XML parser on large files', day: 16, starter: 'sam', posts: 'bob:n sam:h', note: 'same subject as an older thread, bob in both' },
  // The same person starts a new thread with an old subject: a first post has no reply prefix.
  { subject: 'Weekly triage of open pull requests', day: 1, starter: 'tom', posts: 'ursula:h tom:h', note: 'recurring subject, first' },
  { subject: 'Weekly triage of open pull requests', day: 8, starter: 'tom', posts: 'ursula:h tom:n', note: 'recurring subject, second' },
  // A reply after the window (14 days after the thread's last post) stays apart.
  { subject: 'Caching strategy for remote artifacts', day: 0, starter: 'victor', posts: 'wendy:h victor:n+20', note: 'late reply' },
  // A header-less reply without a reply prefix stays apart.
  { subject: 'Logging format for structured output', day: 12, starter: 'xena', posts: 'yuri:h xena:b', note: 'bare subject' },
  { subject: 'Contributor guide: signing commits', day: 17, starter: 'zack', posts: 'alice:h zack:n alice:h bob:h' },
];

export interface Post {
  id: string;
  thread: number;
  sender: string;
  subject: string;
  at: string;
  /** The Message-ID this post names in In-Reply-To, if any. */
  parent: string | null;
}

export function listMonthPosts(threads: ThreadSpec[] = LIST_MONTH): Post[] {
  const posts: Post[] = [];
  threads.forEach((spec, thread) => {
    let time = MONTH_START + spec.day * DAY_MS + thread * 60_000;
    let previous = `t${thread}.0@lists.example`;
    posts.push({ id: previous, thread, sender: spec.starter, subject: spec.subject ? `[dev] ${spec.subject}` : '', at: new Date(time).toISOString(), parent: null });
    spec.posts.split(' ').forEach((post, i) => {
      const match = /^([a-z0-9]+):([hnab])(?:\+(\d+))?$/.exec(post);
      if (!match) throw new Error(`thread ${thread}: bad post "${post}"`);
      const [, sender = '', form = '', days = '1'] = match;
      time += Number(days) * DAY_MS;
      const id = `t${thread}.${i + 1}@lists.example`;
      const subject = form === 'b' ? `[dev] ${spec.subject}` : form === 'a' ? `AW: ${spec.subject}` : `Re: [dev] ${spec.subject}`;
      posts.push({ id, thread, sender, subject, at: new Date(time).toISOString(), parent: form === 'h' ? previous : null });
      previous = id;
    });
  });
  return posts.sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
}

/** The ledger's subject index with the SQL stores' semantics, in memory. */
function memorySubjectIndex(tickets: Map<string, { queue: string; number: number }>): Pick<Ledger, 'indexSubject' | 'findTicketsBySubject'> {
  const rows = new Map<string, { ticketId: string; subjectKey: string; lastAt: string }>();
  return {
    indexSubject: async (entry: SubjectEntry) => {
      const key = `${entry.ticketId}|${entry.subjectKey}`;
      const row = rows.get(key);
      rows.set(key, { ticketId: entry.ticketId, subjectKey: entry.subjectKey, lastAt: row && row.lastAt > entry.at ? row.lastAt : entry.at });
      for (const r of rows.values()) if (r.ticketId === entry.ticketId && r.lastAt < entry.at) r.lastAt = entry.at;
    },
    findTicketsBySubject: async (input: SubjectLookup): Promise<SubjectCandidate[]> =>
      [...rows.values()]
        .filter((r) => r.subjectKey === input.subjectKey && r.lastAt >= input.since && tickets.get(r.ticketId)?.queue === input.queue)
        .sort((a, b) => b.lastAt.localeCompare(a.lastAt))
        .slice(0, input.limit)
        .map((r) => ({ ticketId: r.ticketId, ticketNumber: tickets.get(r.ticketId)!.number, lastAt: r.lastAt })),
  };
}

export interface MonthResult {
  posts: number;
  threads: number;
  headerless: number;
  precision: number;
  recall: number;
  wholeThreads: number;
  /** Posts the subject rule put on a ticket of another thread. */
  wrongMerges: number;
  bySubject: number;
  refusals: string[];
}

export async function threadListMonth(rule: ThreadBySubjectRule, threads: ThreadSpec[] = LIST_MONTH): Promise<MonthResult> {
  const posts = listMonthPosts(threads);
  const tickets = new Map<string, { queue: string; number: number }>();
  const ledger = memorySubjectIndex(tickets);
  const ticketOf = new Map<string, string>();
  const senders = new Map<string, Set<string>>();
  const refusals: string[] = [];
  let bySubject = 0;
  let wrongMerges = 0;
  const threadOfTicket = new Map<string, number>();
  for (const post of posts) {
    let ticketId = post.parent ? ticketOf.get(post.parent) ?? null : null;
    if (!ticketId && rule.enabled) {
      const found = await findBySubject(ledger, async (id) => senders.get(id)?.has(post.sender) ?? false, { rule, subject: post.subject, queue: LIST, at: post.at });
      refusals.push(...found.refused);
      if (found.match) {
        ticketId = found.match.ticketId;
        bySubject += 1;
        if (threadOfTicket.get(ticketId) !== post.thread) wrongMerges += 1;
      }
    }
    if (!ticketId) {
      ticketId = `ticket-${tickets.size + 1}`;
      tickets.set(ticketId, { queue: LIST, number: tickets.size + 1 });
      threadOfTicket.set(ticketId, post.thread);
    }
    ticketOf.set(post.id, ticketId);
    (senders.get(ticketId) ?? senders.set(ticketId, new Set()).get(ticketId)!).add(post.sender);
    await indexSubject(ledger, { ticketId, subject: post.subject, at: post.at });
  }
  let samePairs = 0;
  let trueSame = 0;
  let bothSame = 0;
  for (let i = 0; i < posts.length; i += 1) {
    for (let j = i + 1; j < posts.length; j += 1) {
      const sameTicket = ticketOf.get(posts[i]!.id) === ticketOf.get(posts[j]!.id);
      const sameThread = posts[i]!.thread === posts[j]!.thread;
      if (sameTicket) samePairs += 1;
      if (sameThread) trueSame += 1;
      if (sameTicket && sameThread) bothSame += 1;
    }
  }
  const wholeThreads = threads.filter((_, thread) => {
    const ids = new Set(posts.filter((p) => p.thread === thread).map((p) => ticketOf.get(p.id)));
    const [only] = [...ids];
    return ids.size === 1 && posts.every((p) => p.thread === thread || ticketOf.get(p.id) !== only);
  }).length;
  return {
    posts: posts.length,
    threads: threads.length,
    headerless: posts.filter((p, i) => p.parent === null && posts.findIndex((q) => q.thread === p.thread) !== i).length,
    precision: samePairs === 0 ? 1 : bothSame / samePairs,
    recall: trueSame === 0 ? 1 : bothSame / trueSame,
    wholeThreads,
    wrongMerges,
    bySubject,
    refusals,
  };
}
