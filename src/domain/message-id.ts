/**
 * Message-ID handling (RFC 5322 §3.6.4). Ids are compared in a normalized form: without angle
 * brackets and surrounding space, with the domain part lower-cased (domains are case-insensitive,
 * local parts are not, so they keep their case).
 */

const MAX_ID_LENGTH = 998;

export function normalizeMessageId(raw: string | undefined | null): string | null {
  if (!raw) return null;
  let id = raw.trim();
  const bracketed = /<([^<>]*)>/.exec(id);
  if (bracketed?.[1] !== undefined) id = bracketed[1].trim();
  if (!id || id.length > MAX_ID_LENGTH || /\s/.test(id)) return null;
  const at = id.lastIndexOf('@');
  return at > 0 ? `${id.slice(0, at)}@${id.slice(at + 1).toLowerCase()}` : id;
}

/** Every `<id>` in a References or In-Reply-To value, in header order, normalized, deduplicated. */
export function parseMessageIdList(raw: string | string[] | undefined | null): string[] {
  if (!raw) return [];
  const text = Array.isArray(raw) ? raw.join(' ') : raw;
  const out: string[] = [];
  for (const match of text.matchAll(/<([^<>\s]+)>/g)) {
    const id = normalizeMessageId(match[1]);
    if (id && !out.includes(id)) out.push(id);
  }
  // Some mailers omit the brackets in In-Reply-To: accept one bare id.
  if (out.length === 0) {
    const bare = normalizeMessageId(text);
    if (bare && bare.includes('@')) out.push(bare);
  }
  return out;
}

export function bracket(id: string): string {
  return `<${id}>`;
}
