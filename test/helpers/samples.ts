/**
 * Test samples built at run time, so the repository holds no file that a virus scanner would flag.
 */
import { zipArchive } from './files';

/** The EICAR anti-virus test string (eicar.org), assembled from two halves. */
export function eicar(): Buffer {
  return Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');
}

/** A one-file zip archive with a deflated member. */
export function zipOf(name: string, content: Buffer): Buffer {
  return zipArchive([{ name, content }]);
}
