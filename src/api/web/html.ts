/**
 * HTML by construction: `html` is a tagged template whose every interpolation is escaped unless it
 * is itself `Html` (made by `html` or, for text already known safe, `trusted`). Arrays join. So an
 * email's subject, a requester's name or a workflow id can only ever land as text.
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function render(part: Part): string {
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map((p: Part) => render(p)).join('');
  if (part === null || part === undefined || part === false) return '';
  return escapeHtml(String(part));
}

export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((part, i) => {
    out += render(part) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Text the caller vouches for (a constant, or HTML the sanitizer produced); never user input. */
export function trusted(value: string): Html {
  return new Html(value);
}

/** A query string from defined values, each encoded. */
export function query(values: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(values).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  return pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : '';
}
