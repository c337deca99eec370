/**
 * Raw MIME → normalized email document, streaming: mailparser hands over one attachment at a time
 * and waits until the sink has consumed it, so a message is never held whole in memory. Where the
 * parts go is the caller's choice (the parse activity streams them to the object store; the
 * classification evaluation only hashes them).
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import { normalizeAddress } from '../domain/addresses';
import type { AttachmentPart, EmailDocument, Mailbox } from '../domain/email';
import { sanitizeEmailHtml, type RemoteImagePolicy } from '../domain/html';
import type { Limits } from '../domain/limits';
import { normalizeMessageId, parseMessageIdList } from '../domain/message-id';
import { parseDeliveryStatus, parseEmbeddedHeaders } from './delivery-status';
import { declaredBodyCharset, HeadSample } from './charset-sources';
import { decodeEmbeddedHead, decodeHeaderLines, redecodedFields } from './header-charset';

export interface PartInfo {
  index: number;
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
function skipPart(part: AttachmentStream, record: AttachmentPart): Promise<void> {
  return new Promise<void>((resolve) => {
    part.content.on('data', (chunk: Buffer) => {
      record.size += chunk.length;
    });
    part.content.on('end', () => {
      part.release?.();
      resolve();
    });
    part.content.on('error', () => resolve());
  });
}

export async function parseMime(raw: Readable, options: { limits: Limits; sink: PartSink; remoteImages?: RemoteImagePolicy }): Promise<EmailDocument> {
  const { limits, sink } = options;
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

  parser.on('headers', (h: Map<string, unknown>) => {
    headers = h;
  });
  parser.on('headerLines', (lines: { key: string; line: string }[]) => {
    headerLines = lines;
  });
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      text = data.text ?? '';
      html = typeof data.html === 'string' ? data.html : null;
      return;
    }
    const part = data as AttachmentStream;
    const index = attachments.length;
    const contentType = (part.contentType || 'application/octet-stream').toLowerCase();
    const record: AttachmentPart = {
      index,
      filename: (part.filename ?? `attachment-${index + 1}`).slice(0, 255),
      contentType,
      size: 0,
      sha256: '',
      contentId: part.cid ? part.cid.slice(0, 255) : null,
      inline: part.contentDisposition === 'inline' || part.related === true,
      partKey: '',
      skippedReason: null,
    };
    attachments.push(record);
    if (index >= limits.maxAttachments) {
      // Past the count: listed as skipped (issue 12, class 9: it used to vanish without a trace), its
      // bytes counted and discarded, never stored, scanned or linked. maxMimeParts bounds how many
      // such records one message can make.
      record.skippedReason = `over the limit of ${limits.maxAttachments} attachments per email: not stored, not scanned`;
      pending.push(skipPart(part, record));
      return;
    }
    const meter = new Meter(limits.maxAttachmentBytes, REPORT_TYPES.has(contentType) ? MAX_REPORT_PART : 0);
    const done = (async () => {
      try {
        const stored = sink({ index, filename: record.filename, contentType }, meter);
        await Promise.all([stored, pipeline(part.content as Readable, meter)]);
        record.partKey = (await stored).partKey;
      } catch (error) {
        // A failed sink would leave the parser waiting on this part forever: stop everything.
        parser.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      record.size = meter.bytes;
      record.sha256 = meter.hash.digest('hex');
      if (meter.overCap) record.skippedReason = `larger than the ${limits.maxAttachmentBytes}-byte attachment limit`;
      if (meter.head.length > 0) {
        const head = Buffer.concat(meter.head);
        reportParts.push({ contentType, text: contentType.endsWith('delivery-status') ? head.toString('utf8') : decodeEmbeddedHead(head) });
      }
    })().finally(() => part.release?.());
    // Awaited below with the others; this keeps an early rejection from counting as unhandled.
    done.catch(() => undefined);
    pending.push(done);
  });

  const headSample = new HeadSample();
  try {
    await pipeline(raw, headSample, parser);
    await Promise.all(pending);
  } catch (error) {
    if (error instanceof Error && 'type' in error) throw error;
    throw new MalformedMimeError(`the message cannot be parsed as MIME: ${error instanceof Error ? error.message : String(error)}`);
  }

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
    text,
    html: html === null ? null : sanitizeEmailHtml(html, { remoteImages: options.remoteImages ?? 'drop' }),
    attachments,
    headers: kept,
    contentType: headerText(headers.get('content-type')).toLowerCase() || 'text/plain',
    deliveryStatus,
    returnedMessage: returned ? parseEmbeddedHeaders(returned.text) : null,
    ...(decoded.rawHeaders.length > 0 ? { rawHeaders: decoded.rawHeaders } : {}),
  };
}
