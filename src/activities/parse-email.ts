/**
 * parse: raw MIME from the object store → normalized email document (stored as JSON) and a small
 * summary for the workflow. Attachments are streamed part by part to the object store under
 * parts/<raw sha256>/<n>, never linked from there.
 */
import { PassThrough } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
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
import type { RedactionKind } from '../domain/redact-hit';
import { createVerdict, type ClassifyEmailResult } from './classify-email';
import { documentCache } from './document-cache';
import { rethrowAsFailure } from './failures';
import { whileAlive } from './heartbeat';

export interface ParseEmailInput {
  rawKey: string;
  rawSha256: string;
  /** The queue decides what is redacted (rules: queues[].redact, redact). */
  queue?: string;
  /**
   * False for a small email parsed as a local activity: its document stays in this worker's memory
   * for the next steps, and a step that misses it parses the raw message again (loadDocument), so
   * the email costs the object store one write (the ingress's) and one read. Default true.
   */
  storeDocument?: boolean;
}

/** Where a step finds the parsed document: its key, and whether it was stored or must be parsed again from `rawKey`. */
export interface DocumentRef {
  documentKey: string;
  rawKey?: string;
  /** False when the parse step kept the document in memory only (absent: stored, as every parse before this was). */
  documentStored?: boolean;
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
  /** False when the document was kept in the worker's memory only (ParseEmailInput.storeDocument). */
  documentStored?: boolean;
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
  let document = await parseRaw(deps, input.rawKey, async (part, content) => {
    const partKey = `parts/${input.rawSha256}/${part.index}`;
    const body = new PassThrough();
    await Promise.all([deps.store.put({ key: partKey, body, contentType: part.contentType }), pipeline(content, body)]);
    return { partKey };
  });
  const kinds = redactionFor(deps.rules, input.queue ?? '');
  // Subject, names, file names, headers, text and html: the summary below, and with it the ticket
  // and the acknowledgement, is built from the redacted document (issue 12, class 4).
  document = redactDocument(document, { kinds });
  // One document per redaction policy: queues that redact differently never share one.
  const documentKey = `parsed/${input.rawSha256}/${kinds.length > 0 ? [...kinds].sort().join('+') : 'unredacted'}.json`;
  const json = JSON.stringify(document);
  documentCache.set(documentKey, json);
  const documentStored = input.storeDocument !== false;
  if (documentStored) {
    try {
      await deps.store.put({ key: documentKey, body: json, contentType: 'application/json' });
    } catch (error) {
      return rethrowAsFailure(error);
    }
  }
  return {
    documentKey,
    ...(documentStored ? {} : { documentStored }),
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

type PartSink = Parameters<typeof parseMime>[1]['sink'];

/** The raw message parsed into a document (not yet redacted); a message that is not MIME fails for good. */
async function parseRaw(deps: Pick<Deps, 'store' | 'limits' | 'rules'>, rawKey: string, sink: PartSink): Promise<EmailDocument> {
  try {
    const raw = await deps.store.getStream(rawKey);
    return await parseMime(raw, { limits: deps.limits, remoteImages: deps.rules.remoteImages, sink });
  } catch (error) {
    if (error instanceof MalformedMimeError) {
      metrics.parseFailure();
      throw ApplicationFailure.nonRetryable(error.message, ErrorType.MalformedEmail);
    }
    return rethrowAsFailure(error);
  }
}

/**
 * The parsed document a step needs: from this worker's memory, else from the object store, else
 * (kept in memory by another worker, or before a restart) parsed again from the raw message and
 * redacted as its key says. Parsing is deterministic, so the copy is the document the parse step made;
 * the attachment parts it names were stored by that step and are not written again.
 */
export async function loadDocument(deps: Pick<Deps, 'store' | 'limits' | 'rules'>, ref: DocumentRef): Promise<EmailDocument> {
  const kept = documentCache.get(ref.documentKey);
  if (kept !== undefined) return JSON.parse(kept) as EmailDocument;
  if (ref.documentStored !== false || !ref.rawKey) {
    try {
      return JSON.parse((await deps.store.getBuffer(ref.documentKey)).toString('utf8')) as EmailDocument;
    } catch (error) {
      return rethrowAsFailure(error);
    }
  }
  const [, rawSha256, policy] = /^parsed\/([^/]+)\/([^/]+)\.json$/.exec(ref.documentKey) ?? [];
  if (!rawSha256 || !policy) throw ApplicationFailure.nonRetryable(`not a parsed document's key: ${ref.documentKey}`, ErrorType.ObjectNotFound);
  const kinds = policy === 'unredacted' ? [] : (policy.split('+') as RedactionKind[]);
  const parsed = await parseRaw(deps, ref.rawKey, async (part, content) => {
    content.resume();
    await finished(content);
    return { partKey: `parts/${rawSha256}/${part.index}` };
  });
  const document = redactDocument(parsed, { kinds });
  documentCache.set(ref.documentKey, JSON.stringify(document));
  return document;
}
