/**
 * parse: raw MIME from the object store → normalized email document (stored as JSON) and a small
 * summary for the workflow. Attachments are streamed part by part to the object store under
 * parts/<raw sha256>/, hashed on the way; the message is never held whole in memory.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { MailParser, type AddressObject, type AttachmentStream, type MessageText } from 'mailparser';
import type { ObjectStore } from '../adapters/object-store';
import { ErrorType } from '../domain/errors';
import { MAX_SUMMARY_SUBJECT, type AttachmentPart, type EmailDocument, type EmailSummary, type Mailbox } from '../domain/email';
import { sanitizeEmailHtml } from '../domain/html';
import type { Limits } from '../domain/limits';
import { normalizeMessageId, parseMessageIdList } from '../domain/message-id';
import { normalizeAddress } from '../domain/addresses';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface ParseEmailInput {
  rawKey: string;
  rawSha256: string;
}

/** Headers kept on the document for classification (EMAIL-RULES.md §1). */
const KEPT_HEADERS = [
  'auto-submitted', 'precedence', 'x-auto-response-suppress', 'list-id', 'list-unsubscribe', 'return-path',
  'x-autoreply', 'x-autorespond', 'x-loop', 'x-mailgate-loop', 'content-type', 'x-priority', 'importance',
  'authentication-results', 'x-failed-recipients', 'feedback-type',
];

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
  constructor(private readonly cap: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    if (this.bytes > this.cap) {
      this.overCap = true;
      done();
      return;
    }
    done(null, chunk);
  }
}

export function createParseEmail(deps: { store: ObjectStore; limits: Limits }) {
  return (input: ParseEmailInput): Promise<EmailSummary> => whileAlive(() => parse(deps, input));
}

async function parse(deps: { store: ObjectStore; limits: Limits }, input: ParseEmailInput): Promise<EmailSummary> {
  let raw: Readable;
  try {
    raw = await deps.store.getStream(input.rawKey);
  } catch (error) {
    return rethrowAsFailure(error);
  }
  const parser = new MailParser({ skipTextToHtml: true, skipImageLinks: true, checksumAlgo: 'sha256', maxHtmlLengthToParse: 10 * 1024 * 1024 });
  let headers: Map<string, unknown> = new Map();
  let text = '';
  let html: string | null = null;
  const attachments: AttachmentPart[] = [];
  const uploads: Promise<void>[] = [];

  parser.on('headers', (h: Map<string, unknown>) => {
    headers = h;
  });
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      text = data.text ?? '';
      html = typeof data.html === 'string' ? data.html : null;
      return;
    }
    const index = attachments.length;
    const part = data as AttachmentStream;
    if (index >= deps.limits.maxAttachments) {
      part.content.on('data', () => undefined);
      part.content.on('end', () => part.release?.());
      return;
    }
    const partKey = `parts/${input.rawSha256}/${index}`;
    const meter = new Meter(deps.limits.maxAttachmentBytes);
    const body = new PassThrough();
    const record: AttachmentPart = {
      index,
      filename: (part.filename ?? `attachment-${index + 1}`).slice(0, 255),
      contentType: (part.contentType || 'application/octet-stream').toLowerCase(),
      size: 0,
      sha256: '',
      contentId: part.cid ? part.cid.slice(0, 255) : null,
      inline: part.contentDisposition === 'inline' || part.related === true,
      partKey,
      skippedReason: null,
    };
    attachments.push(record);
    const done = (async () => {
      const upload = deps.store.put({ key: partKey, body, contentType: record.contentType });
      try {
        await Promise.all([upload, pipeline(part.content as Readable, meter, body)]);
      } catch (error) {
        // A failed upload would leave the parser waiting on this part forever: stop everything.
        parser.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      }
      record.size = meter.bytes;
        record.sha256 = meter.hash.digest('hex');
        if (meter.overCap) {
        record.skippedReason = `larger than the ${deps.limits.maxAttachmentBytes}-byte attachment limit`;
      }
    })().finally(() => part.release?.());
    // Handled below by Promise.all; this keeps an early rejection from counting as unhandled.
    done.catch(() => undefined);
    uploads.push(done);
  });

  try {
    await pipeline(raw, parser);
    await Promise.all(uploads);
  } catch (error) {
    if (error instanceof Error && 'type' in error) return rethrowAsFailure(error);
    throw ApplicationFailure.nonRetryable(
      `the message cannot be parsed as MIME: ${error instanceof Error ? error.message : String(error)}`,
      ErrorType.MalformedEmail,
    );
  }

  const from = mailboxes(headers.get('from') as AddressObject | undefined)[0] ?? null;
  const subject = headerText(headers.get('subject'));
  const date = headers.get('date');
  const kept: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    if (headers.has(name)) kept[name] = headerText(headers.get(name)).slice(0, 2000);
  }
  const document: EmailDocument = {
    messageId: normalizeMessageId(headerText(headers.get('message-id'))),
    from,
    to: mailboxes(headers.get('to') as AddressObject | undefined),
    cc: mailboxes(headers.get('cc') as AddressObject | undefined),
    replyTo: mailboxes(headers.get('reply-to') as AddressObject | undefined),
    subject,
    date: date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : null,
    inReplyTo: parseMessageIdList(headerText(headers.get('in-reply-to'))),
    references: parseMessageIdList(headers.get('references') as string | string[] | undefined),
    text,
    html: html === null ? null : sanitizeEmailHtml(html),
    attachments,
    headers: kept,
  };
  const documentKey = `parsed/${input.rawSha256}.json`;
  try {
    await deps.store.put({ key: documentKey, body: JSON.stringify(document), contentType: 'application/json' });
  } catch (error) {
    return rethrowAsFailure(error);
  }
  return {
    documentKey,
    messageId: document.messageId,
    from: from?.address ?? null,
    fromName: (from?.name ?? '').slice(0, 200),
    subject: subject.slice(0, MAX_SUMMARY_SUBJECT),
    inReplyTo: document.inReplyTo.slice(0, deps.limits.maxReferences),
    // References grow with every reply; the newest are at the end and matter most.
    references: document.references.slice(-deps.limits.maxReferences),
    attachments,
    textBytes: Buffer.byteLength(text),
  };
}
