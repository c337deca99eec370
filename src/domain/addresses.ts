/**
 * Email addresses as Mailgate compares them: trimmed, lower-cased (RFC 5321 §2.4 lets a local part
 * be case-sensitive, but no mailbox provider in practice treats it so, and routing by queue must not
 * split on case).
 */
export function normalizeAddress(address: string): string {
  return address.trim().replace(/^<|>$/g, '').toLowerCase();
}

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : '';
}

const ADDR_SPEC = /^[^\s@<>()",;:]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/i;

export function isAddress(address: string): boolean {
  return address.length <= 320 && ADDR_SPEC.test(address);
}
