/**
 * Undeliverable marks (admin token required, see auth.ts). A hard bounce of an acknowledgement marks
 * the address it was sent to, and no acknowledgement goes there until the mark expires
 * (UNDELIVERABLE_MARK_DAYS). Operators see and lift marks here (issue 12: a forged report used to
 * silence an address forever, with no way to see or undo it):
 *   GET    /v1/undeliverable?limit=N       marks in force, newest first: address, reason, since, expires
 *   DELETE /v1/undeliverable/<address>     lifts one mark; 404 when the address has none
 */
import express, { type Router } from 'express';
import { isAddress, normalizeAddress } from '../domain/addresses';
import type { Logger } from '../logger';
import type { Ledger } from '../ports/ledger';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export function undeliverableRouter(deps: { ledger: Pick<Ledger, 'listUndeliverable' | 'clearUndeliverable'>; log: Logger }): Router {
  const router = express.Router();

  router.get('/v1/undeliverable', async (req, res) => {
    const raw = typeof req.query.limit === 'string' ? req.query.limit : String(DEFAULT_LIMIT);
    const limit = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      res.status(400).json({ error: 'bad_request', reason: `limit must be an integer from 1 to ${MAX_LIMIT}` });
      return;
    }
    const marks = await deps.ledger.listUndeliverable({ at: new Date().toISOString(), limit });
    res.json({ marks });
  });

  router.delete('/v1/undeliverable/:address', async (req, res) => {
    const address = normalizeAddress(req.params.address);
    if (!isAddress(address)) {
      res.status(400).json({ error: 'bad_request', reason: 'not an email address' });
      return;
    }
    if (!(await deps.ledger.clearUndeliverable(address))) {
      res.status(404).json({ error: 'not_found', reason: `${address} is not marked undeliverable` });
      return;
    }
    // An operator's decision, logged without the reason text (it quotes the report).
    deps.log.info('undeliverable mark cleared', { address });
    res.json({ address, cleared: true });
  });

  return router;
}
