/**
 * Inbound HTML is hostile: scripts, event handlers, remote content that tracks the agent who opens
 * the ticket, forms that phish. Only inert formatting survives; links keep http(s)/mailto (and
 * in-page #fragments) only and open without a referrer; images are limited to inline parts (cid:)
 * and base64 data: images of raster types.
 */
import sanitizeHtml from 'sanitize-html';

// Raster types only: an SVG "image" opened in its own tab is a document with scripts and links,
// and a data:text/html "image" is a document outright.
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|webp);base64,[a-z0-9+/]+={0,2}$/i;
const LINK_SCHEMES = new Set(['http', 'https', 'mailto']);
// Characters a URL parser skips (controls, tab, newline) plus those older engines and some filters
// treat as blank (Unicode spaces, soft hyphen, zero-width and BOM). sanitize-html strips only
// \x00-\x20 before it reads the scheme, so "\u2028javascript:" or "&#x200B;javascript:" would pass
// its check as a relative URL.
const INVISIBLE = /[\s\u007f-\u009f\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]/u;

function compactUrl(url: string): string {
  return [...url].filter((c) => c > ' ' && !INVISIBLE.test(c)).join('');
}

/**
 * Absolute http(s)/mailto links and in-page fragments. A relative link would resolve against the
 * helpdesk's own origin, letting a sender aim an agent's click at the helpdesk's own endpoints.
 */
function safeHref(href: string): string | undefined {
  const bare = compactUrl(href);
  if (bare.startsWith('#')) return href;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(bare)?.[1]?.toLowerCase();
  return scheme !== undefined && LINK_SCHEMES.has(scheme) ? href : undefined;
}

/** cid: parts of this message and raster data: images; nothing is fetched when a ticket opens. */
function safeImageSrc(src: string): string | undefined {
  const bare = compactUrl(src);
  return /^cid:./i.test(bare) || DATA_IMAGE.test(bare) ? bare : undefined;
}

function withUrl(attribs: sanitizeHtml.Attributes, name: string, url: string | undefined): sanitizeHtml.Attributes {
  const rest = Object.fromEntries(Object.entries(attribs).filter(([key]) => key !== name));
  return url === undefined ? rest : { ...rest, [name]: url };
}

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [
    'a', 'abbr', 'b', 'blockquote', 'br', 'caption', 'code', 'col', 'colgroup', 'dd', 'del', 'div', 'dl', 'dt', 'em',
    'font', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'li', 'ol', 'p', 'pre', 'q', 's', 'small',
    'span', 'strike', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'u', 'ul',
  ],
  allowedAttributes: {
    a: ['href', 'title', 'rel', 'target'],
    img: ['src', 'alt', 'title', 'width', 'height'],
    td: ['colspan', 'rowspan', 'align', 'valign'],
    th: ['colspan', 'rowspan', 'align', 'valign'],
    '*': ['dir', 'lang'],
  },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['cid', 'data'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head'],
  // Transforms run before sanitize-html's own attribute and scheme checks, which still apply.
  transformTags: {
    a: (tagName, attribs) => ({
      tagName,
      attribs: { ...withUrl(attribs, 'href', attribs.href === undefined ? undefined : safeHref(attribs.href)), rel: 'noopener noreferrer nofollow', target: '_blank' },
    }),
    img: (tagName, attribs) => ({ tagName, attribs: withUrl(attribs, 'src', attribs.src === undefined ? undefined : safeImageSrc(attribs.src)) }),
  },
};

/**
 * Remote images are never loaded when a ticket opens (they tell the sender who read it, and when).
 * "drop" removes them; "link" turns each into a plain link the agent may choose to follow.
 */
export type RemoteImagePolicy = 'drop' | 'link';

const LINKED_IMAGES: sanitizeHtml.IOptions = {
  ...OPTIONS,
  transformTags: {
    ...OPTIONS.transformTags,
    img: (tagName, attribs) => {
      const remote = attribs.src === undefined ? undefined : safeHref(attribs.src);
      if (remote !== undefined && /^https?:/i.test(compactUrl(remote))) {
        return { tagName: 'a', attribs: { href: remote, rel: 'noopener noreferrer nofollow', target: '_blank' }, text: `[remote image${attribs.alt ? `: ${attribs.alt}` : ''}]` };
      }
      return { tagName, attribs: withUrl(attribs, 'src', attribs.src === undefined ? undefined : safeImageSrc(attribs.src)) };
    },
  },
};

export function sanitizeEmailHtml(html: string, options: { remoteImages?: RemoteImagePolicy } = {}): string {
  return sanitizeHtml(html, options.remoteImages === 'link' ? LINKED_IMAGES : OPTIONS);
}
