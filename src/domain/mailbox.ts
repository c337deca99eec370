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
 * An address in the form queues are matched on (recipient → queue, src/domain/recipients.ts):
 * trimmed, without angle brackets, lower-cased, NFC, the local part unquoted, without a plus-tag
 * (everything from its first `+`), the domain in ASCII without trailing dots (`support.` is a root
 * label, RFC 1034 §3.1, the same host). No provider-specific folding: our own domains keep their
 * dots. Input without an `@` is treated as a bare local part.
 */
export function routingAddressOf(address: string): string {
  const normalized = normalizeAddress(address).normalize('NFC');
  const at = normalized.lastIndexOf('@');
  let local = unquote(at >= 0 ? normalized.slice(0, at) : normalized);
  const plus = local.indexOf('+');
  if (plus >= 0) local = local.slice(0, plus);
  return at >= 0 ? `${local}@${asciiDomain(normalized.slice(at + 1))}` : local;
}

/** A domain as routingAddressOf writes it: lower-case ASCII (punycode), no trailing dot. */
export function routingDomainOf(domain: string): string {
  return asciiDomain(domain.trim());
}

/**
 * The mailbox an address delivers to, as a rate-limit key: its routing address (see
 * routingAddressOf), and without dots in the local part for providers that ignore them
 * (googlemail.com counts as gmail.com).
 */
export function mailboxOf(address: string): string {
  const routed = routingAddressOf(address);
  const at = routed.lastIndexOf('@');
  if (at < 0) return routed;
  const provider = DOTLESS_PROVIDERS[routed.slice(at + 1)];
  return provider ? `${routed.slice(0, at).replace(/\./g, '')}@${provider}` : routed;
}

/** The domain of an address's mailbox (see mailboxOf), or '' when it has none. */
export function mailboxDomainOf(address: string): string {
  const mailbox = mailboxOf(address);
  const at = mailbox.lastIndexOf('@');
  return at >= 0 ? mailbox.slice(at + 1) : '';
}
