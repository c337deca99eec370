/**
 * The canary of one helpdesk connector: creates a test ticket in the vendor's helpdesk and closes
 * it, proving the credentials, the create and the status call end to end. Idempotent per canary run:
 * the run's id is the ticket's idempotency key and external reference, so a retried attempt finds
 * the ticket instead of opening another.
 */
import type { VendorConnector } from '../adapters/helpdesks/connector';
import { TypedError, ErrorType } from '../domain/errors';
import { rethrowAsFailure } from './failures';
import { activityLog } from './log';

export interface HelpdeskCanaryInput {
  connector: string;
  /** The canary run's workflow id (unique per scheduled run). */
  runId: string;
}

export interface HelpdeskCanaryResult {
  externalId: string;
  ms: number;
}

export function createHelpdeskCanary(deps: { canaries?: ReadonlyMap<string, { connector: VendorConnector; requester: string }> }) {
  return async function helpdeskCanary(input: HelpdeskCanaryInput): Promise<HelpdeskCanaryResult> {
    const started = Date.now();
    try {
      const canary = deps.canaries?.get(input.connector);
      if (!canary) throw new TypedError(ErrorType.RemoteRejected, `no helpdesk connector "${input.connector}" on this worker`);
      const ref = `canary-${input.runId}`;
      const externalId =
        (await canary.connector.findTicket(ref)) ??
        (
          await canary.connector.createTicket({
            idempotencyKey: `mailgate-${ref}`,
            externalRef: ref,
            number: 0,
            subject: `Mailgate canary (${input.connector})`,
            requester: canary.requester,
            queue: 'canary',
            priority: 'low',
            tags: ['mailgate_canary'],
            linkedExternalId: null,
            comment: { messageId: `${ref}@mailgate.invalid`, author: canary.requester, text: 'Mailgate connector canary: opened and closed automatically.', html: null, internal: false, files: [], links: [] },
          })
        ).externalId;
      await canary.connector.setStatus(externalId, 'closed');
      const result = { externalId, ms: Date.now() - started };
      activityLog().info('helpdesk canary passed', { connector: input.connector, ...result });
      return result;
    } catch (error) {
      return rethrowAsFailure(error);
    }
  };
}
