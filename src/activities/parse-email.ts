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
import { redactDocument } from '../domain/redact-document';
import { MalformedMimeError, parseMime } from '../parsing/parse-mime';
import { redactionFor, type Rules } from '../rules';
import { findBodyMarker } from '../domain/signed-ids';
import { metrics } from '../metrics';
import { createVerdict, type ClassifyEmailResult } from './classify-email';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface ParseEmailInput {
  rawKey: string;
  rawSha256: string;
  /** The queue decides what is redacted (rules: queues[].redact, redact). */
  queue?: string;
}

/**
 * The summary, and what the later steps need from the document, computed while it is in memory so
 * no step reads the stored document back for it: the classifier's verdict, and the ticket number of
 * a signed body marker quoted back in the text (a threading rule).
 */
export interface ParseEmailResult extends EmailSummary {
  /** Always set now; absent in the recorded results of parses that ran before it was. */
  classification?: ClassifyEmailResult;
  /** Always set now (null: no marker); absent like `classification`. */
  bodyMarker?: number | null;
}

interface Deps {
  store: ObjectStore;
  limits: Limits;
  rules: Rules;
  inboundDomains: string[];
  signingKey: string;
  trustedAuthservIds: string[];
}

export function createParseEmail(deps: Deps) {
  const verdict = createVerdict(deps);
  return (input: ParseEmailInput): Promise<ParseEmailResult> => whileAlive(() => parse(deps, verdict, input));
}

async function parse(deps: Deps, verdict: (document: EmailDocument) => ClassifyEmailResult, input: ParseEmailInput): Promise<ParseEmailResult> {
  let document: EmailDocument;
  try {
    const raw = await deps.store.getStream(input.rawKey);
    document = await parseMime(raw, {
      limits: deps.limits,
      remoteImages: deps.rules.remoteImages,
      sink: async (part, content: Readable) => {
        const partKey = `parts/${input.rawSha256}/${part.index}`;
        const body = new PassThrough();
        await Promise.all([deps.store.put({ key: partKey, body, contentType: part.contentType }), pipeline(content, body)]);
        return { partKey };
      },
    });
  } catch (error) {
    if (error instanceof MalformedMimeError) {
      metrics.parseFailure();
      throw ApplicationFailure.nonRetryable(error.message, ErrorType.MalformedEmail);
    }
    return rethrowAsFailure(error);
  }
  const kinds = redactionFor(deps.rules, input.queue ?? '');
  // Subject, names, file names, headers, text and html: the summary below, and with it the ticket
  // and the acknowledgement, is built from the redacted document (issue 12, class 4).
  document = redactDocument(document, { kinds });
  // One document per redaction policy: queues that redact differently never share one.
  const documentKey = `parsed/${input.rawSha256}/${kinds.length > 0 ? [...kinds].sort().join('+') : 'unredacted'}.json`;
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
    redactions: document.redactions ?? [],
    classification: verdict(document),
    bodyMarker: findBodyMarker(deps.signingKey, document.text),
  };
}
