/**
 * The mailbox behind an address, for rate-limit keys only. Mail is still sent to the address as
 * written; this decides which budget it counts against.
 *
 * Threat: a budget keyed on the spelling is no budget. `ann+1@`, `ann+2@` and `Ann@` reach one inbox,
 * and Gmail delivers `a.n.n@gmail.com` and `ann@googlemail.com` there too, so a prober (or a loop
 * that rewrites its address) got a fresh allowance per spelling. Every step here merges spellings,
 * never splits them: when in doubt two addresses share a budget.
 */
import { normalizeAddress } from './addresses';

/** Providers that ignore dots in the local part, and the domain their mailboxes are counted under. */
const DOTLESS_PROVIDERS: Readonly<Record<string, string>> = Object.freeze({
  'gmail.com': 'gmail.com',
  'googlemail.com': 'gmail.com',
});

/** Characters that would make URL parsing read a different host than the one written. */
const NOT_A_HOST = /[\s/\\?#@:[\]%]/;

/**
 * An internationalised domain in its ASCII (punycode) form, so `BÜCHER.example`, `bücher.example` and
 * `xn--bcher-kva.example` are one domain; UTS 46 mapping also folds full-width letters
 * (`ｇｍａｉｌ.com`). A domain that cannot be mapped is kept lower-cased.
 */
function asciiDomain(domain: string): string {
  const lower = domain.toLowerCase().replace(/\.+$/, '');
  if (!/[\u0080-\uffff]/.test(lower) || NOT_A_HOST.test(lower)) return lower;
  try {
    return new URL(`http://${lower}/`).hostname || lower;
  } catch {
    return lower;
  }
}

/** RFC 5321 §4.1.2 quoted local part: `"ann+1"@x` is the local part `ann+1`. */
function unquote(local: string): string {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/s.exec(local);
  return quoted ? quoted[1]!.replace(/\\(.)/gs, '$1') : local;
}

/**
 * The mailbox an address delivers to, as a rate-limit key: trimmed, without angle brackets,
 * lower-cased, unquoted, without a plus-tag (everything from the first `+` of the local part), the
 * domain in ASCII, and without dots in the local part for providers that ignore them
 * (googlemail.com counts as gmail.com). Input without an `@` is treated as a bare local part.
 */
export function mailboxOf(address: string): string {
  const normalized = normalizeAddress(address).normalize('NFC');
  const at = normalized.lastIndexOf('@');
  let local = unquote(at >= 0 ? normalized.slice(0, at) : normalized);
  let domain = at >= 0 ? asciiDomain(normalized.slice(at + 1)) : '';
  const plus = local.indexOf('+');
  if (plus >= 0) local = local.slice(0, plus);
  const provider = DOTLESS_PROVIDERS[domain];
  if (provider) {
    domain = provider;
    local = local.replace(/\./g, '');
  }
  return at >= 0 ? `${local}@${domain}` : local;
}

/** The domain of an address's mailbox (see mailboxOf), or '' when it has none. */
export function mailboxDomainOf(address: string): string {
  const mailbox = mailboxOf(address);
  const at = mailbox.lastIndexOf('@');
  return at >= 0 ? mailbox.slice(at + 1) : '';
}
