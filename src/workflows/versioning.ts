/**
 * A workflow type's versioning behaviour, declared only where the worker runs versioned. The server
 * refuses a workflow task that names a behaviour from an unversioned worker ("versioning behavior
 * cannot be specified without deployment options"), which would stall every run on the dev server
 * path; an unversioned worker reports no deployment name, so the declaration waits for one.
 */
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import type { VersioningBehavior } from '@temporalio/common';

export function declareVersioning<A extends unknown[], R>(behavior: VersioningBehavior, fn: (...args: A) => Promise<R>): void {
  setWorkflowOptions(() => (workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior: behavior } : {}), fn);
}
