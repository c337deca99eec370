/**
 * Start-up check that the clamd Mailgate talks to names its early stops. Without AlertExceedsMax and
 * AlertEncrypted (a stock clamd.conf, the official Docker image's defaults) clamd answers OK for a
 * file it stopped reading, and such a file would be linked as clean (issue 12, class 1). Two
 * harmless probes, neither carrying any signature, must each come back unscannable.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Scanner } from './clamd';

const MARKER = Buffer.from('mailgate scanner self-check');
/** Gzip layers: above clamd's default MaxRecursion (16) with room to spare; 64 layers are 1.4 KB. */
const PROBE_DEPTH = 64;
/**
 * A zip holding MARKER as one stored member flagged encrypted (APPNOTE 4.4.4, bit 0), as
 * test/helpers/files.ts zipArchive writes it; clamd 1.4 answers Heuristics.Encrypted.Zip.
 */
const ENCRYPTED_ZIP = Buffer.from(
  'UEsDBBQAAQgAAAAAAABaJAq8GwAAABsAAAAJAAAAcHJvYmUudHh0bWFpbGdhdGUgc2Nhbm5lciBzZWxmLWNoZWNrUEsBAhQAFAABCAAAAAAAAFokCrwbAAAAGwAAAAkAAAAAAAAAAAAAAAAAAAAAAHByb2JlLnR4dFBLBQYAAAAAAQABADcAAABCAAAAAAA=',
  'base64',
);

export class ScannerMisconfiguredError extends Error {
  override name = 'ScannerMisconfiguredError';
}

function nested(): Buffer {
  let bytes = MARKER;
  for (let layer = 0; layer < PROBE_DEPTH; layer++) bytes = gzipSync(bytes);
  return bytes;
}

const PROBES: { what: string; bytes: () => Buffer; setting: string }[] = [
  { what: `a file nested ${PROBE_DEPTH} containers deep`, bytes: nested, setting: `AlertExceedsMax yes (with MaxRecursion below ${PROBE_DEPTH})` },
  { what: 'an encrypted zip', bytes: () => ENCRYPTED_ZIP, setting: 'AlertEncrypted yes' },
];

/**
 * Resolves when clamd reports both probes as unscannable; rejects with ScannerMisconfiguredError
 * when it answers anything else, and with the scanner's own error when it cannot be reached.
 */
export async function checkScannerReportsEarlyStops(scanner: Scanner): Promise<void> {
  for (const probe of PROBES) {
    const verdict = await scanner.scan(Readable.from([probe.bytes()]));
    if (verdict.status !== 'unscannable') {
      throw new ScannerMisconfiguredError(
        `clamd answered "${verdict.status}" for ${probe.what}: it does not report files it stops reading early, ` +
          `so Mailgate would treat them as clean. Set ${probe.setting} in clamd.conf (see config/clamav/clamd.conf.in).`,
      );
    }
  }
}
