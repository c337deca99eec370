/** The SQLite store's notification ledger (issue 19): one row per notification sent, by delivery key. */
import type { MailLedger } from './port-methods';
import { isoInstant, notificationValues } from './inputs';
import { now } from './keys';
import { toNotification } from './rows';
import type { SqliteAccess } from './sqlite-access';

type NotificationMethods = Pick<MailLedger, 'findNotification' | 'recordNotification' | 'ticketNotifications' | 'markNotificationResolved'>;

export function sqliteNotificationMethods({ get, all, run, guarded }: SqliteAccess): NotificationMethods {
  return {
    findNotification: (key) =>
      guarded(() => {
        const row = get('SELECT * FROM notifications WHERE key = ?', key);
        return row ? toNotification(row) : null;
      }),
    recordNotification: (record) =>
      guarded(() => {
        run('INSERT INTO notifications (key, ticket_id, target, kind, ref, created) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING', ...notificationValues(record, now()));
      }),
    ticketNotifications: (ticketId) => guarded(() => all('SELECT * FROM notifications WHERE ticket_id = ? ORDER BY created, rowid', ticketId).map(toNotification)),
    markNotificationResolved: (key, at) =>
      guarded(() => run('UPDATE notifications SET resolved = ? WHERE key = ? AND resolved IS NULL', isoInstant(at, 'at'), key) > 0),
  };
}
