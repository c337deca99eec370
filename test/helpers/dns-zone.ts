/**
 * A DNS zone the test controls, as mailauth's resolver hook: `(name, rrtype)` answered from a map
 * with the shapes of `dns.promises.resolve` (TXT is a list of string lists). A name or type not in
 * the zone is ENOTFOUND, which mailauth reads as "no record"; a name listed under `failing` is a
 * SERVFAIL-like ESERVFAIL, which it reads as a temporary error. Calls are recorded.
 */
import type { DNSResolver } from 'mailauth';

export type Zone = Record<string, Partial<Record<'TXT' | 'MX' | 'A' | 'AAAA' | 'PTR' | 'CNAME', unknown[]>>>;

export interface ZoneResolver {
  resolver: DNSResolver;
  calls: string[];
}

/** TXT records longer than 255 bytes travel as several strings (RFC 7208 §3.3); so do they here. */
export function txt(value: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(value.slice(i, i + 255));
  return parts;
}

export function zoneResolver(zone: Zone, failing: readonly string[] = []): ZoneResolver {
  const calls: string[] = [];
  const error = (code: string, name: string): Error => Object.assign(new Error(`${code} ${name}`), { code });
  const resolver = async (name: string, rrtype: string): Promise<string[][] | string[]> => {
    const key = name.toLowerCase().replace(/\.$/, '');
    calls.push(`${rrtype} ${key}`);
    if (failing.includes(key)) throw error('ESERVFAIL', key);
    const records = zone[key]?.[rrtype as keyof Zone[string]];
    if (!records || records.length === 0) throw error('ENOTFOUND', key);
    return records as string[][] | string[];
  };
  return { resolver: resolver as DNSResolver, calls };
}
