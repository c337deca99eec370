/**
 * Workflows for the worker-versioning test: each waits for a signal, then asks an activity which
 * build runs it. `versionProbe` declares nothing (the worker's default behaviour applies);
 * `versionProbeUpgrading` declares AUTO_UPGRADE like the pollers. Mailgate's own workflow types ride
 * along so the test reads the behaviour they declare from the server, not from the source.
 */
import { condition, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import { declareVersioning } from '../../src/workflows/versioning';

export { imapPoller, processInboundEmail } from '../../src/workflows';

export const proceed = defineSignal('proceed');

const { buildOf } = proxyActivities<{ buildOf(): Promise<string> }>({ startToCloseTimeout: '10 seconds', retry: { maximumAttempts: 3 } });

async function waitThenAsk(): Promise<string> {
  let go = false;
  setHandler(proceed, () => {
    go = true;
  });
  await condition(() => go);
  return buildOf();
}

export async function versionProbe(): Promise<string> {
  return waitThenAsk();
}

export async function versionProbeUpgrading(): Promise<string> {
  return waitThenAsk();
}

declareVersioning('AUTO_UPGRADE', versionProbeUpgrading);
