/**
 * classify: the email's class by the tiers of EMAIL-RULES.md §1 (src/domain/classify.ts), with
 * the matched rules as evidence, and its priority and tags (src/domain/priority.ts). One read of the
 * stored document serves both.
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

export function createClassifyEmail(deps: { store: ObjectStore; rules: Rules; inboundDomains: string[]; signingKey: string }) {
  const ownDomains = new Set(deps.inboundDomains.map((d) => d.toLowerCase()));
  return async function classify(input: ClassifyEmailInput): Promise<ClassifyEmailResult> {
    let document: EmailDocument;
    try {
      document = JSON.parse((await deps.store.getBuffer(input.documentKey)).toString('utf8')) as EmailDocument;
    } catch (error) {
      return rethrowAsFailure(error);
    }
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
      ),
      returnedMessageId: document.returnedMessage?.messageId ?? null,
    };
  };
}
