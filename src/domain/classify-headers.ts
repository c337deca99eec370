/** Header values and sender addresses as the classification tiers read them. */
import type { EmailDocument } from './email';

/** RFC 2047 encoded-words → text; an unknown charset or broken word is left as it was. */
export function decodeEncodedWords(value: string): string {
  // Whitespace between adjacent encoded-words is not part of the text (RFC 2047 §6.2).
  const joined = value.replace(/(=\?[^?\s]+\?[bq]\?[^?\s]*\?=)\s+(?==\?[^?\s]+\?[bq]\?)/gi, '$1');
  return joined.replace(/=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bq])\?([^?\s]*)\?=/gi, (word, charset: string, enc: string, data: string) => {
    try {
      const bytes =
        enc.toLowerCase() === 'b'
          ? Buffer.from(data, 'base64')
          : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
      return new TextDecoder(charset).decode(bytes);
    } catch {
      return word;
    }
  });
}

export function headerValues(doc: EmailDocument, name: string): string[] {
  return (doc.headers[name] ?? []).map((v) => decodeEncodedWords(v).trim());
}

export function firstToken(value: string): string {
  return (/^[^;(\s,]*/.exec(value.trim().toLowerCase())?.[0] ?? '').replace(/^"|"$/g, '');
}

function localPart(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(0, at) : address).toLowerCase();
}

/** Canonical name of an automated sender's local part (EMAIL-RULES.md §1, sender tier). */
export function automatedLocalPart(address: string): string | null {
  const local = localPart(address);
  if (/^mailer[-_]?daemon$/.test(local)) return 'mailer-daemon';
  if (/^post[-_]?master$/.test(local)) return 'postmaster';
  if (/^(?:abuse|root)$/.test(local)) return local;
  if (/^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-_.+].*)?$|[-_.+]no[-_.]?reply$/.test(local)) return 'no-reply';
  return null;
}
