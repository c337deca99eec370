/**
 * Authentication-Results (RFC 8601), read as evidence only when our own receiving servers wrote it.
 *
 * Threat: the header is plain text the sender can write too. A sender-written `dmarc=fail` must not
 * mark a genuine customer as forged, and a sender-written `dmarc=pass` (or no result at all) must not
 * lift a forged VIP address up the queue. RFC 8601 §5: a consumer ignores results whose authserv-id
 * is not its own or one it trusts; and since each receiver prepends its header, only the topmost run
 * of headers stamped by trusted servers can be ours. Everything below the first header from another
 * authserv-id (or one we cannot read) arrived with the message and is ignored.
 */

/** One `method=result` of a header, with its reason and properties (`ptype.property` lower-cased). */
export interface AuthResult {
  /** Lower-cased, without a method version (`dkim/1` → `dkim`). */
  method: string;
  /** Lower-cased: pass, fail, softfail, none, neutral, temperror, permerror, policy, … */
  result: string;
  reason: string | null;
  properties: Record<string, string>;
}

export interface AuthResultsHeader {
  /** As written; compare case-insensitively. */
  authservId: string;
  version: number | null;
  /** Empty for `none` (RFC 8601 §2.2: no authentication was performed). */
  results: AuthResult[];
}

/** 'unknown': no trusted result decides; that is neither a pass nor a failure. */
export type Authentication = 'pass' | 'fail' | 'unknown';

export interface AuthenticationVerdict {
  authentication: Authentication;
  /** `method-result` of trusted DMARC, SPF and DKIM failures, as evidence (`dmarc-fail`, `spf-softfail`). */
  failures: string[];
}

/**
 * A name an operator may configure as a trusted authserv-id: a domain-ish token (RFC 8601 §2.5
 * recommends the receiving host's or its ADMD's domain name). Anything else could never match a
 * header our parser reads as a token, so refusing it at start-up catches typos.
 */
export function isAuthservId(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(name);
}

type Token = { kind: 'word' | 'quoted'; text: string } | { kind: ';' | '=' };

/** RFC 8601 §2.2 lexical tokens; CFWS (whitespace and nested comments) is dropped. null: malformed. */
function tokenize(value: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      let depth = 0;
      for (; i < value.length; i++) {
        const d = value[i];
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      if (depth !== 0) return null;
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === '\\') i++;
        text += value[i] ?? '';
      }
      if (i >= value.length) return null;
      tokens.push({ kind: 'quoted', text });
      i++;
    } else if (c === ';' || c === '=') {
      tokens.push({ kind: c });
      i++;
    } else {
      const start = i;
      while (i < value.length && !/[\s();="]/.test(value[i]!)) i++;
      if (value[i] === ')') return null;
      tokens.push({ kind: 'word', text: value.slice(start, i) });
    }
  }
  return tokens;
}

function textOf(token: Token | undefined): string | null {
  return token && (token.kind === 'word' || token.kind === 'quoted') ? token.text : null;
}

/**
 * One header value (unfolded). null when it does not follow RFC 8601 §2.2: no authserv-id, a
 * resinfo without `method=result`, an unterminated comment or quoted string. Properties are read
 * leniently (Microsoft writes `action=none`, base64 `header.b` values may end in `=`), since only
 * the authserv-id and `method=result` decide anything.
 */
export function parseAuthenticationResults(value: string): AuthResultsHeader | null {
  const tokens = tokenize(value);
  if (!tokens) return null;
  let at = 0;
  const authservId = textOf(tokens[at++]);
  if (!authservId) return null;
  let version: number | null = null;
  const maybeVersion = tokens[at];
  if (maybeVersion?.kind === 'word' && /^\d+$/.test(maybeVersion.text)) {
    version = Number(maybeVersion.text);
    at++;
  }
  if (tokens[at]?.kind !== ';') return null;
  const none = tokens[at + 1];
  if (tokens.length === at + 2 && none?.kind === 'word' && none.text.toLowerCase() === 'none') {
    return { authservId, version, results: [] };
  }
  const results: AuthResult[] = [];
  while (at < tokens.length) {
    if (tokens[at++]?.kind !== ';') return null;
    if (at === tokens.length) break;
    const method = tokens[at]?.kind === 'word' ? textOf(tokens[at]) : null;
    const result = tokens[at + 1]?.kind === '=' && tokens[at + 2]?.kind === 'word' ? textOf(tokens[at + 2]) : null;
    if (!method || !result) return null;
    at += 3;
    const entry: AuthResult = { method: method.split('/')[0]!.trim().toLowerCase(), result: result.toLowerCase(), reason: null, properties: {} };
    while (at < tokens.length && tokens[at]?.kind !== ';') {
      const key = textOf(tokens[at++])?.toLowerCase();
      if (key === undefined || key === null || tokens[at]?.kind !== '=') continue;
      at++;
      let pvalue = textOf(tokens[at]) ?? '';
      if (pvalue) at++;
      while (tokens[at]?.kind === '=') {
        pvalue += '=';
        at++;
      }
      if (key === 'reason') entry.reason = pvalue;
      else entry.properties[key] = pvalue;
    }
    results.push(entry);
  }
  if (results.length === 0) return null;
  return { authservId, version, results };
}

/**
 * The results of the topmost headers stamped by a trusted authserv-id (header values top first, as
 * the parser keeps them). Stops at the first header that is not: it and all below it were already in
 * the message when our servers received it. No trusted ids: nothing is trusted.
 */
export function trustedResults(values: readonly string[], trustedAuthservIds: readonly string[]): AuthResult[] {
  const trusted = new Set(trustedAuthservIds.map((id) => id.toLowerCase()));
  const results: AuthResult[] = [];
  for (const value of values) {
    const header = parseAuthenticationResults(value);
    if (!header || !trusted.has(header.authservId.toLowerCase())) break;
    results.push(...header.results);
  }
  return results;
}

/** The domain of a property value that may be an address (`user@example.com`, `@example.com`). */
function domainPart(value: string | undefined): string {
  if (!value) return '';
  return value.slice(value.lastIndexOf('@') + 1).trim().toLowerCase().replace(/\.$/, '');
}

/**
 * The authenticated domain speaks for the From domain when they are equal or From is beneath it.
 * The other direction (a signer beneath From) is not taken: without the public suffix list,
 * `attacker.example.co` cannot be told from `mail.example.com`, so that case stays unknown.
 */
function aligned(authenticated: string, fromDomain: string): boolean {
  return authenticated !== '' && (fromDomain === authenticated || fromDomain.endsWith(`.${authenticated}`));
}

const FAILURE_RESULTS = new Set(['fail', 'softfail', 'permerror']);

/**
 * The verdict on the sender's From domain from trusted results. DMARC decides when it passes or
 * fails (it already checks alignment); a result whose `header.from` names another domain is about
 * another From and ignored. Without a deciding DMARC result, an aligned DKIM or SPF pass is a pass
 * and an aligned SPF `fail`/`softfail` (the domain owner's own "not from us") is a failure. DKIM
 * failures alone decide nothing (forwarders and lists break signatures), nor do `permerror` and
 * `temperror` (a broken or unreachable record says nothing about this message, RFC 7208 §2.6.7).
 */
export function authenticate(results: readonly AuthResult[], fromDomain: string): AuthenticationVerdict {
  const domain = fromDomain.toLowerCase();
  const failures = [
    ...new Set(
      results.filter((r) => ['dmarc', 'spf', 'dkim'].includes(r.method) && FAILURE_RESULTS.has(r.result)).map((r) => `${r.method}-${r.result}`),
    ),
  ];
  const dmarc = results.filter((r) => r.method === 'dmarc' && (!domain || !r.properties['header.from'] || domainPart(r.properties['header.from']) === domain));
  if (dmarc.some((r) => r.result === 'fail')) return { authentication: 'fail', failures };
  if (dmarc.some((r) => r.result === 'pass')) return { authentication: 'pass', failures };
  if (!domain) return { authentication: 'unknown', failures };
  const dkimDomain = (r: AuthResult) => domainPart(r.properties['header.d'] ?? r.properties['header.i']);
  const spfDomain = (r: AuthResult) => domainPart(r.properties['smtp.mailfrom']);
  const alignedPass = results.some(
    (r) => r.result === 'pass' && ((r.method === 'dkim' && aligned(dkimDomain(r), domain)) || (r.method === 'spf' && aligned(spfDomain(r), domain))),
  );
  if (alignedPass) return { authentication: 'pass', failures };
  const alignedSpfFail = results.some((r) => r.method === 'spf' && (r.result === 'fail' || r.result === 'softfail') && aligned(spfDomain(r), domain));
  return { authentication: alignedSpfFail ? 'fail' : 'unknown', failures };
}
