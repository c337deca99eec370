/**
 * parse: raw MIME from the object store → normalized email document (stored as JSON) and a small
 * summary for the workflow. Attachments are streamed part by part to the object store under
 * parts/<raw sha256>/<n>, never linked from there.
 */
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApplicationFailure } from '@temporalio/activity';
import type { ObjectStore } from '../adapters/object-store';
import { ErrorType } from '../domain/errors';
import { MAX_SUMMARY_SUBJECT, type EmailDocument, type EmailSummary } from '../domain/email';
import type { Limits } from '../domain/limits';
import { MalformedMimeError, parseMime } from '../parsing/parse-mime';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface ParseEmailInput {
  rawKey: string;
  rawSha256: string;
}

export function createParseEmail(deps: { store: ObjectStore; limits: Limits }) {
  return (input: ParseEmailInput): Promise<EmailSummary> => whileAlive(() => parse(deps, input));
}

async function parse(deps: { store: ObjectStore; limits: Limits }, input: ParseEmailInput): Promise<EmailSummary> {
  let document: EmailDocument;
  try {
    const raw = await deps.store.getStream(input.rawKey);
    document = await parseMime(raw, {
      limits: deps.limits,
      sink: async (part, content: Readable) => {
        const partKey = `parts/${input.rawSha256}/${part.index}`;
        const body = new PassThrough();
        await Promise.all([deps.store.put({ key: partKey, body, contentType: part.contentType }), pipeline(content, body)]);
        return { partKey };
      },
    });
  } catch (error) {
    if (error instanceof MalformedMimeError) throw ApplicationFailure.nonRetryable(error.message, ErrorType.MalformedEmail);
    return rethrowAsFailure(error);
  }
  const documentKey = `parsed/${input.rawSha256}.json`;
  try {
    await deps.store.put({ key: documentKey, body: JSON.stringify(document), contentType: 'application/json' });
  } catch (error) {
    return rethrowAsFailure(error);
  }
  return {
    documentKey,
    messageId: document.messageId,
    from: document.from?.address ?? null,
    fromName: (document.from?.name ?? '').slice(0, 200),
    subject: document.subject.slice(0, MAX_SUMMARY_SUBJECT),
    inReplyTo: document.inReplyTo.slice(0, deps.limits.maxReferences),
    // References grow with every reply; the newest are at the end and matter most.
    references: document.references.slice(-deps.limits.maxReferences),
    attachments: document.attachments,
    textBytes: Buffer.byteLength(document.text),
  };
}
