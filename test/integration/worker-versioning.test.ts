/**
 * Worker deployment versioning against the stack's Temporal dev server, driven the way the README
 * tells an operator to roll out: a v1 worker runs, a v2 worker appears, `temporal worker deployment
 * set-current-version` makes v2 current. A pinned run started on v1 finishes on v1; an AUTO_UPGRADE
 * run moves to v2; a run started after the switch goes to v2. The workers take their deployment
 * options from loadConfig, as the worker process does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, decodeVersioningBehavior } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import { workerDeploymentOptions } from '../../src/worker-versioning';
import { withTemporal } from '../helpers/pipeline';
import { config, eventually, temporalBinary, unique } from '../helpers/stack';
import { proceed } from '../workflows/version-probe';

const workflowsPath = require.resolve('../workflows/version-probe');

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    temporalBinary,
    [...args, '--address', config.temporal.address, '--namespace', config.temporal.namespace],
    { timeout: 60_000 },
  );
  return stdout;
}

async function startWorker(connection: NativeConnection, taskQueue: string, deployment: string, buildId: string): Promise<{ worker: Worker; running: Promise<void> }> {
  const versioned = loadConfig({ ...process.env, WORKER_DEPLOYMENT_NAME: deployment, WORKER_BUILD_ID: buildId });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowsPath,
    activities: {
      buildOf: () => Promise.resolve(buildId),
      // The email's first step fails at once, so its run parks (a state the server records) instead
      // of waiting on activities this test does not run.
      parseEmail: () => Promise.reject(ApplicationFailure.nonRetryable('versioning test: no email here', 'VersioningTest')),
    },
    workerDeploymentOptions: workerDeploymentOptions(versioned.workerVersioning),
  });
  return { worker, running: worker.run() };
}

/** The server registers a version when its first poller arrives; the switch waits for that. */
async function makeCurrent(deployment: string, buildId: string): Promise<void> {
  await eventually(`version ${deployment}.${buildId} to be registered`, async () => {
    await cli('worker', 'deployment', 'describe-version', '--deployment-name', deployment, '--build-id', buildId);
    return true;
  }, 60_000);
  await cli('worker', 'deployment', 'set-current-version', '--deployment-name', deployment, '--build-id', buildId, '--yes');
}

/** The behaviour and version the server recorded for a run, once its first workflow task completed. */
async function versioning(handle: WorkflowHandle): Promise<{ behavior: string; buildId: string }> {
  return eventually(`${handle.workflowId} to report its versioning`, async () => {
    const info = (await handle.describe()).raw.workflowExecutionInfo?.versioningInfo;
    const behavior = decodeVersioningBehavior(info?.behavior);
    const buildId = info?.deploymentVersion?.buildId;
    return behavior && buildId ? { behavior, buildId } : undefined;
  }, 30_000);
}

test('a pinned email run finishes on the build that started it, new runs and upgrading runs go to the current build', async () => {
  const deployment = unique('mailgate-test').replace(/\./g, '-').slice(0, 63);
  const taskQueue = unique('versioning');
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  const workers: { worker: Worker; running: Promise<void> }[] = [];
  try {
    await withTemporal(async (client: Client) => {
      workers.push(await startWorker(connection, taskQueue, deployment, 'v1'));
      // A first install: an email arriving before any version is current waits, and is not lost.
      const early = await client.workflow.start('versionProbe', { taskQueue, workflowId: unique('early') });
      await makeCurrent(deployment, 'v1');

      const pinned = await client.workflow.start('versionProbe', { taskQueue, workflowId: unique('pinned') });
      const upgrading = await client.workflow.start('versionProbeUpgrading', { taskQueue, workflowId: unique('upgrading') });
      // Mailgate's own types, as the server records them (their activities are not registered here).
      const email = await client.workflow.start('processInboundEmail', {
        taskQueue,
        workflowId: unique('email'),
        args: [{ rawKey: 'raw/none', rawSha256: '0'.repeat(64), rawSize: 1, recipient: 'help@mailgate.local', queue: 'help@mailgate.local', idempotencyKey: unique('key'), envelopeFrom: null, receivedAt: new Date().toISOString() }],
      });
      const poller = await client.workflow.start('imapPoller', { taskQueue, workflowId: unique('poller'), args: [{ name: 'nowhere' }] });
      assert.deepEqual(await versioning(pinned), { behavior: 'PINNED', buildId: 'v1' }, 'the worker default pins a type that declares nothing');
      assert.deepEqual(await versioning(upgrading), { behavior: 'AUTO_UPGRADE', buildId: 'v1' });
      assert.deepEqual(await versioning(email), { behavior: 'PINNED', buildId: 'v1' }, 'processInboundEmail is pinned');
      assert.deepEqual(await versioning(poller), { behavior: 'AUTO_UPGRADE', buildId: 'v1' }, 'the IMAP poller follows the current build');
      await email.terminate('versioning test: behaviour read');
      await poller.terminate('versioning test: behaviour read');

      workers.push(await startWorker(connection, taskQueue, deployment, 'v2'));
      await makeCurrent(deployment, 'v2');
      const current = JSON.parse(await cli('worker', 'deployment', 'describe', '--name', deployment, '--output', 'json')) as Record<string, unknown>;
      assert.match(JSON.stringify(current), /"currentVersion[^}]*v2/, 'the deployment names v2 as current');

      const fresh = await client.workflow.start('versionProbe', { taskQueue, workflowId: unique('fresh') });
      for (const handle of [pinned, upgrading, fresh, early]) await handle.signal(proceed);
      assert.equal(await pinned.result(), 'v1', 'the run pinned to v1 finishes on v1 although v2 is current');
      assert.equal(await upgrading.result(), 'v2', 'the AUTO_UPGRADE run moved to v2');
      assert.equal(await fresh.result(), 'v2', 'a run started after the switch goes to v2');
      assert.equal(await early.result(), 'v1', 'the run started before any version was current ran on v1, pinned');
      assert.deepEqual(await versioning(fresh), { behavior: 'PINNED', buildId: 'v2' });
    });
  } finally {
    for (const { worker } of workers) worker.shutdown();
    await Promise.allSettled(workers.map((w) => w.running));
    await connection.close();
  }
});

test('on an unversioned worker (the dev-server path) the types that declare a behaviour still run', async () => {
  const taskQueue = unique('unversioned');
  const connection = await NativeConnection.connect(temporalConnectionOptions(config.temporal));
  try {
    assert.equal(workerDeploymentOptions(loadConfig(process.env).workerVersioning), undefined);
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowsPath,
      activities: { buildOf: () => Promise.resolve('unversioned') },
    });
    // The server refuses a workflow task naming a behaviour from an unversioned worker: the run
    // would retry its first task for ever instead of finishing.
    const result = await withTemporal((client) =>
      worker.runUntil(async () => {
        const handle = await client.workflow.start('versionProbeUpgrading', { taskQueue, workflowId: unique('unversioned') });
        await handle.signal(proceed);
        return handle.result();
      }),
    );
    assert.equal(result, 'unversioned');
  } finally {
    await connection.close();
  }
});
