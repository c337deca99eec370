/**
 * The port contracts against the built-in store on the stack's PostgreSQL: each suite in a schema of
 * its own, dropped afterwards, so runs never see each other's rows.
 */
import pg from 'pg';
import { createPostgresTicketStore } from '../../src/adapters/ticket-store';
import { postgresUrl } from '../helpers/stack';
import { builtInStoreContract } from './built-in-store.contract';
import { builtInHelpdesk, builtInLedger, type FreshStore } from './built-in-store';
import { helpdeskContract } from './helpdesk.contract';
import { ledgerContract } from './ledger.contract';
import { retentionContract } from './retention.contract';
import { webStoreContract } from './web-store.contract';

const run = `contract_${process.pid}_${Date.now().toString(36)}`;
let schemas = 0;

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

async function openFresh(): Promise<FreshStore> {
  schemas += 1;
  const schema = `${run}_${schemas}`;
  return { store: createPostgresTicketStore(postgresUrl(), { schema }), drop: () => dropSchema(schema) };
}

helpdeskContract('built-in store on PostgreSQL', builtInHelpdesk(openFresh));
ledgerContract('built-in store on PostgreSQL', builtInLedger(openFresh));
builtInStoreContract('PostgreSQL', openFresh);
retentionContract('built-in store on PostgreSQL', openFresh);
webStoreContract('built-in store on PostgreSQL', openFresh);
