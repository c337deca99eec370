/** The PostgreSQL store's notification ledger (issue 19): one row per notification sent, by delivery key. */
import type { MailLedger } from './port-methods';
import { isoInstant, notificationValues } from './inputs';
import { now } from './keys';
import { one, rows, type PostgresAccess } from './postgres-query';
import { toNotification } from './rows';

type NotificationMethods = Pick<MailLedger, 'findNotification' | 'recordNotification' | 'ticketNotifications' | 'markNotificationResolved'>;

export function postgresNotificationMethods({ pool, guarded }: PostgresAccess): NotificationMethods {
  return {
    findNotification: (key) =>
      guarded(async () => {
        const row = await one(pool, 'SELECT * FROM notifications WHERE key = $1', [key]);
        return row ? toNotification(row) : null;
      }),
    recordNotification: (record) =>
      guarded(async () => {
        await pool.query('INSERT INTO notifications (key, ticket_id, target, kind, ref, created) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING', notificationValues(record, now()));
      }),
    ticketNotifications: (ticketId) =>
      guarded(async () => (await rows(pool, 'SELECT * FROM notifications WHERE ticket_id = $1 ORDER BY created, seq', [ticketId])).map(toNotification)),
    markNotificationResolved: (key, at) =>
      guarded(async () => ((await pool.query('UPDATE notifications SET resolved = $1 WHERE key = $2 AND resolved IS NULL', [isoInstant(at, 'at'), key])).rowCount ?? 0) > 0),
  };
}
