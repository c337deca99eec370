/**
 * Reading TLS material from PEM files, checked before anything connects. Errors name the file and
 * what is wrong with it, never its contents (a key file's text is the secret itself).
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

export class PemFileError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${reason} (${file})`);
    this.name = 'PemFileError';
  }
}

/** The file's text; a missing or unreadable file is a PemFileError with the errno code. */
export function readTextFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new PemFileError(file, `names a file that cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const PRIVATE_KEY_HEADER = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
const ENCRYPTED_KEY = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/;

/**
 * A PEM file of one or more certificates (a CA bundle, or a certificate followed by its chain), each
 * parsed; `leaf` is the first. A private key beside them is refused: certificate files get copied
 * around, and a key inside one would travel with it.
 */
export function readCertificates(file: string): { pem: Buffer; leaf: X509Certificate } {
  const text = readTextFile(file);
  if (PRIVATE_KEY_HEADER.test(text)) throw new PemFileError(file, 'holds a private key; it must hold certificates only');
  const blocks = text.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) throw new PemFileError(file, 'holds no PEM certificate');
  const parsed = blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new PemFileError(file, `holds a PEM certificate that does not parse (number ${i + 1})`);
    }
  });
  return { pem: Buffer.from(text), leaf: parsed[0]! };
}

/** An unencrypted PEM private key: the Temporal SDKs take no passphrase (protect the file by its permissions). */
export function readPrivateKey(file: string): { pem: Buffer; key: KeyObject } {
  const text = readTextFile(file);
  if (ENCRYPTED_KEY.test(text)) throw new PemFileError(file, 'holds an encrypted key; the Temporal SDKs need it unencrypted');
  if (!PRIVATE_KEY_HEADER.test(text)) throw new PemFileError(file, 'holds no PEM private key');
  try {
    return { pem: Buffer.from(text), key: createPrivateKey(text) };
  } catch {
    // The parser's own message is not passed on: it may quote the key.
    throw new PemFileError(file, 'holds a PEM private key that does not parse');
  }
}
