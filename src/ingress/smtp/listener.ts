/**
 * Mailgate's own MX: the SMTP adapter of the accept path (src/ingress/accept-email.ts), on
 * smtp-server. What each stage answers:
 *   connect  421 4.7.0 past the per-address connection rate (and smtp-server's 421 past maxClients)
 *   MAIL     451 4.7.1 past the per-address message rate
 *   RCPT     550 5.1.1 for an address the routing rules refuse; 452 past the recipient cap
 *   DATA     552 over SIZE (nothing stored); else sender authentication (./sender-auth.ts), our
 *            Received and Authentication-Results prepended, and acceptEmail: 250 only once the raw
 *            message is stored and every workflow exists; 451 4.3.0 when the store or the workflow
 *            engine is unavailable (the sending MTA keeps it and retries, RFC 5321 §4.5.4.1)
 * A client silent for socketTimeout (also in the middle of DATA) gets 421 and is disconnected; a
 * message cut off that way never reaches acceptEmail.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { DNSResolver } from 'mailauth';
import type { DmarcAction, SmtpIngressConfig } from '../../config';
import { resolveRecipients, type RecipientPolicy } from '../../domain/recipients';
import { tokenBuckets } from '../../domain/token-buckets';
import type { Logger } from '../../logger';
import type { AcceptEmail } from '../types';
import { smtpMetrics } from './metrics';
import { replyFor, smtpError, type SmtpReply } from './replies';
import { authenticateSender, withoutClaimedResults, withoutHeaderFields, type SenderAuthResults } from './sender-auth';

export interface SmtpIngressDeps {
  settings: SmtpIngressConfig;
  /** The accept path; called per message, so a rules reload applies from the next one on. */
  acceptEmail: () => AcceptEmail;
  /** The routing rules RCPT TO is judged by (the accept path's own recipient policy). */
  recipients: () => RecipientPolicy;
  maxMessageBytes: number;
  /** Every authserv-id the workers trust: a header claiming one of them is removed on the way in. */
  trustedAuthservIds: readonly string[];
  /** DNS for sender authentication; default: the system resolver. */
  resolver?: DNSResolver;
  log: Logger;
  now?: () => Date;
}

/** The PROXY header and the client's greeting are short: a socket silent this long is dropped. */
const MAX_COMMAND_BYTES = 4096;

function queueIdOf(session: SMTPServerSession): string {
  return `${session.id}.${session.transaction}`;
}

/** Printable ASCII only: a HELO name goes into a header field and a log line. */
function printable(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '?').slice(0, 255);
}

/** RFC 5321 §4.4 trace field, with the protocol names of RFC 3848 (ESMTPS, ESMTPSA) and RFC 6531. */
function receivedHeader(session: SMTPServerSession, hostname: string, queueId: string, date: Date): string {
  const helo = printable(session.hostNameAppearsAs || 'unknown');
  const single = session.envelope.rcptTo.length === 1 ? `\r\n\tfor <${printable(session.envelope.rcptTo[0]!.address)}>` : '';
  return `Received: from ${helo} ([${session.remoteAddress}])\r\n\tby ${hostname} (Mailgate) with ${session.transmissionType || 'SMTP'} id ${queueId}${single};\r\n\t${date.toUTCString().replace('GMT', '+0000')}\r\n`;
}

/** A From domain's DMARC policy that asks receivers to act on a failure (RFC 7489 §6.3 `p`). */
const ENFORCING_POLICIES = new Set(['quarantine', 'reject']);

/**
 * DMARC's verdict under the operator's DMARC_ACTION (a failure only; `record` leaves it to the
 * Authentication-Results header):
 *   tag         every failure gets an X-Mailgate-DMARC header, nothing else changes
 *   quarantine  a failure under p=quarantine or p=reject is accepted, stored and held for an operator
 *               before any step runs (no ticket, no acknowledgement to a possibly forged sender);
 *               under p=none it is tagged
 *   reject      a failure under p=reject is answered 550 (nothing stored); the others are tagged
 * The header is ours: one the sender wrote is removed before ours is added.
 */
export function dmarcOutcome(action: DmarcAction, results: SenderAuthResults): { tag?: string; refuse?: SmtpReply; quarantine?: string } {
  if (action === 'record' || results.dmarc !== 'fail') return {};
  const domain = results.fromDomain ?? 'the sender domain';
  const policy = results.dmarcPolicy ?? 'none';
  const tag = `X-Mailgate-DMARC: fail; policy=${policy}; domain=${domain}${action === 'quarantine' && ENFORCING_POLICIES.has(policy) ? '; action=quarantine' : ''}\r\n`;
  if (action === 'reject' && policy === 'reject') {
    return { refuse: { code: 550, message: `5.7.1 rejected by the DMARC policy of ${domain}` } };
  }
  if (action === 'quarantine' && ENFORCING_POLICIES.has(policy)) {
    return { tag, quarantine: `DMARC failed for ${domain}, whose policy is p=${policy} (SMTP_INGRESS_DMARC_ACTION=quarantine): release it to process it, or discard it` };
  }
  return { tag };
}

/** Reads the DATA stream whole, up to `max` bytes kept; false when the client went away mid-message. */
function readData(stream: SMTPServerDataStream, max: number): Promise<Buffer | false> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    stream.on('data', (chunk: Buffer) => {
      // Past the cap the rest is drained, not kept: the answer is 552 whatever follows.
      if (kept <= max) {
        chunks.push(chunk);
        kept += chunk.length;
      }
    });
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', () => resolve(false));
    stream.once('close', () => resolve(false));
  });
}

export function createSmtpIngress(deps: SmtpIngressDeps): SMTPServer {
  const { settings, log } = deps;
  const now = deps.now ?? (() => new Date());
  const connectionBuckets = tokenBuckets(settings.connectionsPerMinute, settings.connectionsPerMinute);
  const messageBuckets = tokenBuckets(settings.messagesPerMinute, settings.messagesPerMinute);
  const stripIds = [...new Set([settings.authservId, ...deps.trustedAuthservIds])];

  const answer = (stage: 'connect' | 'mail' | 'rcpt' | 'data', reply: SmtpReply, fields: Record<string, unknown>): Error & { responseCode: number } => {
    smtpMetrics.reply(stage, reply.code);
    log.info('smtp refused', { stage, code: reply.code, reply: reply.message, ...fields });
    return smtpError(reply);
  };

  async function onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const queueId = queueIdOf(session);
    const fields = { queueId, remoteAddress: session.remoteAddress };
    const data = await readData(stream, deps.maxMessageBytes);
    if (data === false) {
      log.info('smtp message cut off', fields);
      throw smtpError({ code: 451, message: '4.4.2 the message did not arrive whole' });
    }
    if (stream.sizeExceeded || data.length > deps.maxMessageBytes) {
      throw answer('data', { code: 552, message: `5.3.4 the message exceeds ${deps.maxMessageBytes} bytes` }, fields);
    }
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
    const auth = await authenticateSender({
      raw: data,
      ip: session.remoteAddress,
      helo: session.hostNameAppearsAs || '',
      mailFrom,
      authservId: settings.authservId,
      resolver: deps.resolver,
      trustReceived: Boolean(session.user),
    });
    smtpMetrics.authResult('spf', auth.results.spf);
    for (const result of auth.results.dkim.length > 0 ? auth.results.dkim : ['none']) smtpMetrics.authResult('dkim', result);
    smtpMetrics.authResult('dmarc', auth.results.dmarc);
    smtpMetrics.authResult('arc', auth.results.arc);
    const dmarc = dmarcOutcome(settings.dmarcAction, auth.results);
    if (dmarc.refuse) {
      smtpMetrics.dmarcAction('rejected');
      throw answer('data', dmarc.refuse, { ...fields, auth: auth.results });
    }
    const { raw: unclaimed, removed } = withoutClaimedResults(data, stripIds);
    // Only the MX writes X-Mailgate-DMARC: a sender's own copy (say `fail` on a rival's mail, or a
    // fake verdict below ours) is removed like a claimed Authentication-Results.
    const { raw: body, removed: forgedTags } = withoutHeaderFields(unclaimed, (name) => name === 'x-mailgate-dmarc');
    if (forgedTags > 0) log.warn('smtp removed X-Mailgate-DMARC the sender wrote', { ...fields, removed: forgedTags });
    if (removed > 0) log.warn('smtp removed Authentication-Results claiming our authserv-id', { ...fields, removed });
    const trace = receivedHeader(session, settings.hostname, queueId, now()) + auth.headers + (dmarc.tag ?? '');
    const raw = Buffer.concat([Buffer.from(trace, 'latin1'), body]);
    const envelope = { mailFrom, rcptTo: session.envelope.rcptTo.map((r) => r.address) };
    let reply: SmtpReply;
    try {
      const result = await deps.acceptEmail()(raw, envelope, { kind: 'smtp', name: 'mx', remoteAddress: session.remoteAddress }, dmarc.quarantine ? { quarantine: { reason: dmarc.quarantine } } : {});
      reply = replyFor(result, queueId);
      if (reply.code !== 250) throw answer('data', reply, { ...fields, auth: auth.results });
    } catch (error) {
      if (error instanceof Error && 'responseCode' in error) throw error;
      log.warn('smtp accept failed', { ...fields, error });
      throw answer('data', { code: 451, message: '4.3.0 the message could not be accepted; retry later' }, fields);
    }
    smtpMetrics.reply('data', 250);
    if (dmarc.tag) smtpMetrics.dmarcAction(dmarc.quarantine ? 'quarantined' : 'tagged');
    log.info('smtp message accepted', { ...fields, mailFrom, rcptTo: envelope.rcptTo, bytes: raw.length, auth: auth.results, ...(dmarc.quarantine ? { quarantined: true } : {}) });
    return reply.message;
  }

  return new SMTPServer({
    name: settings.hostname,
    banner: 'Mailgate',
    size: deps.maxMessageBytes,
    rejectOversized: true,
    maxRecipients: settings.maxRecipients,
    maxClients: settings.maxClients,
    socketTimeout: settings.socketTimeoutSeconds * 1000,
    closeTimeout: 30_000,
    maxCommandLength: MAX_COMMAND_BYTES,
    // Enhanced codes are written by us (./replies.ts): smtp-server derives them from the reply code
    // alone, which would call a DMARC refusal (550) "5.1.1 bad mailbox".
    hideENHANCEDSTATUSCODES: true,
    hideDSN: true,
    disableReverseLookup: true,
    logger: false,
    // STARTTLS only with a certificate; AUTH only with a relay account, and smtp-server offers it
    // only after STARTTLS (credentials never cross in clear text).
    ...(settings.tls ? { key: settings.tls.key, cert: settings.tls.cert } : {}),
    disabledCommands: [...(settings.tls ? [] : ['STARTTLS']), ...(settings.tls && settings.auth ? [] : ['AUTH'])],
    ...(settings.tls && settings.auth ? { authOptional: true, authMethods: ['PLAIN', 'LOGIN'] } : {}),
    // An MX talks to strangers: unauthenticated commands are the normal case, not a probe.
    maxAllowedUnauthenticatedCommands: false,
    ...(settings.proxyFrom.length > 0 ? { useProxy: settings.proxyFrom } : {}),
    onConnect(session, callback) {
      const taken = connectionBuckets.take(session.remoteAddress);
      if (!taken.ok) {
        smtpMetrics.connection('rate_limited');
        callback(answer('connect', { code: 421, message: `4.7.0 too many connections from ${session.remoteAddress}; try again in ${taken.retryAfterSeconds} s` }, { remoteAddress: session.remoteAddress }));
        return;
      }
      smtpMetrics.connection('accepted');
      callback();
    },
    onAuth(auth, session, callback) {
      const expected = settings.auth;
      const ok = expected !== undefined && auth.username === expected.user && typeof auth.password === 'string' && safeEqual(auth.password, expected.password);
      if (!ok) {
        log.warn('smtp auth refused', { remoteAddress: session.remoteAddress });
        callback(smtpError({ code: 535, message: '5.7.8 authentication failed' }));
        return;
      }
      callback(null, { user: auth.username });
    },
    onMailFrom(_address: SMTPServerAddress, session, callback) {
      // A trusted relay sends on behalf of many: its volume is not one sender's.
      const taken = session.user ? { ok: true as const } : messageBuckets.take(session.remoteAddress);
      if (!taken.ok) {
        callback(answer('mail', { code: 451, message: `4.7.1 too many messages from ${session.remoteAddress}; try again in ${taken.retryAfterSeconds} s` }, { remoteAddress: session.remoteAddress }));
        return;
      }
      callback();
    },
    onRcptTo(address, session, callback) {
      const resolved = resolveRecipients({ envelopeTo: [address.address], headerTo: [], headerCc: [] }, deps.recipients());
      if (resolved.accepted.length === 0) {
        const reason = resolved.refused[0]?.reason ?? 'not accepted here';
        callback(answer('rcpt', { code: 550, message: `5.1.1 <${printable(address.address)}>: ${reason}` }, { queueId: queueIdOf(session), remoteAddress: session.remoteAddress }));
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      onData(stream, session).then(
        (message) => callback(null, message),
        (error: Error) => callback(error),
      );
    },
  });
}

/** Constant-time comparison of a password, whatever its length (both sides hashed first). */
function safeEqual(given: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
