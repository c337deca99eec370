/**
 * What an archive inspection found, as plain data: src/parsing/archive-inspect.ts fills it in and
 * the attachment policy judges it. It lives in the domain so that the policy needs nothing from the
 * parser (the parser depends on the policy, never the reverse).
 */
export interface ArchiveEntry {
  /**
   * Path in the archive; an entry of a nested archive is prefixed with that archive's path
   * ("a.zip/b/c.exe"), and a compressor's output is named as a tool would save it ("a.tgz/a.tar").
   */
  name: string;
  /** Bytes inflated; the declared size for an entry that was not inflated (encrypted, unknown method). */
  size: number;
  compressedSize: number;
  detectedType: string | null;
  /** Set when the policy blocks the entry: 'Windows executable (PE) named "a.zip/setup.exe"'. */
  blockedReason: string | null;
}

export interface ArchiveReport {
  /** At most MAX_LISTED_ENTRIES (parsing/archive-inspect.ts); blocked entries are kept in preference to others. */
  entries: ArchiveEntry[];
  /** The larger of the declared sizes and the bytes inflated, nested archives included. */
  totalUncompressed: number;
  /** The highest uncompressed-to-compressed ratio among entries. */
  maxRatio: number;
  /** Archive levels opened: 1 for a zip or a tar.gz with no archive inside. */
  depth: number;
  /** Why the archive is a bomb; inspection stops at the first sign. */
  bomb: string | null;
  encrypted: boolean;
  /** What could not be read (damage, truncation, a format not opened): the policy calls the archive unscannable. */
  errors: string[];
}
