/**
 * File names for an email's parts: the name the sender gave (Content-Disposition filename, else
 * Content-Type name, RFC 2231 and encoded-words decoded by mailsplit), otherwise the name a mail
 * client would show: a forwarded message by its subject (`Quarterly figures.eml`), an image or
 * document by its type (`image.png`, `document.pdf`, `calendar.ics`). Every name is unique within
 * the email (`scan.pdf`, `scan (2).pdf`), so an agent never sees two files that look the same and a
 * download never overwrites another.
 */
import mimeDb from 'mime-db/db.json';

/** File names are cut to this many characters (common file-system limit, in bytes for ASCII). */
export const MAX_FILENAME_CHARS = 255;
/** A subject used as a file name is cut to this many characters before `.eml`. */
const MAX_SUBJECT_STEM = 120;

const types: Readonly<Record<string, object>> = mimeDb;

function firstExtension(type: string): string | undefined {
  const entry = Object.hasOwn(types, type) ? types[type] : undefined;
  const list: unknown = entry && 'extensions' in entry ? entry.extensions : undefined;
  return Array.isArray(list) && typeof list[0] === 'string' ? list[0] : undefined;
}

/** Types whose mime-db entry is missing or whose first extension is not the one people know. */
const EXTENSION_OVERRIDES: ReadonlyMap<string, string> = new Map(Object.entries({
  'message/rfc822': 'eml',
  'message/global': 'eml',
  'text/plain': 'txt',
  'application/octet-stream': 'bin',
  'application/ms-tnef': 'dat',
  'application/vnd.ms-tnef': 'dat',
  'application/x-gzip': 'gz',
  'audio/mpeg': 'mp3',
  'audio/ogg': 'ogg',
  'video/quicktime': 'mov',
}));

/** Whole names mail clients give these parts when the sender gave none. */
const WHOLE_NAMES: ReadonlyMap<string, string> = new Map(Object.entries({
  'application/ms-tnef': 'winmail.dat',
  'application/vnd.ms-tnef': 'winmail.dat',
  'application/pkcs7-signature': 'smime.p7s',
  'application/x-pkcs7-signature': 'smime.p7s',
  'application/pkcs7-mime': 'smime.p7m',
  'application/x-pkcs7-mime': 'smime.p7m',
  'application/pgp-signature': 'signature.asc',
  'application/pgp-encrypted': 'pgp-version.txt',
  'application/pgp-keys': 'public-key.asc',
  'text/calendar': 'calendar.ics',
  'text/vcard': 'contact.vcf',
  'text/x-vcard': 'contact.vcf',
  'text/plain': 'message.txt',
  'message/delivery-status': 'delivery-status.txt',
  'message/global-delivery-status': 'delivery-status.txt',
  'text/rfc822-headers': 'returned-headers.txt',
  'message/global-headers': 'returned-headers.txt',
}));

/** The extension for a MIME type, from mime-db (the list `mime-types` and express use). */
export function extensionFor(contentType: string): string {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return EXTENSION_OVERRIDES.get(type) ?? firstExtension(type) ?? 'bin';
}

/** The stem of a type-derived name: what kind of thing the part is. */
function stemFor(type: string): string {
  const [top, sub = ''] = type.split('/');
  if (top === 'image' || top === 'audio' || top === 'video') return top;
  if (top === 'text' || top === 'application') {
    if (/pdf|html|xml|word|excel|sheet|powerpoint|presentation|opendocument|rtf|msword/.test(sub)) return 'document';
    if (/zip|compressed|tar|gzip|bzip|xz|7z|rar/.test(sub)) return 'archive';
    if (top === 'text') return 'document';
  }
  return 'file';
}

/**
 * A name safe on common file systems: no path separators, control characters or characters Windows
 * refuses, no leading dots (hidden files) or trailing dots and spaces, not a reserved device name,
 * and capped in length. Empty when nothing usable is left.
 */
export function safeFileStem(text: string, maxChars = MAX_SUBJECT_STEM): string {
  let stem = text
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, ' ')
    .replace(/[/\\:*?"<>|]/g, '_')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '');
  if ([...stem].length > maxChars) stem = [...stem].slice(0, maxChars).join('');
  stem = stem.replace(/[.\s]+$/, '');
  // Windows device names, with or without an extension, cannot be created as files (MS-FSCC 2.1.5).
  if (/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i.test(stem)) stem = `_${stem}`;
  return stem;
}

/**
 * The sender's name, kept as given but for what misleads or escapes: control characters, bidi
 * overrides and isolates (`invoice\u202Efdp.exe` shows as `invoiceexe.pdf`), zero-width characters,
 * and path separators (`../../x` must name a file, not a place).
 */
function givenName(name: string): string {
  return name
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g, '')
    .replace(/[/\\]/g, '_')
    .trim();
}

export interface NameRequest {
  /** The name the sender gave, decoded; null or empty when none. */
  given: string | null | undefined;
  contentType: string;
  /** For a forwarded message: its Subject, decoded (empty when it has none). */
  subject?: string | null;
  /** Set inside `multipart/encrypted`: an unnamed binary part there is the ciphertext. */
  encrypted?: boolean;
}

/** The name a part gets before it is made unique. */
export function baseName(request: NameRequest): string {
  if (request.given) {
    const given = givenName(request.given);
    if (given) return given;
  }
  const type = request.contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'message/rfc822' || type === 'message/global') {
    const stem = safeFileStem(request.subject ?? '');
    return stem ? `${stem}.eml` : 'forwarded-message.eml';
  }
  if (request.encrypted && type === 'application/octet-stream') return 'encrypted.asc';
  const whole = WHOLE_NAMES.get(type);
  if (whole) return whole;
  if (type === 'application/octet-stream') return 'file.bin';
  return `${stemFor(type)}.${extensionFor(type)}`;
}

function splitExtension(name: string): [string, string] {
  const dot = name.lastIndexOf('.');
  // ".bashrc" has no extension; an "extension" past 10 characters is part of the name.
  if (dot <= 0 || name.length - dot > 11) return [name, ''];
  return [name.slice(0, dot), name.slice(dot)];
}

function capped(stem: string, suffix: string, extension: string): string {
  const room = MAX_FILENAME_CHARS - suffix.length - extension.length;
  return `${[...stem].slice(0, Math.max(1, room)).join('')}${suffix}${extension}`;
}

/**
 * Hands out names unique within one email, compared case-insensitively (Windows and macOS file
 * systems fold case): the second `scan.pdf` becomes `scan (2).pdf`.
 */
export class PartNamer {
  private readonly taken = new Set<string>();

  /** Marks a name as used as it is (a file already on the ticket), so later ones are numbered past it. */
  reserve(name: string): void {
    this.taken.add(name.toLowerCase());
  }

  name(request: NameRequest): string {
    return this.unique(baseName(request));
  }

  unique(name: string): string {
    const [stem, extension] = splitExtension(name);
    let candidate = capped(stem, '', extension);
    // A name that is already numbered ("image (2).png", taken on the ticket) counts on from its base
    // ("image (3).png"), not "image (2) (2).png".
    const base = stem.replace(/ \(\d+\)$/, '');
    for (let n = 2; this.taken.has(candidate.toLowerCase()); n++) candidate = capped(base, ` (${n})`, extension);
    this.taken.add(candidate.toLowerCase());
    return candidate;
  }
}
