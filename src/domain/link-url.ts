/**
 * URLs in inbound HTML are judged as the browser that opens the ticket will read them, and the
 * sanitizer writes out exactly what was judged. The threat (issue 12, class 8): forms such as
 * `https:/logout`, `https:logout`, `/\host`, `\\host` or a scheme broken by tabs survived a check
 * that looked at the text, then resolved against the helpdesk's own origin (WHATWG URL §4.4: a
 * special-scheme URL without "//" is relative when the base has the same scheme) or elsewhere.
 *
 * So: strip what a browser strips (leading and trailing C0 controls and spaces, every ASCII tab
 * and newline; the HTML parser has already decoded entities), parse with the WHATWG parser (the
 * global URL, as a browser does) with no base at all, so a form that needs a base to mean
 * anything is refused rather than resolved, and keep only absolute http:, https: and mailto:
 * links, written out as the parser serialises them (unit tests check that what is kept resolves
 * to the same URL against any base).
 */

export type LinkRefusal =
  | 'empty'
  | 'relative'
  | 'scheme'
  | 'no-authority'
  | 'unparseable'
  | 'credentials'
  | 'idn-host'
  | 'internal-host';

export type LinkVerdict = { ok: true; href: string } | { ok: false; refusal: LinkRefusal };

export const LINK_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'mailto:']);
const SPECIAL_LINK_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:']);

// WHATWG URL §4.4 basic URL parser: "remove any leading and trailing C0 control or space", then
// "remove all ASCII tab or newline". Doing it first lets the scheme be read as the parser reads it.
const isC0OrSpace = (code: number): boolean => code <= 0x20;
const TAB_OR_NEWLINE = /[\t\n\r]/g;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** A parsed (so already canonical) hostname that names the agent's own machine or network. */
function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/\.$/, '');
  return host.startsWith('[') || /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host === 'localhost' || host.endsWith('.localhost') || !host.includes('.');
}

/** The string a browser's URL parser actually reads: ends trimmed, tabs and newlines gone. */
export function browserUrlText(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isC0OrSpace(value.charCodeAt(start))) start++;
  while (end > start && isC0OrSpace(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end).replace(TAB_OR_NEWLINE, '');
}

function parse(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/**
 * An absolute http(s) or mailto link, normalised; anything else is refused with the reason.
 *
 * Refused on purpose, though a browser would follow them somewhere:
 * - `https:host`, `https:/host`, `https:\\host`: without a literal "//" a special-scheme URL is
 *   relative to a base of the same scheme, so where it goes depends on the page showing it.
 * - credentials (`https://helpdesk.example@evil.example/`): the text before "@" is shown as if it
 *   were the host, a classic phishing disguise; no legitimate email link needs them.
 * - IDN hosts (Unicode or already `xn--`): homographs of a real domain (Cyrillic "а" for Latin "a")
 *   look identical in a link's tooltip; agents are the target, the link text stays readable.
 * - in-page `#fragments`: the sanitizer keeps no `id` or `name`, so there is nothing to jump to,
 *   and a fragment resolves against the helpdesk's own page.
 * - hosts inside the agent's network: IP literals in any spelling (`0x7f.1`, `2130706433` and
 *   `[::1]` are all 127.0.0.1 to the parser, and Mailgate's own API listens on 127.0.0.1:3000 by
 *   default), `localhost` and `*.localhost`, and single-label names (`http://helpdesk/`) that the
 *   agent's resolver completes with its own search domain. Mail from outside has no business
 *   pointing there; public sites have names.
 */
export function normaliseLink(value: string, schemes: ReadonlySet<string> = LINK_SCHEMES): LinkVerdict {
  const text = browserUrlText(value);
  if (text === '') return { ok: false, refusal: 'empty' };
  const scheme = SCHEME.exec(text)?.[1];
  if (scheme === undefined) return { ok: false, refusal: 'relative' };
  const protocol = `${scheme.toLowerCase()}:`;
  if (!schemes.has(protocol)) return { ok: false, refusal: 'scheme' };
  if (SPECIAL_LINK_SCHEMES.has(protocol) && !text.slice(scheme.length + 1).startsWith('//')) return { ok: false, refusal: 'no-authority' };
  const url = parse(text);
  if (url === undefined || url.protocol !== protocol) return { ok: false, refusal: 'unparseable' };
  if (SPECIAL_LINK_SCHEMES.has(protocol)) {
    if (url.hostname === '') return { ok: false, refusal: 'unparseable' };
    if (url.username !== '' || url.password !== '') return { ok: false, refusal: 'credentials' };
    if (url.hostname.split('.').some((label) => label.startsWith('xn--'))) return { ok: false, refusal: 'idn-host' };
    if (isInternalHost(url.hostname)) return { ok: false, refusal: 'internal-host' };
  }
  return { ok: true, href: url.href };
}

/**
 * A srcset value's candidates (HTML §4.8.4.3.12, simplified: a URL runs to the next whitespace
 * and loses trailing commas; its descriptors run to the next comma). Each URL is judged by
 * `judge`; one refused candidate drops the whole attribute.
 */
export function normaliseSrcset(value: string, judge: (url: string) => string | undefined): string | undefined {
  const candidates: string[] = [];
  let rest = value;
  for (;;) {
    rest = rest.replace(/^[\s,]+/, '');
    if (rest === '') break;
    const urlEnd = /[\s]|$/.exec(rest)?.index ?? rest.length;
    const rawUrl = rest.slice(0, urlEnd).replace(/,+$/, '');
    const endedByComma = rest.slice(0, urlEnd).endsWith(',');
    rest = rest.slice(urlEnd);
    let descriptor = '';
    if (!endedByComma) {
      const comma = rest.indexOf(',');
      descriptor = (comma < 0 ? rest : rest.slice(0, comma)).trim();
      rest = comma < 0 ? '' : rest.slice(comma + 1);
    }
    if (descriptor !== '' && !/^\d+(?:\.\d+)?[wx]$/.test(descriptor)) return undefined;
    const judged = judge(rawUrl);
    if (judged === undefined) return undefined;
    candidates.push(descriptor === '' ? judged : `${judged} ${descriptor}`);
  }
  return candidates.length === 0 ? undefined : candidates.join(', ');
}
