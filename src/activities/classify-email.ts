/**
 * classify: the email's class by the tiers of EMAIL-RULES.md §1 (src/domain/classify.ts), with
 * the matched rules as evidence, and its priority and tags (src/domain/priority.ts).
 */
import type { ObjectStore } from '../adapters/object-store';
import { domainOf } from '../domain/addresses';
import { classifyEmail, type Classification } from '../domain/classify';
import type { EmailDocument } from '../domain/email';
import { computePriority, type PriorityResult } from '../domain/priority';
import { verifyOwnMessageId } from '../domain/signed-ids';
import type { Rules } from '../rules';
import { rethrowAsFailure } from './failures';

export interface ClassifyEmailInput {
  documentKey: string;
}

export interface ClassifyEmailResult extends Classification {
  priority: PriorityResult;
  /** Message-ID of the original a bounce returns, if any. */
  returnedMessageId: string | null;
}

/**
 * The verdict on a parsed document. The parse step computes it while the document is in memory, so
 * the stored document is not read back for it; the classifyEmail activity remains for emails whose
 * parse finished before that (their history goes on to call it).
 */
export function createVerdict(deps: { rules: Rules; inboundDomains: string[]; signingKey: string; trustedAuthservIds: string[] }) {
  const ownDomains = new Set(deps.inboundDomains.map((d) => d.toLowerCase()));
  return function verdict(document: EmailDocument): ClassifyEmailResult {
    const classification = classifyEmail(document, {
      instanceId: deps.rules.instanceId,
      isOwnAddress: (address) => ownDomains.has(domainOf(address)),
      isOwnMessageId: (id) => verifyOwnMessageId(deps.signingKey, id) !== null,
      allowlist: deps.rules.allowlist,
    });
    return {
      ...classification,
      priority: computePriority(
        { subject: document.subject, text: document.text, sender: document.from?.address ?? null, headers: document.headers },
        deps.rules.priority,
        { trustedAuthservIds: deps.trustedAuthservIds },
      ),
      returnedMessageId: document.returnedMessage?.messageId ?? null,
    };
  };
}

export function createClassifyEmail(deps: { store: ObjectStore; rules: Rules; inboundDomains: string[]; signingKey: string; trustedAuthservIds: string[] }) {
  const verdict = createVerdict(deps);
  return async function classify(input: ClassifyEmailInput): Promise<ClassifyEmailResult> {
    let document: EmailDocument;
    try {
      document = JSON.parse((await deps.store.getBuffer(input.documentKey)).toString('utf8')) as EmailDocument;
    } catch (error) {
      return rethrowAsFailure(error);
    }
    return verdict(document);
  };
}
