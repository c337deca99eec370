/**
 * An independent reading of sanitized HTML, as a browser would tokenize it: start tags with their
 * attributes (entities decoded), by the WHATWG tokenizer's rules for where each ends. Test-only.
 */

export interface Tag { name: string; attributes: Array<{ name: string; value: string }> }

const RAW_TEXT = new Set(['script', 'style', 'textarea', 'title', 'xmp', 'iframe', 'noembed', 'noframes', 'noscript', 'plaintext']);

export const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", colon: ':', Tab: '\t', NewLine: '\n', lpar: '(', rpar: ')',
  sol: '/', bsol: '\\', comma: ',', period: '.', excl: '!', num: '#', equals: '=', semi: ';', nbsp: '\u00A0', grave: '`',
};

export function decodeEntities(value: string): string {
  return value.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[A-Za-z]+);?/g, (whole, body: string) => {
    if (!body.startsWith('#')) return NAMED_ENTITIES[body] ?? whole;
    const code = /^#[xX]/.test(body) ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
  });
}

/** Start and end tags with their attributes, by the WHATWG tokenizer's rules for where each ends. */
export function parseTags(html: string): Tag[] {
  const tags: Tag[] = [];
  let k = 0;
  const at = (): string => html.charAt(k);
  const skipSpace = (): void => {
    while (k < html.length && /[\t\n\f\r /]/.test(at())) k++;
  };
  while (k < html.length) {
    const lt = html.indexOf('<', k);
    if (lt < 0) break;
    const next = html.charAt(lt + 1);
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      k = end < 0 ? html.length : end + 3;
      continue;
    }
    if (next === '!' || next === '?' || (next === '/' && !/[A-Za-z]/.test(html.charAt(lt + 2)))) {
      const end = html.indexOf('>', lt);
      k = end < 0 ? html.length : end + 1;
      continue;
    }
    if (!/[A-Za-z/]/.test(next)) {
      k = lt + 1;
      continue;
    }
    const closing = next === '/';
    k = lt + (closing ? 2 : 1);
    const nameStart = k;
    while (k < html.length && !/[\t\n\f\r />]/.test(at())) k++;
    const tag: Tag = { name: html.slice(nameStart, k).toLowerCase(), attributes: [] };
    for (;;) {
      skipSpace();
      if (k >= html.length || at() === '>') break;
      const attrStart = k++;
      while (k < html.length && !/[\t\n\f\r />=]/.test(at())) k++;
      const name = html.slice(attrStart, k).toLowerCase();
      while (k < html.length && /[\t\n\f\r ]/.test(at())) k++;
      let value = '';
      if (at() === '=') {
        k++;
        while (k < html.length && /[\t\n\f\r ]/.test(at())) k++;
        const quote = at();
        if (quote === '"' || quote === "'") {
          const end = html.indexOf(quote, k + 1);
          value = html.slice(k + 1, end < 0 ? html.length : end);
          k = end < 0 ? html.length : end + 1;
        } else {
          const start = k;
          while (k < html.length && !/[\t\n\f\r >]/.test(at())) k++;
          value = html.slice(start, k);
        }
      }
      tag.attributes.push({ name, value: decodeEntities(value) });
    }
    k += 1;
    if (!closing) tags.push(tag);
    if (!closing && RAW_TEXT.has(tag.name)) {
      const end = html.toLowerCase().indexOf(`</${tag.name}`, k);
      k = end < 0 ? html.length : end;
    }
  }
  return tags;
}

