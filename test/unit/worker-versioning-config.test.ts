/**
 * Worker deployment versioning settings: off unless both names are set, refused when half set or
 * malformed, and turned into the SDK's options the worker passes to Worker.create.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, describeConfig, loadConfig } from '../../src/config';
import { workerDeploymentOptions } from '../../src/worker-versioning';
import { MINIMAL_ENV } from '../helpers/env';

function problems(env: Record<string, string>): Record<string, string> {
  try {
    loadConfig({ ...MINIMAL_ENV, ...env });
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return Object.fromEntries(error.problems.map((p) => [p.variable, p.reason]));
  }
  assert.fail('expected a ConfigError');
}

test('versioning is off by default: the worker stays unversioned, as on the dev server', () => {
  const config = loadConfig(MINIMAL_ENV);
  assert.equal(config.workerVersioning, undefined);
  assert.equal(workerDeploymentOptions(config.workerVersioning), undefined);
  assert.equal(describeConfig(config).workerVersioning, false);
});

test('a deployment name and a build id turn it on, pinned by default', () => {
  const config = loadConfig({ ...MINIMAL_ENV, WORKER_DEPLOYMENT_NAME: 'mailgate', WORKER_BUILD_ID: '1.4.0' });
  assert.deepEqual(config.workerVersioning, { deploymentName: 'mailgate', buildId: '1.4.0', defaultBehavior: 'pinned' });
  assert.deepEqual(workerDeploymentOptions(config.workerVersioning), {
    version: { deploymentName: 'mailgate', buildId: '1.4.0' },
    useWorkerVersioning: true,
    defaultVersioningBehavior: 'PINNED',
  });
  assert.deepEqual(describeConfig(config).workerVersioning, config.workerVersioning);
});

test('the default behaviour can be auto-upgrade', () => {
  const config = loadConfig({ ...MINIMAL_ENV, WORKER_DEPLOYMENT_NAME: 'mailgate', WORKER_BUILD_ID: 'abc123', WORKER_VERSIONING_DEFAULT: 'auto-upgrade' });
  assert.equal(workerDeploymentOptions(config.workerVersioning)?.defaultVersioningBehavior, 'AUTO_UPGRADE');
});

test('half a setting is refused, naming the missing variable', () => {
  assert.deepEqual(problems({ WORKER_BUILD_ID: 'v2' }), { WORKER_DEPLOYMENT_NAME: 'is required when WORKER_BUILD_ID is set' });
  assert.deepEqual(problems({ WORKER_DEPLOYMENT_NAME: 'mailgate' }), { WORKER_BUILD_ID: 'is required when WORKER_DEPLOYMENT_NAME is set' });
});

test('malformed names are refused: a dot in the deployment, spaces, too long, an unknown behaviour', () => {
  assert.deepEqual(Object.keys(problems({ WORKER_DEPLOYMENT_NAME: 'mail.gate', WORKER_BUILD_ID: 'v1' })), ['WORKER_DEPLOYMENT_NAME']);
  assert.deepEqual(Object.keys(problems({ WORKER_DEPLOYMENT_NAME: 'mailgate', WORKER_BUILD_ID: 'v 1' })), ['WORKER_BUILD_ID']);
  assert.deepEqual(Object.keys(problems({ WORKER_DEPLOYMENT_NAME: 'mailgate', WORKER_BUILD_ID: 'x'.repeat(64) })), ['WORKER_BUILD_ID']);
  assert.deepEqual(Object.keys(problems({ WORKER_DEPLOYMENT_NAME: '-mailgate', WORKER_BUILD_ID: 'v1' })), ['WORKER_DEPLOYMENT_NAME']);
  assert.deepEqual(Object.keys(problems({ WORKER_DEPLOYMENT_NAME: 'mailgate', WORKER_BUILD_ID: 'v1', WORKER_VERSIONING_DEFAULT: 'sometimes' })), ['WORKER_VERSIONING_DEFAULT']);
});
