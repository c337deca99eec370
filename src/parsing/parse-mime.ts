/**
 * Raw MIME → normalized email document, streaming: mailparser hands over one attachment at a time
 * and waits until the sink has consumed it, so a message is never held whole in memory. Where the
 * parts go is the caller's choice (the parse activity streams them to the object store; the
 * classification evaluation only hashes them).
 */
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import { normalizeAddress } from '../domain/addresses';
import type { AttachmentPart, EmailDocument, Mailbox } from '../domain/email';
import { sanitizeEmailHtml, type RemoteImagePolicy } from '../domain/html';
import { CONTAINER_LIMITS, type Limits } from '../domain/limits';
import { normalizeMessageId, parseMessageIdList } from '../domain/message-id';
import { containerKind, containerReadCap, unpack, unpackedNote } from './containers';
import { parseDeliveryStatus, parseEmbeddedHeaders } from './delivery-status';
import { MailPrefixStripper } from './mail-prefix';
import { uuBlockParts, uudecoderFor, type UudecodeStream } from './uuencode-parts';
import { collectingSink, forwardedSubject } from './forwarded';
import { PartNamer } from './part-names';
import { Findings } from './findings';
import { isPgpEncryptedRoot, protectionOfPart } from './signed-encrypted';
import { declaredBodyCharset, HeadSample } from './charset-sources';
import { PacedStream } from '../gc-pacing';
import { decodeEmbeddedHead, decodeHeaderLines, redecodedFields } from './header-charset';

export interface PartInfo {
  index: number;
  /** An unnamed forwarded message's name is provisional here: its subject is read as it streams. */
  filename: string;
  contentType: string;
}

/** Consumes one part's bytes; resolves once they are stored (or discarded). */
export type PartSink = (part: PartInfo, content: Readable) => Promise<{ partKey: string }>;

/** Headers kept per message, and characters kept per header value: enough for every rule we apply. */
export const MAX_KEPT_HEADERS = 300;
export const MAX_HEADER_VALUE = 2_000;
/** Report parts (DSN, returned headers) are read into memory for analysis up to this size. */
const MAX_REPORT_PART = 256 * 1024;
const REPORT_TYPES = new Set([
  'message/delivery-status',
  'message/global-delivery-status',
  'message/rfc822',
  'message/global',
  'text/rfc822-headers',
  'message/global-headers',
]);

export class MalformedMimeError extends Error {
  override name = 'MalformedMimeError';
}

function mailboxes(value: AddressObject | AddressObject[] | undefined): Mailbox[] {
  const out: Mailbox[] = [];
  const visit = (entries: { address?: string; name?: string; group?: unknown[] }[]): void => {
    for (const entry of entries) {
      if (entry.address) out.push({ address: normalizeAddress(entry.address), name: entry.name ?? '' });
      if (Array.isArray(entry.group)) visit(entry.group as { address?: string; name?: string }[]);
    }
  };
  for (const object of Array.isArray(value) ? value : value ? [value] : []) visit(object.value);
  return out;
}

function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'value' in value && typeof (value as { value: unknown }).value === 'string') {
    const structured = value as { value: string; params?: Record<string, string> };
    const params = Object.entries(structured.params ?? {}).map(([k, v]) => `; ${k}=${v}`).join('');
    return structured.value + params;
  }
  if (value instanceof Date) return value.toISOString();
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

/** Counts and hashes bytes as they pass; stops forwarding past the cap and remembers it did. */
class Meter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  overCap = false;
  readonly head: Buffer[] = [];
  private headBytes = 0;
  constructor(
    private readonly cap: number,
    private readonly keepHead: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.headBytes < this.keepHead) {
      const piece = chunk.subarray(0, this.keepHead - this.headBytes);
      this.head.push(piece);
      this.headBytes += piece.length;
    }
    if (this.bytes > this.cap) {
      this.overCap = true;
      done();
      return;
    }
    done(null, chunk);
  }
}

/** Drains a part that is not kept, counting its bytes for the record. */
function skipPart(content: Readable, record: AttachmentPart): Promise<void> {
  return new Promise<void>((resolve) => {
    content.on('data', (chunk: Buffer) => {
      record.size += chunk.length;
    });
    content.on('end', () => resolve());
    content.on('error', () => resolve());
  });
}

/** What parseMime needs to know about a part before its bytes flow. */
interface PartMeta {
  given: string | null | undefined;
  contentType: string;
  contentId: string | null;
  inline: boolean;
  smimeType: string | null;
  container?: string;
}

function smimeTypeOf(part: AttachmentStream): string | null {
  const value = (part.headers as Map<string, unknown> | undefined)?.get('content-type') as { params?: Record<string, string> } | undefined;
  return value?.params?.['smime-type'] ?? null;
}

export async function parseMime(
  raw: Readable,
  options: { limits: Limits; sink: PartSink; remoteImages?: RemoteImagePolicy; /** Forwarded messages this parse is nested in. */ depth?: number },
): Promise<EmailDocument> {
  const { limits, sink } = options;
  const depth = options.depth ?? 0;
  const parser = new MailParser({
    skipTextToHtml: true,
    skipImageLinks: true,
    keepDeliveryStatus: true,
    // Passed through to mailsplit: a message with more MIME nodes is rejected, not walked.
    maxChildNodes: limits.maxMimeParts,
    maxHtmlLengthToParse: 10 * 1024 * 1024,
  });
  let headers: Map<string, unknown> = new Map();
  let headerLines: { key: string; line: string }[] = [];
  let text = '';
  let html: string | null = null;
  const attachments: AttachmentPart[] = [];
  const reportParts: { contentType: string; text: string }[] = [];
  const pending: Promise<void>[] = [];
  const namer = new PartNamer();
  const findings = new Findings();
  let rootType = '';

  parser.on('headers', (h: Map<string, unknown>) => {
    headers = h;
    rootType = headerText(h.get('content-type')).toLowerCase();
  });
  parser.on('headerLines', (lines: { key: string; line: string }[]) => {
    headerLines = lines;
  });
  /** Where a decoded legacy encoding lost something: said in the text, next to the file. */
  const decodeNotes: string[] = [];

  /**
   * Names, counts, meters and stores one part (decoding it first when it is uuencoded: `decoderFor`); then adds what a container part holds, in order, so
   * indexes stay stable across re-parses. Resolves once every byte is stored or discarded.
   */
  const addPart = async (meta: PartMeta, content: Readable, decoderFor?: (record: AttachmentPart) => UudecodeStream | null): Promise<AttachmentPart> => {
    const index = attachments.length;
    const { contentType } = meta;
    // A file that came out of a container was unpacked, if at all, by the parse that found it.
    const kind = meta.container ? null : containerKind(contentType, meta.given, depth, rootType);
    // A forwarded message is named by its subject, known once its first bytes have been read.
    const namedLater = kind === 'forwarded' && !meta.given;
    const record: AttachmentPart = {
      index,
      filename: '',
      contentType,
      size: 0,
      sha256: '',
      contentId: meta.contentId,
      inline: meta.inline,
      partKey: '',
      skippedReason: null,
      ...(meta.container ? { container: meta.container } : {}),
    };
    attachments.push(record);
    const decoder = decoderFor?.(record) ?? null;
    // A uuencoded part without a name of its own is named by its begin line, read as it decodes.
    const decodedLater = decoder !== null && !meta.given;
    if (!namedLater && !decodedLater) record.filename = namer.name({ given: meta.given, contentType, encrypted: isPgpEncryptedRoot(rootType) });
    const protection = depth === 0 && !meta.container ? protectionOfPart(contentType, meta.smimeType, rootType) : null;
    if (index >= limits.maxAttachments) {
      // Past the count: listed as skipped (issue 12, class 9: it used to vanish without a trace), its
      // bytes counted and discarded, never stored, scanned or linked. maxMimeParts bounds how many
      // such records one message can make.
      if (namedLater || decodedLater) record.filename = namer.name({ given: null, contentType, subject: '' });
      record.skippedReason = `over the limit of ${limits.maxAttachments} attachments per email: not stored, not scanned`;
      await skipPart(content, record);
      return record;
    }
    const keep = Math.max(REPORT_TYPES.has(contentType) && !meta.container ? MAX_REPORT_PART : 0, kind ? containerReadCap(kind) : 0);
    const meter = new Meter(limits.maxAttachmentBytes, keep);
    try {
      const stored = sink({ index, filename: record.filename || (namedLater ? 'forwarded-message.eml' : 'file.bin'), contentType }, meter);
      await Promise.all([stored, decoder ? pipeline(content, decoder, meter) : pipeline(content, meter)]);
      record.partKey = (await stored).partKey;
    } catch (error) {
      // A failed sink would leave the parser waiting on this part forever: stop everything.
      parser.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    record.size = meter.bytes;
    record.sha256 = meter.hash.digest('hex');
    const head = meter.head.length > 0 ? Buffer.concat(meter.head) : Buffer.alloc(0);
    if (namedLater) record.filename = namer.name({ given: null, contentType, subject: forwardedSubject(head) });
    if (decodedLater) record.filename = namer.name({ given: record.filename || null, contentType: record.contentType });
    if (decoder?.note) decodeNotes.push(`[attachment: ${record.filename}, ${decoder.note}]`);
    if (protection) findings.protection(protection, record.filename, contentType);
    if (meter.overCap) record.skippedReason = `larger than the ${limits.maxAttachmentBytes}-byte attachment limit`;
    if (REPORT_TYPES.has(contentType) && !meta.container && head.length > 0) {
      const report = head.subarray(0, MAX_REPORT_PART);
      reportParts.push({ contentType, text: contentType.endsWith('delivery-status') ? report.toString('utf8') : decodeEmbeddedHead(report) });
    }
    if (!kind || meter.overCap) return record;
    if (head.length < meter.bytes) {
      findings.note(`"${record.filename}" is larger than ${containerReadCap(kind)} bytes and was not unpacked; it is kept as it came.`);
      return record;
    }
    const unpacked = await unpack(kind, record, head, {
      remaining: limits.maxAttachments - attachments.length,
      parseNested: async (bytes, maxAttachments) => {
        const collected = collectingSink(CONTAINER_LIMITS.maxForwardedBytes);
        const document = await parseMime(Readable.from([bytes]), { limits: { ...limits, maxAttachments }, sink: collected.sink, depth: depth + 1 });
        return { document, parts: collected.parts };
      },
    });
    findings.unpacked(unpacked, record.sha256);
    const names: string[] = [];
    for (const file of unpacked.files) {
      const inner = await addPart({ given: file.given, contentType: file.contentType, contentId: file.contentId, inline: file.inline, smimeType: null, container: file.container }, Readable.from([file.data]));
      names.push(inner.filename);
    }
    const note = unpackedNote(kind, record.filename, names);
    if (note) findings.note(note);
    return record;
  };

  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      html = typeof data.html === 'string' ? data.html : null;
      const taken = uuBlockParts(data.text ?? '', limits);
      text = taken.text;
      for (const { filename, contentType, content } of taken.parts) {
        const done = addPart({ given: filename, contentType, contentId: null, inline: false, smimeType: null }, content).then(() => undefined);
        done.catch(() => undefined);
        pending.push(done);
      }
      return;
    }
    const part = data as AttachmentStream;
    const meta: PartMeta = {
      given: part.filename,
      contentType: (part.contentType || 'application/octet-stream').toLowerCase(),
      contentId: part.cid ? part.cid.slice(0, 255) : null,
      inline: part.contentDisposition === 'inline' || part.related === true,
      smimeType: smimeTypeOf(part),
    };
    const done = addPart(meta, part.content as Readable, (record) => uudecoderFor(part, record))
      .then(() => undefined)
      .finally(() => part.release?.());
    // Awaited below with the others; this keeps an early rejection from counting as unhandled.
    done.catch(() => undefined);
    pending.push(done);
  });

  const headSample = new HeadSample();
  try {
    await pipeline(raw, new PacedStream(), new MailPrefixStripper(), headSample, parser);
    await Promise.all(pending);
  } catch (error) {
    if (error instanceof Error && 'type' in error) throw error;
    throw new MalformedMimeError(`the message cannot be parsed as MIME: ${error instanceof Error ? error.message : String(error)}`);
  }

  const finished = findings.finish(decodeNotes.length > 0 ? `${text}\n\n${decodeNotes.join('\n')}` : text, html, depth === 0);

  // Raw 8-bit header bytes are read as UTF-8 or in the message's legacy charset (header-charset.ts).
  const topLines = headerLines.slice(0, MAX_KEPT_HEADERS);
  const decoded = decodeHeaderLines(topLines, {
    declared: () => declaredBodyCharset(headers.get('content-type'), Reflect.get(parser, 'tree')),
    bodySample: () => headSample.bodySample(),
  });
  const redecoded = redecodedFields(topLines, decoded);
  const field = (key: string): unknown => (redecoded.has(key) ? redecoded.get(key) : headers.get(key));
  const kept: Record<string, string[]> = {};
  for (const [i, { key }] of topLines.entries()) {
    const line = decoded.lines[i] ?? '';
    const value = line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim().slice(0, MAX_HEADER_VALUE);
    (kept[key.toLowerCase()] ??= []).push(value);
  }
  const date = headers.get('date');
  const deliveryStatus = reportParts
    .filter((p) => p.contentType.endsWith('delivery-status'))
    .flatMap((p) => parseDeliveryStatus(p.text));
  const returned = reportParts.find((p) => !p.contentType.endsWith('delivery-status'));
  return {
    messageId: normalizeMessageId(headerText(headers.get('message-id'))),
    from: mailboxes(field('from') as AddressObject | undefined)[0] ?? null,
    to: mailboxes(field('to') as AddressObject | undefined),
    cc: mailboxes(field('cc') as AddressObject | undefined),
    replyTo: mailboxes(field('reply-to') as AddressObject | undefined),
    subject: headerText(field('subject')),
    date: date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null,
    inReplyTo: parseMessageIdList(headerText(headers.get('in-reply-to'))),
    references: parseMessageIdList(headers.get('references') as string | string[] | undefined),
    text: finished.text,
    html: finished.html === null ? null : sanitizeEmailHtml(finished.html, { remoteImages: options.remoteImages ?? 'drop' }),
    attachments,
    headers: kept,
    contentType: headerText(headers.get('content-type')).toLowerCase() || 'text/plain',
    deliveryStatus,
    returnedMessage: returned ? parseEmbeddedHeaders(returned.text) : null,
    notes: finished.notes,
    ...(decoded.rawHeaders.length > 0 ? { rawHeaders: decoded.rawHeaders } : {}),
  };
}
