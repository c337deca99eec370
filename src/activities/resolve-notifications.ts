/**
 * resolveTicketNotifications (issue 19): the ticket closed, so each page it raised is resolved
 * (PagerDuty) and each alert closed (Opsgenie), once: the ledger marks them resolved.
 */
import { createNotifier } from '../adapters/notifiers';
import { isPagingKind, type NotifyKind } from '../domain/notify-routes';
import { rethrowAsFailure } from './failures';
import { activityLog } from './log';
import type { NotifyDeps } from './send-notification';

export interface ResolveNotificationsInput {
  ticketId: string;
  ticketNumber: number | null;
}

export function createResolveTicketNotifications(deps: Pick<NotifyDeps, 'ledger' | 'rules' | 'notifyEnv'>) {
  return async function resolveTicketNotifications(input: ResolveNotificationsInput): Promise<{ resolved: number }> {
    try {
      let resolved = 0;
      const open = (await deps.ledger.ticketNotifications(input.ticketId)).filter((n) => n.resolved === null && n.ref !== null && isPagingKind(n.kind as NotifyKind));
      for (const page of open) {
        const target = deps.rules.notifications.targets.find((t) => t.name === page.target);
        if (!target) {
          activityLog().warn('page not resolved: its target is no longer in the rules', { target: page.target });
          continue;
        }
        await createNotifier(target, deps.notifyEnv).resolve?.(page.ref!, `Ticket ${input.ticketNumber === null ? input.ticketId : `#${input.ticketNumber}`} was closed in the helpdesk.`);
        if (await deps.ledger.markNotificationResolved(page.key, new Date().toISOString())) resolved++;
      }
      if (resolved > 0) activityLog().info('pages resolved', { resolved });
      return { resolved };
    } catch (error) {
      rethrowAsFailure(error);
    }
  };
}
