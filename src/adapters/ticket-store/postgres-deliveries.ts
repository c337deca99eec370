/**
 * The PostgreSQL store's delivery records (Ledger port, "deliveries"): a claim locks its row (or
 * inserts it) in one transaction, so two workers never both hold a delivery.
 */
import { isoInstant } from './inputs';
import type { DeliveryLedger } from './port-methods';
import { one, type PostgresAccess } from './postgres-query';

export function postgresDeliveries({ pool, transaction, guarded }: PostgresAccess): DeliveryLedger {
  return {
    claimDelivery: (claim) =>
      guarded(() =>
        transaction(async (client) => {
          const at = isoInstant(claim.at, 'at');
          const lease = isoInstant(claim.leaseUntil, 'leaseUntil');
          const key = [claim.connector, claim.ticketId, claim.messageId ?? ''];
          const inserted = await one(
            client,
            `INSERT INTO deliveries (connector, ticket_id, message_id, state, external_id, owner, lease_until, created, updated)
             VALUES ($1, $2, $3, 'in_flight', NULL, $4, $5, $6, $6) ON CONFLICT DO NOTHING RETURNING state`,
            [...key, claim.owner, lease, at],
          );
          if (inserted !== undefined) return { state: 'claimed', resumed: false, externalId: null } as const;
          const row = await one(
            client,
            `SELECT state, external_id, owner, lease_until > $4::timestamptz AS leased FROM deliveries
             WHERE connector = $1 AND ticket_id = $2 AND message_id = $3 FOR UPDATE`,
            [...key, at],
          );
          if (row === undefined) return { state: 'busy' } as const;
          const externalId = row['external_id'] === null ? null : String(row['external_id']);
          if (row['state'] === 'done' && externalId !== null) return { state: 'done', externalId } as const;
          if (row['owner'] !== claim.owner && row['leased'] === true) return { state: 'busy' } as const;
          await client.query('UPDATE deliveries SET owner = $4, lease_until = $5, updated = $6 WHERE connector = $1 AND ticket_id = $2 AND message_id = $3', [
            ...key, claim.owner, lease, at,
          ]);
          return { state: 'claimed', resumed: true, externalId } as const;
        }),
      ),

    completeDelivery: (done) =>
      guarded(async () => {
        const at = isoInstant(done.at, 'at');
        await pool.query(
          `INSERT INTO deliveries (connector, ticket_id, message_id, state, external_id, owner, lease_until, created, updated)
           VALUES ($1, $2, $3, 'done', $4, '', $5, $5, $5)
           ON CONFLICT (connector, ticket_id, message_id) DO UPDATE SET state = 'done', external_id = COALESCE(deliveries.external_id, excluded.external_id), updated = excluded.updated
           WHERE deliveries.state <> 'done'`,
          [done.connector, done.ticketId, done.messageId ?? '', done.externalId, at],
        );
      }),

    deliveredId: (key) =>
      guarded(async () => {
        const row = await one(
          pool,
          "SELECT external_id FROM deliveries WHERE connector = $1 AND ticket_id = $2 AND message_id = $3 AND state = 'done'",
          [key.connector, key.ticketId, key.messageId ?? ''],
        );
        return row === undefined || row['external_id'] === null ? null : String(row['external_id']);
      }),
  };
}
