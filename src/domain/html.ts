/**
 * Inbound HTML is hostile: scripts, event handlers, remote content that tracks the agent who opens
 * the ticket, forms that phish. Only inert formatting survives; links keep absolute http(s) and
 * mailto only, normalised as a browser reads them (./link-url.ts), and open without a referrer;
 * images are limited to inline parts (cid:) and base64 data: images of raster types.
 */
import sanitizeHtml from 'sanitize-html';
import { browserUrlText, normaliseLink, normaliseSrcset } from './link-url';

// Raster types only: an SVG "image" opened in its own tab is a document with scripts and links,
// and a data:text/html "image" is a document outright.
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|webp);base64,[a-z0-9+/]+={0,2}$/i;
// Every attribute some element resolves as a URL (HTML, SVG, legacy IE/Netscape ones). Whatever
// the allowlist lets through, each of these is judged here, so widening the allowlist later cannot
// let a URL in unjudged.
export const URL_ATTRIBUTES: ReadonlySet<string> = new Set([
  'href', 'src', 'action', 'formaction', 'xlink:href', 'background', 'poster', 'dynsrc', 'lowsrc', 'data', 'codebase',
  'cite', 'longdesc', 'ping', 'usemap', 'profile', 'manifest', 'icon', 'classid', 'archive', 'itemtype', 'srcset',
  'imagesrcset', 'content', 'from', 'to', 'values', 'by',
]);
// Inside CSS a URL hides behind escapes and functions (url(), image-set(), @import, expression()),
// so a style that could load anything is dropped whole rather than parsed.
const CSS_LOADS = /url\s*\(|image(?:-set)?\s*\(|@import|expression|behavior|binding|\\/i;

/** cid: parts of this message and raster data: images; nothing is fetched when a ticket opens. */
function safeImageSrc(src: string): string | undefined {
  // Base64 in data: URLs may be wrapped over lines as mail clients wrap it (the forgiving-base64
  // decode skips ASCII whitespace), so every blank goes, not only tabs and newlines.
  const bare = [...browserUrlText(src)].filter((c) => c > ' ' && !/\s/u.test(c)).join('');
  return /^cid:./i.test(bare) || DATA_IMAGE.test(bare) ? bare : undefined;
}

function safeLink(url: string): string | undefined {
  const verdict = normaliseLink(url);
  return verdict.ok ? verdict.href : undefined;
}

/**
 * Every URL-bearing attribute of one element, judged: an image source by the image rule, a srcset
 * candidate by its element's rule, a meta refresh dropped, a style that loads anything dropped,
 * anything else by the link rule. Refused values are removed; kept ones are the normalised URL,
 * so the URL a browser follows is the one that was judged.
 */
export function judgeUrlAttributes(tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Attributes {
  const tag = tagName.toLowerCase();
  const judged: sanitizeHtml.Attributes = {};
  for (const [rawName, value] of Object.entries(attribs)) {
    const name = rawName.toLowerCase();
    let kept: string | undefined = value;
    if (name === 'style') kept = CSS_LOADS.test(value) ? undefined : value;
    else if (name === 'srcset' || name === 'imagesrcset') kept = normaliseSrcset(value, tag === 'img' || tag === 'source' ? safeImageSrc : safeLink);
    else if (name === 'src' && tag === 'img') kept = safeImageSrc(value);
    else if (name === 'content') kept = tag === 'meta' ? undefined : value;
    else if (URL_ATTRIBUTES.has(name)) kept = safeLink(value);
    if (kept !== undefined) judged[rawName] = kept;
  }
  return judged;
}

const NO_REFERRER = { rel: 'noopener noreferrer nofollow', target: '_blank' } as const;

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
  // Transforms run before sanitize-html's own attribute and scheme checks, which still apply; the
  // '*' transform runs after a tag's own one, on every element.
  transformTags: {
    a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, ...NO_REFERRER } }),
    '*': (tagName, attribs) => ({ tagName, attribs: judgeUrlAttributes(tagName, attribs) }),
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
      const remote = attribs.src === undefined ? undefined : normaliseLink(attribs.src);
      if (remote?.ok === true && /^https?:/.test(remote.href)) {
        return { tagName: 'a', attribs: { href: remote.href, ...NO_REFERRER }, text: `[remote image${attribs.alt ? `: ${attribs.alt}` : ''}]` };
      }
      return { tagName, attribs };
    },
  },
};

export function sanitizeEmailHtml(html: string, options: { remoteImages?: RemoteImagePolicy } = {}): string {
  return sanitizeHtml(html, options.remoteImages === 'link' ? LINKED_IMAGES : OPTIONS);
}
