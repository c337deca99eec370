/**
 * Reloading the rules file without a restart: on SIGHUP the API and the worker read
 * MAILGATE_RULES_FILE again and validate it in full. A valid file replaces the rules in place (the
 * one Rules object every route and activity was given), so the next request, workflow start or
 * activity sees the new routing and templates; work already running keeps what it read. An invalid
 * or unreadable file changes nothing: the old rules stay, the error is logged and counted
 * (helpdesk_rules_reloads_total{result="error"}) so an alert can say the file on disk is not the one
 * in force.
 */
import type { Logger } from './logger';
import { metrics, rulesReloadsTotal as reloadsTotal } from './metrics';
import { loadRules, type Rules } from './rules';

export type ReloadResult = { ok: true; queues: string[] } | { ok: false; error: string };

/** Reads and validates `file`; on success its rules replace `target`'s in place. */
export function reloadRules(target: Rules, file: string | undefined): ReloadResult {
  let next: Rules;
  try {
    next = loadRules(file);
  } catch (error) {
    reloadsTotal.inc({ result: 'error' });
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  Object.assign(target, next);
  reloadsTotal.inc({ result: 'ok' });
  const queues = target.queues.map((q) => q.address);
  metrics.prime(queues);
  return { ok: true, queues };
}

/** Reloads `rules` from `file` on each SIGHUP; returns a function that stops listening. */
export function reloadRulesOnSighup(deps: { rules: Rules; file: string | undefined; log: Logger }): () => void {
  const onSignal = (): void => {
    if (deps.file === undefined) {
      deps.log.warn('rules not reloaded: MAILGATE_RULES_FILE is not set, the built-in defaults stay');
      return;
    }
    const result = reloadRules(deps.rules, deps.file);
    if (result.ok) deps.log.info('rules reloaded', { file: deps.file, instanceId: deps.rules.instanceId, queues: result.queues });
    else deps.log.error('rules reload failed; the previous rules stay in force', { file: deps.file, error: result.error });
  };
  process.on('SIGHUP', onSignal);
  return () => process.off('SIGHUP', onSignal);
}
