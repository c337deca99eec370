/**
 * Signed and encrypted mail (S/MIME, RFC 8551; PGP/MIME, RFC 3156; inline PGP, RFC 4880 armor) is
 * kept intact: the readable content shows as usual, the signature or the ciphertext stays an
 * attachment, and the ticket gets a note saying what the message was. Mailgate verifies no
 * signature and decrypts nothing, and says so, so nobody reads "signed" as "verified".
 */

export type Protection = 'smime-signed' | 'smime-opaque' | 'smime-encrypted' | 'pgp-signed' | 'pgp-encrypted' | 'pgp-inline-signed' | 'pgp-inline-encrypted';

/** What a part says about the message's protection, from its type and `smime-type` parameter. */
export function protectionOfPart(contentType: string, smimeType: string | null, rootType: string): Protection | null {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/pkcs7-signature' || type === 'application/x-pkcs7-signature') return 'smime-signed';
  if (type === 'application/pkcs7-mime' || type === 'application/x-pkcs7-mime') {
    const kind = (smimeType ?? '').toLowerCase();
    if (kind === 'signed-data') return 'smime-opaque';
    // certs-only carries certificates, not content: nothing is hidden from the reader.
    if (kind === 'certs-only') return null;
    // enveloped-data, authenticated-enveloped-data, compressed-data and a missing parameter all
    // mean the content is inside the blob, unreadable here.
    return 'smime-encrypted';
  }
  if (type === 'application/pgp-signature') return 'pgp-signed';
  if (type === 'application/pgp-encrypted' || (type === 'application/octet-stream' && isPgpEncryptedRoot(rootType))) return 'pgp-encrypted';
  return null;
}

export function isPgpEncryptedRoot(rootType: string): boolean {
  return /^multipart\/encrypted\b/i.test(rootType) && /protocol\s*=\s*"?application\/pgp-encrypted/i.test(rootType);
}

/** Inline PGP (armor in the body text, RFC 4880 §6.2). */
export function protectionOfText(text: string): Protection | null {
  if (/^-----BEGIN PGP MESSAGE-----\s*$/m.test(text)) return 'pgp-inline-encrypted';
  if (/^-----BEGIN PGP SIGNED MESSAGE-----\s*$/m.test(text)) return 'pgp-inline-signed';
  return null;
}

const NOTES: Readonly<Record<Protection, string>> = {
  'smime-signed': 'Signed with S/MIME; the signature (kept as an attachment) was not verified.',
  'smime-opaque': 'Signed with S/MIME in opaque form: the content is inside the attached smime.p7m, which Mailgate does not unpack; the signature was not verified.',
  'smime-encrypted': 'Encrypted with S/MIME: Mailgate cannot read it; the encrypted content is kept as an attachment.',
  'pgp-signed': 'Signed with PGP; the signature was not verified.',
  'pgp-encrypted': 'Encrypted with PGP: Mailgate cannot read it; the encrypted content is kept as an attachment.',
  'pgp-inline-signed': 'Signed with PGP (inline); the signature was not verified.',
  'pgp-inline-encrypted': 'The text holds a PGP-encrypted block that Mailgate cannot read; it is shown as it came.',
};

export function protectionNote(protection: Protection): string {
  return NOTES[protection];
}

/** The ticket text of a message whose content cannot be read, so an agent knows why it is empty. */
export function unreadableText(protection: Protection, attachmentName: string | null): string {
  const where = attachmentName ? ` It is attached as ${attachmentName}.` : '';
  if (protection === 'smime-opaque') return `[This message is signed with S/MIME in a form Mailgate does not unpack; its content is not shown.${where}]`;
  const scheme = protection === 'smime-encrypted' ? 'S/MIME' : 'PGP';
  return `[This message is encrypted with ${scheme} and cannot be read here.${where}]`;
}

export function isUnreadable(protection: Protection): boolean {
  return protection === 'smime-encrypted' || protection === 'smime-opaque' || protection === 'pgp-encrypted';
}
