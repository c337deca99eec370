/**
 * Worker deployment versioning (Temporal worker deployments): a worker announces its deployment
 * and build id, and the server routes each workflow's tasks to the version its behaviour asks for.
 * Emails are pinned: a run finishes on the code that started it, so a new build can never replay a
 * half-done email with different commands. Types that run forever (pollers) declare AUTO_UPGRADE in
 * their own module, or they would keep an old build alive for good.
 */
import type { WorkerDeploymentOptions } from '@temporalio/worker';
import type { WorkerVersioning } from './config';

/** The SDK's options for `Worker.create`; undefined (versioning off) leaves the worker unversioned. */
export function workerDeploymentOptions(versioning: WorkerVersioning | undefined): WorkerDeploymentOptions | undefined {
  if (versioning === undefined) return undefined;
  return {
    version: { deploymentName: versioning.deploymentName, buildId: versioning.buildId },
    useWorkerVersioning: true,
    defaultVersioningBehavior: versioning.defaultBehavior === 'pinned' ? 'PINNED' : 'AUTO_UPGRADE',
  };
}
