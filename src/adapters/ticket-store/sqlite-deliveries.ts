/**
 * The SQLite store's delivery records (Ledger port, "deliveries"): each claim is one BEGIN IMMEDIATE
 * transaction, so two workers never both hold a delivery.
 */
import { isoInstant } from './inputs';
import type { DeliveryLedger } from './port-methods';
import type { SqliteAccess } from './sqlite-access';

export function sqliteDeliveries({ get, run, write, guarded }: SqliteAccess): DeliveryLedger {
  return {
    claimDelivery: (claim) =>
      guarded(() =>
        write(() => {
          const at = isoInstant(claim.at, 'at');
          const lease = isoInstant(claim.leaseUntil, 'leaseUntil');
          const key = [claim.connector, claim.ticketId, claim.messageId ?? ''] as const;
          const row = get('SELECT state, external_id, owner, lease_until FROM deliveries WHERE connector = ? AND ticket_id = ? AND message_id = ?', ...key);
          if (row === undefined) {
            run(
              `INSERT INTO deliveries (connector, ticket_id, message_id, state, external_id, owner, lease_until, created, updated)
               VALUES (?, ?, ?, 'in_flight', NULL, ?, ?, ?, ?)`,
              ...key, claim.owner, lease, at, at,
            );
            return { state: 'claimed', resumed: false, externalId: null } as const;
          }
          const externalId = row['external_id'] === null ? null : String(row['external_id']);
          if (row['state'] === 'done' && externalId !== null) return { state: 'done', externalId } as const;
          if (row['owner'] !== claim.owner && String(row['lease_until']) > at) return { state: 'busy' } as const;
          run('UPDATE deliveries SET owner = ?, lease_until = ?, updated = ? WHERE connector = ? AND ticket_id = ? AND message_id = ?', claim.owner, lease, at, ...key);
          return { state: 'claimed', resumed: true, externalId } as const;
        }),
      ),

    completeDelivery: (done) =>
      guarded(() => {
        const at = isoInstant(done.at, 'at');
        run(
          `INSERT INTO deliveries (connector, ticket_id, message_id, state, external_id, owner, lease_until, created, updated)
           VALUES (?, ?, ?, 'done', ?, '', ?, ?, ?)
           ON CONFLICT (connector, ticket_id, message_id) DO UPDATE SET state = 'done', external_id = COALESCE(deliveries.external_id, excluded.external_id), updated = excluded.updated
           WHERE deliveries.state <> 'done'`,
          done.connector, done.ticketId, done.messageId ?? '', done.externalId, at, at, at,
        );
      }),

    deliveredId: (key) =>
      guarded(() => {
        const row = get(
          "SELECT external_id FROM deliveries WHERE connector = ? AND ticket_id = ? AND message_id = ? AND state = 'done'",
          key.connector, key.ticketId, key.messageId ?? '',
        );
        return row === undefined || row['external_id'] === null ? null : String(row['external_id']);
      }),
  };
}
