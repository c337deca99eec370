/**
 * The IMAP poller's two steps, each one activity call (src/activities/poll-imap.ts):
 *
 * pollMailbox   SELECT the mailbox, read the cursor (account, mailbox, UIDVALIDITY, last UID) from
 *               the ledger, list the UIDs above it, and hand each message to the one accept path.
 *               Only after an "accepted" or "duplicate" answer is the message marked \Seen (or
 *               moved), and only then does the cursor pass it: a crash anywhere in between redelivers
 *               it, and the accept path answers the redelivery "duplicate" (same Message-ID and
 *               content hash), so no message is lost or doubled.
 * waitForMail   returns at once when the mailbox holds mail above the cursor; otherwise IDLEs
 *               (RFC 2177) until the server reports new mail or the wait times out.
 *
 * The cursor is the primary record; Message-ID plus content hash (the workflow id the accept path
 * derives) is the safety net. When UIDVALIDITY changes (a recreated or rebuilt mailbox: every UID
 * may now name another message, RFC 9051 §2.3.1.1) the whole mailbox is read again from UID 1 and
 * the messages already accepted come back "duplicate". \Seen is never read: humans and other
 * clients change it.
 */
import type { ImapFlow } from 'imapflow';
import type { PollCounts, PollRoundDeps } from './poll-round';
import { addressesOf, readHeaderBlock } from '../mime-headers';
import type { AcceptAnswer } from '../types';
import { closeImap, connectImap, imapFailure } from './imap-connection';
import type { ImapPollerSettings } from './settings';

/** Messages downloaded and accepted at once: bounded memory (each at most the size cap), a few round trips overlapped. */
const PARALLEL = 4;

export interface ImapPollDeps extends PollRoundDeps<'mailboxCursor' | 'advanceMailboxCursor', { lastUid: number }> {
  /** Opens the connection; default connectImap. */
  connect?: (settings: ImapPollerSettings) => Promise<ImapFlow>;
}

/** Refused messages are left in the mailbox, unflagged. */
export interface ImapBatch extends PollCounts {
  /** True when UIDs above the cursor remain (a full batch, or a retry-later). */
  more: boolean;
  uidValidity: string;
  lastUid: number;
  /** The mailbox's UIDVALIDITY differed from the cursor's: it is being read again from UID 1. */
  reset: boolean;
}

interface Listed {
  uid: number;
  size: number;
}

async function withMailbox<T>(deps: Pick<ImapPollDeps, 'connect'>, settings: ImapPollerSettings, work: (client: ImapFlow, uidValidity: string, uidNext: number) => Promise<T>): Promise<T> {
  const client = await (deps.connect ?? connectImap)(settings);
  try {
    const lock = await client.getMailboxLock(settings.mailbox);
    try {
      const mailbox = client.mailbox;
      if (!mailbox) throw new Error(`mailbox ${settings.mailbox} is not selected`);
      return await work(client, String(mailbox.uidValidity), Number(mailbox.uidNext));
    } finally {
      lock.release();
    }
  } catch (error) {
    throw imapFailure(error, settings);
  } finally {
    await closeImap(client);
  }
}

/** Where the cursor stands under this UIDVALIDITY (0 when there is none or it was another). */
async function cursorFor(deps: Pick<ImapPollDeps, 'cursors'>, settings: ImapPollerSettings, uidValidity: string): Promise<{ lastUid: number; reset: boolean }> {
  const cursor = await deps.cursors.mailboxCursor(settings.name, settings.mailbox);
  if (cursor === null) return { lastUid: 0, reset: false };
  if (cursor.uidValidity === uidValidity) return { lastUid: cursor.lastUid, reset: false };
  return { lastUid: 0, reset: true };
}

/** The envelope sender, from the Return-Path the final delivery wrote (RFC 5321 §4.4); null without one. */
function returnPath(raw: Buffer, maxHeaderBytes: number): string | null {
  try {
    return addressesOf(readHeaderBlock(raw, maxHeaderBytes).all('return-path'))[0] ?? null;
  } catch {
    return null;
  }
}

async function acceptOne(deps: ImapPollDeps, settings: ImapPollerSettings, client: ImapFlow, item: Listed): Promise<AcceptAnswer['answer']> {
  const source = { kind: 'poll', name: `imap:${settings.name}` } as const;
  const envelope = (raw: Buffer) => ({ mailFrom: returnPath(raw, 256 * 1024), rcptTo: [settings.recipient] });
  if (item.size > deps.maxMessageBytes) {
    deps.log.warn('imap message too large, left in the mailbox', { poller: settings.name, uid: item.uid, size: item.size });
    return 'refused';
  }
  const message = await client.fetchOne(String(item.uid), { uid: true, source: true }, { uid: true });
  // Expunged meanwhile (another client moved or deleted it): nothing to accept.
  if (!message || !message.source) return 'refused';
  const answer = await deps.acceptEmail(message.source, envelope(message.source), source);
  return answer.answer;
}

async function afterAccept(client: ImapFlow, settings: ImapPollerSettings, uids: number[]): Promise<void> {
  if (uids.length === 0) return;
  const range = uids.join(',');
  if ('moveTo' in settings.afterAccept) await client.messageMove(range, settings.afterAccept.moveTo, { uid: true });
  else await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
}

export async function pollMailbox(deps: ImapPollDeps, settings: ImapPollerSettings): Promise<ImapBatch> {
  return withMailbox(deps, settings, async (client, uidValidity, uidNext) => {
    const { lastUid: start, reset } = await cursorFor(deps, settings, uidValidity);
    if (reset) deps.log.warn('imap UIDVALIDITY changed: reading the mailbox again, accepted messages come back as duplicates', { poller: settings.name, mailbox: settings.mailbox, uidValidity });
    const batch: ImapBatch = { accepted: 0, duplicates: 0, refused: 0, retryLater: 0, more: false, uidValidity, lastUid: start, reset };
    const listed: Listed[] = [];
    if (uidNext > start + 1) {
      // `n:*` also returns the highest UID when it is below n (RFC 9051 §6.4.8: * is the largest
      // UID in use), so the answer is filtered, never trusted to start at n.
      for await (const m of client.fetch(`${start + 1}:*`, { uid: true, size: true }, { uid: true })) {
        if (m.uid > start) listed.push({ uid: m.uid, size: m.size ?? 0 });
      }
    }
    listed.sort((a, b) => a.uid - b.uid);
    const todo = listed.slice(0, settings.batchSize);
    // A MOVE into a mailbox that does not exist fails (RFC 9051 §6.4.8, TRYCREATE): made once, here.
    if (todo.length > 0 && 'moveTo' in settings.afterAccept) await client.mailboxCreate(settings.afterAccept.moveTo);
    let lastUid = start;
    for (let i = 0; i < todo.length; i += PARALLEL) {
      const group = todo.slice(i, i + PARALLEL);
      const answers = await Promise.all(group.map((item) => acceptOne(deps, settings, client, item)));
      const stop = answers.indexOf('retry-later');
      const done = stop === -1 ? group.length : stop;
      await afterAccept(client, settings, group.slice(0, done).filter((_, j) => answers[j] !== 'refused').map((m) => m.uid));
      for (const answer of answers.slice(0, done)) {
        if (answer === 'accepted') batch.accepted += 1;
        else if (answer === 'duplicate') batch.duplicates += 1;
        else batch.refused += 1;
      }
      if (done > 0) {
        lastUid = group[done - 1]!.uid;
        await deps.cursors.advanceMailboxCursor({ account: settings.name, mailbox: settings.mailbox, uidValidity, lastUid });
      }
      deps.progress({ lastUid });
      if (stop !== -1) {
        batch.retryLater = answers.length - stop;
        batch.lastUid = lastUid;
        batch.more = true;
        return batch;
      }
    }
    batch.more = listed.length > todo.length;
    if (!batch.more) {
      // Every UID below UIDNEXT (as SELECT reported it) that still exists was listed and is done:
      // a later message gets a UID at or above it. Passing the gap keeps waitForMail from seeing
      // "mail above the cursor" in UIDs another client expunged.
      lastUid = Math.max(lastUid, uidNext - 1);
    }
    if (lastUid !== start || reset) {
      await deps.cursors.advanceMailboxCursor({ account: settings.name, mailbox: settings.mailbox, uidValidity, lastUid });
    }
    batch.lastUid = lastUid;
    return batch;
  });
}

export type WaitResult = 'new-mail' | 'timeout';

/**
 * Resolves 'new-mail' as soon as the mailbox holds (or is told to hold) mail above the cursor, or
 * after a UIDVALIDITY change; 'timeout' after `idleSeconds`. A dropped connection rejects
 * (RemoteUnavailable): the activity's retry reconnects.
 */
export async function waitForMail(deps: Pick<ImapPollDeps, 'cursors' | 'connect'> & { heartbeat: () => void; signal?: AbortSignal }, settings: ImapPollerSettings): Promise<WaitResult> {
  return withMailbox(deps, settings, async (client, uidValidity, uidNext) => {
    const { lastUid, reset } = await cursorFor(deps, settings, uidValidity);
    if (reset || uidNext > lastUid + 1) return 'new-mail';
    return new Promise<WaitResult>((resolve, reject) => {
      const finish = (result: WaitResult | Error): void => {
        clearInterval(beat);
        clearTimeout(timer);
        client.off('exists', onExists);
        client.off('close', onClose);
        deps.signal?.removeEventListener('abort', onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const onExists = (): void => finish('new-mail');
      const onClose = (): void => finish(new Error('the server closed the connection while idling'));
      const onAbort = (): void => finish('timeout');
      const beat = setInterval(deps.heartbeat, 3_000);
      const timer = setTimeout(() => finish('timeout'), settings.idleSeconds * 1000);
      client.on('exists', onExists);
      client.on('close', onClose);
      deps.signal?.addEventListener('abort', onAbort);
      // Without IDLE (a server that does not offer it) imapflow polls with NOOP every MAX_IDLE_MS.
      client.idle().catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
    });
  });
}
