/** The port contracts against the built-in store on SQLite: each suite on a new file in a temporary folder. */
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteTicketStore } from '../../src/adapters/ticket-store';
import { builtInStoreContract } from './built-in-store.contract';
import { builtInHelpdesk, builtInLedger, type FreshStore } from './built-in-store';
import { helpdeskContract } from './helpdesk.contract';
import { ledgerContract } from './ledger.contract';
import { retentionContract } from './retention.contract';
import { webStoreContract } from './web-store.contract';

const dir = mkdtempSync(join(tmpdir(), 'mailgate-contract-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;

async function openFresh(): Promise<FreshStore> {
  files += 1;
  const folder = join(dir, `store-${files}`);
  return { store: createSqliteTicketStore(join(folder, 'tickets.sqlite')), drop: async () => rmSync(folder, { recursive: true, force: true }) };
}

helpdeskContract('built-in store on SQLite', builtInHelpdesk(openFresh));
ledgerContract('built-in store on SQLite', builtInLedger(openFresh));
builtInStoreContract('SQLite', openFresh);
retentionContract('built-in store on SQLite', openFresh);
webStoreContract('built-in store on SQLite', openFresh);
