/**
 * Sender authentication at SMTP time (mailauth): SPF for the connecting address and MAIL FROM, DKIM
 * signatures, DMARC with alignment, ARC. The results become an Authentication-Results header under
 * the MX's authserv-id, the only one the steps after it believe (src/domain/auth-results.ts).
 *
 * Threat: a sender can write an Authentication-Results header under our authserv-id itself
 * (`dmarc=pass` on a forged VIP From). The trust rule reads the topmost run of trusted headers, so a
 * forged one directly below ours would be believed. RFC 8601 §5: a border MTA removes such headers
 * before it adds its own; every header claiming one of the trusted ids is removed here, wherever it
 * stands in the header block.
 */
import { authenticate, type DNSResolver } from 'mailauth';
import { parseAuthenticationResults } from '../../domain/auth-results';

export interface SenderAuthInput {
  raw: Buffer;
  /** The connecting client (after any PROXY header); SPF checks it against MAIL FROM's domain. */
  ip: string;
  helo: string;
  mailFrom: string | null;
  authservId: string;
  /** DNS lookups (tests feed a zone); default: the system resolver. */
  resolver?: DNSResolver | undefined;
  /**
   * A trusted relay delivered it (AUTH): SPF is evaluated for the address in its topmost Received
   * header, the host that handed the message to the relay, not for the relay itself.
   */
  trustReceived?: boolean;
}

/** Lower-cased mailauth results; `none` when a check did not apply. */
export interface SenderAuthResults {
  spf: string;
  dkim: string[];
  dmarc: string;
  arc: string;
  /** The From domain's DMARC policy in force (none, quarantine, reject), when DMARC applied. */
  dmarcPolicy: string | null;
  fromDomain: string | null;
}

export interface SenderAuth {
  /** Header fields to prepend (Received-SPF, Authentication-Results), CRLF-terminated. */
  headers: string;
  results: SenderAuthResults;
}

const resultOf = (value: unknown): string => {
  const result = (value as { status?: { result?: unknown } } | undefined)?.status?.result;
  return typeof result === 'string' ? result.toLowerCase() : 'none';
};

/**
 * Never throws: a lookup that fails is a temperror in the results (mailauth reports it so), and a
 * failure of mailauth itself stamps `none` (RFC 8601 §2.2: no authentication was performed), which
 * no step reads as a pass or a failure.
 */
export async function authenticateSender(input: SenderAuthInput): Promise<SenderAuth> {
  try {
    const result = await authenticate(input.raw, {
      ip: input.ip,
      helo: input.helo,
      sender: input.mailFrom ?? '',
      mta: input.authservId,
      ...(input.resolver ? { resolver: input.resolver } : {}),
      ...(input.trustReceived ? { trustReceived: true } : {}),
      disableBimi: true,
    });
    const dmarc = result.dmarc || null;
    return {
      headers: result.headers,
      results: {
        spf: resultOf(result.spf),
        dkim: (result.dkim?.results ?? []).map(resultOf),
        dmarc: resultOf(dmarc),
        arc: resultOf(result.arc),
        dmarcPolicy: dmarc && typeof dmarc.policy === 'string' ? dmarc.policy.toLowerCase() : null,
        fromDomain: dmarc && typeof dmarc.domain === 'string' ? dmarc.domain.toLowerCase() : null,
      },
    };
  } catch {
    return {
      headers: `Authentication-Results: ${input.authservId}; none\r\n`,
      results: { spf: 'none', dkim: [], dmarc: 'none', arc: 'none', dmarcPolicy: null, fromDomain: null },
    };
  }
}

/** End of the header block: the offset of the empty line's first byte, or the length when there is none. */
function headerEnd(text: string): number {
  const match = /\r?\n\r?\n/.exec(text);
  return match ? match.index + match[0].indexOf('\n') + 1 : text.length;
}

/**
 * The message without the header fields (with their folded lines) that `drop` picks by lower-cased
 * name and unfolded value; the same bytes when it picks none. Only the header block is looked at.
 */
export function withoutHeaderFields(raw: Buffer, drop: (name: string, value: string) => boolean): { raw: Buffer; removed: number } {
  // latin1 maps each byte to one code unit and back: 8-bit headers survive the round trip.
  const text = raw.toString('latin1');
  const end = headerEnd(text);
  const kept: string[] = [];
  let removed = 0;
  let offset = 0;
  while (offset < end) {
    let next = text.indexOf('\n', offset);
    next = next < 0 || next >= end ? end : next + 1;
    while (next < end && (text[next] === ' ' || text[next] === '\t')) {
      const lineEnd = text.indexOf('\n', next);
      next = lineEnd < 0 || lineEnd >= end ? end : lineEnd + 1;
    }
    const field = text.slice(offset, next);
    const colon = field.indexOf(':');
    if (colon > 0 && drop(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).replace(/\r?\n[ \t]/g, ' '))) {
      removed++;
    } else {
      kept.push(field);
    }
    offset = next;
  }
  if (removed === 0) return { raw, removed };
  return { raw: Buffer.concat([Buffer.from(kept.join(''), 'latin1'), raw.subarray(end)]), removed };
}

/** The message without the Authentication-Results fields that claim one of `authservIds`. */
export function withoutClaimedResults(raw: Buffer, authservIds: readonly string[]): { raw: Buffer; removed: number } {
  const ids = new Set(authservIds.map((id) => id.toLowerCase()));
  return withoutHeaderFields(raw, (name, value) => {
    if (name !== 'authentication-results') return false;
    const parsed = parseAuthenticationResults(value);
    // An unreadable header's authserv-id is its first word: claimed if that word is ours.
    const claimed = parsed?.authservId ?? /^\s*([^\s;]+)/.exec(value)?.[1] ?? '';
    return ids.has(claimed.toLowerCase());
  });
}
