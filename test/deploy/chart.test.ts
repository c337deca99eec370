/**
 * The Helm chart, checked offline with the tools scripts/deploy-tools installs: `helm lint`,
 * `helm template` over several shapes of values, every rendered object against Kubernetes' own
 * schemas (kubernetes-validate, strict: unknown fields fail) for the oldest and newest Kubernetes
 * the chart supports, KEDA's objects against KEDA's CRDs, what the objects promise (non-root,
 * secrets by reference, probes on the processes' real endpoints, one Deployment per worker build),
 * that the ConfigMap is a configuration src/config.ts accepts, and that bad values are refused.
 * Run by `make test-deploy`; the tools are required, never skipped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config';

// dist/test/deploy/ -> the repository; no stack helper: these tests need no running service.
const ROOT = path.resolve(__dirname, '../../..');
const run = promisify(execFile);
const TOOLS = path.join(ROOT, '.tools/deploy');
const HELM = path.join(TOOLS, 'bin/helm');
const CHART = path.join(ROOT, 'deploy/helm/mailgate');
// The chart's kubeVersion floor and the newest schemas kubernetes-validate carries.
const KUBERNETES_VERSIONS = ['1.27.0', '1.37.0'];
const work = mkdtempSync(path.join(tmpdir(), 'mailgate-chart-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

// Rendered objects are read by path in assertions: a missing path fails the test just the same.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; spec?: any; data?: Record<string, string> };

/** A production-shaped release: TLS and an API key to Temporal, the autoscaler, a draining build. */
const PRODUCTION = {
  image: { repository: 'registry.example.com/mailgate', tag: '1.5.0' },
  temporal: {
    address: 'mailgate.a1b2c.tmprl.cloud:7233', namespace: 'mailgate.a1b2c', uiUrl: 'https://cloud.temporal.io/namespaces/mailgate.a1b2c',
    tls: { enabled: true, existingSecret: 'temporal-client', caKey: 'ca.crt' },
    apiKey: { existingSecret: 'temporal-api-key' },
  },
  s3: { endpoint: 'https://minio.storage.svc:9000', forcePathStyle: true },
  inboundDomains: ['support.example.com', 'help.example.com'],
  trustedAuthservIds: ['mx.support.example.com'],
  rules: { existingConfigMap: 'mailgate-rules' },
  secrets: { optionalKeys: { SMTP_USER: 'smtp-user', SMTP_PASSWORD: 'smtp-password' }, extraEnv: [{ name: 'ZENDESK_TOKEN', secretName: 'zendesk', key: 'token' }] },
  extraConfig: { MAX_MESSAGE_BYTES: 26214400, UNSCANNABLE_ATTACHMENTS: 'strip' },
  worker: { versioning: { draining: [{ buildId: '1.4.0', imageTag: '1.4.0', replicas: 1 }] }, autoscaling: { keda: { enabled: true } } },
  mx: { hostname: 'mx.support.example.com', tls: { existingSecret: 'mx-tls' }, auth: { user: 'relay', existingSecret: 'mx-auth' }, proxyFrom: ['10.0.0.10'] },
  networkPolicy: { enabled: true, metricsFrom: [{ 'kubernetes.io/metadata.name': 'monitoring' }] },
};

const SHAPES: Record<string, object> = {
  defaults: {},
  production: PRODUCTION,
  unversioned: { worker: { versioning: { enabled: false } }, mx: { enabled: false }, api: { podDisruptionBudget: { enabled: false } } },
};

function valuesFile(name: string, values: object): string {
  const file = path.join(work, `${name}.json`);
  writeFileSync(file, JSON.stringify(values));
  return file;
}

async function helm(...args: string[]): Promise<string> {
  const { stdout } = await run(HELM, args, { maxBuffer: 32 * 1024 * 1024 });
  return stdout;
}

async function render(name: string, values: object): Promise<{ file: string; objects: Obj[] }> {
  const text = await helm('template', 'mailgate', CHART, '--namespace', 'mailgate', '--values', valuesFile(name, values));
  const file = path.join(work, `${name}.yaml`);
  writeFileSync(file, text);
  const objects = parseAllDocuments(text).map((d) => d.toJS() as Obj | null).filter((o): o is Obj => o !== null);
  return { file, objects };
}

/** helm's error for values the chart must refuse; fails the test when helm renders them. */
async function refusal(values: object): Promise<string> {
  try {
    await helm('template', 'mailgate', CHART, '--values', valuesFile(`refused-${Math.random().toString(36).slice(2)}`, values));
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error);
  }
  assert.fail(`helm rendered values the chart should refuse: ${JSON.stringify(values)}`);
}

const pods = (objects: Obj[]) => objects.filter((o) => o.kind === 'Deployment').map((d) => ({ name: d.metadata.name, spec: d.spec.template.spec }));

test('helm lint --strict passes for every shape of values', async () => {
  for (const [name, values] of Object.entries(SHAPES)) {
    const out = await helm('lint', CHART, '--strict', '--values', valuesFile(`lint-${name}`, values));
    assert.match(out, /0 chart\(s\) failed/, `${name}: ${out}`);
  }
});

for (const [name, values] of Object.entries(SHAPES)) {
  test(`${name}: every rendered object is valid against Kubernetes' schemas, strictly`, async () => {
    const { file, objects } = await render(name, values);
    assert.ok(objects.length >= 6, `${name} renders the chart's objects`);
    for (const version of KUBERNETES_VERSIONS) {
      const { stdout } = await run(path.join(TOOLS, 'venv/bin/kubernetes-validate'), ['--strict', '--no-warn', '-k', version, file]).catch((error: { stdout?: string; stderr?: string }) => {
        assert.fail(`kubernetes-validate ${version} refused the ${name} rendering:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      });
      const known = objects.filter((o) => !o.apiVersion.startsWith('keda.sh/')).length;
      assert.equal((stdout.match(/ passed for resource /g) ?? []).length, known, `${version}: every built-in object was checked:\n${stdout}`);
    }
    const keda = objects.filter((o) => o.apiVersion.startsWith('keda.sh/'));
    if (keda.length > 0) {
      const { stdout } = await run(path.join(TOOLS, 'venv/bin/python'), [path.join(ROOT, 'scripts/validate-custom-resources'), path.join(TOOLS, 'crds'), file]);
      assert.match(stdout, new RegExp(`custom resources: ${keda.length} checked, 0 problems`));
    }
  });
}

test('the schema check is not a formality: an unknown field and a wrong type are refused', async () => {
  const { objects } = await render('defaults-for-tamper', {});
  const validate = async (name: string, change: (deployment: Obj) => void): Promise<string> => {
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!);
    change(deployment);
    const file = path.join(work, `${name}.json`);
    writeFileSync(file, JSON.stringify(deployment));
    return run(path.join(TOOLS, 'venv/bin/kubernetes-validate'), ['--strict', '--no-warn', '-k', '1.37.0', file]).then(
      () => 'accepted',
      (error: { stdout?: string }) => error.stdout ?? '',
    );
  };
  assert.match(await validate('unknown-field', (d) => (d.spec.template.spec.containers[0].livenessProbe.httpGet.paht = '/healthz')), /'paht' was unexpected/);
  assert.match(await validate('wrong-type', (d) => (d.spec.replicas = 'two')), /replicas: 'two' is not of type/);

  const { objects: prod } = await render('production-for-tamper', PRODUCTION);
  const scaled = structuredClone(prod.find((o) => o.kind === 'ScaledObject')!);
  scaled.spec.maxReplicaCount = 'ten';
  scaled.spec.triggerz = [];
  const crFile = path.join(work, 'tampered-scaledobject.json');
  writeFileSync(crFile, JSON.stringify(scaled));
  const cr = await run(path.join(TOOLS, 'venv/bin/python'), [path.join(ROOT, 'scripts/validate-custom-resources'), path.join(TOOLS, 'crds'), crFile]).then(
    () => 'accepted',
    (error: { stdout?: string }) => error.stdout ?? '',
  );
  assert.match(cr, /maxReplicaCount/);
  assert.match(cr, /triggerz/);
});

test('every container runs as a non-root user on a read-only root filesystem, with limits and requests', async () => {
  for (const [name, values] of Object.entries(SHAPES)) {
    for (const { name: deployment, spec } of pods((await render(`${name}-security`, values)).objects)) {
      assert.equal(spec.securityContext.runAsNonRoot, true, deployment);
      assert.equal(spec.automountServiceAccountToken, false, deployment);
      for (const container of spec.containers) {
        assert.equal(container.securityContext.readOnlyRootFilesystem, true, deployment);
        assert.equal(container.securityContext.allowPrivilegeEscalation, false, deployment);
        assert.deepEqual(container.securityContext.capabilities.drop, ['ALL'], deployment);
        assert.ok(container.resources.requests.cpu && container.resources.limits.memory, deployment);
      }
      assert.ok(spec.volumes.some((v: { name: string; emptyDir?: object }) => v.name === 'tmp' && v.emptyDir), `${deployment}: a writable /tmp`);
    }
  }
});

test('secrets only by reference: no Secret object, no credential in the ConfigMap or in a plain env value', async () => {
  const { objects } = await render('production-secrets', PRODUCTION);
  assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
  const config = objects.find((o) => o.kind === 'ConfigMap')!.data!;
  for (const name of ['MAILGATE_SIGNING_KEY', 'INGRESS_SECRETS', 'ADMIN_TOKEN', 'S3_SECRET_ACCESS_KEY', 'DATABASE_URL', 'TEMPORAL_API_KEY', 'SMTP_PASSWORD']) {
    assert.equal(config[name], undefined, `${name} is not in the ConfigMap`);
  }
  for (const { name, spec } of pods(objects)) {
    for (const env of spec.containers[0].env as { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[]) {
      if (env.value !== undefined) assert.match(env.name, /^WORKER_(DEPLOYMENT_NAME|BUILD_ID|VERSIONING_DEFAULT)$/, `${name}: ${env.name} is a plain value`);
      else assert.ok(env.valueFrom?.secretKeyRef?.name, `${name}: ${env.name} comes from a Secret`);
    }
  }
  const mx = pods(objects).find((p) => p.name.endsWith('-mx'))!;
  assert.ok(mx.spec.containers[0].env.some((e: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }) => e.name === 'SMTP_INGRESS_AUTH_PASSWORD' && e.valueFrom?.secretKeyRef?.name === 'mx-auth'));
  assert.equal(config.TEMPORAL_API_KEY_FILE, '/etc/mailgate/temporal-api-key/api-key');
  assert.equal(config.TEMPORAL_TLS_CERT_FILE, '/etc/mailgate/temporal-tls/tls.crt');
  assert.equal(config.TEMPORAL_TLS_CA_FILE, '/etc/mailgate/temporal-tls/ca.crt');
});

test("the defaults' ConfigMap, with the Secret's variables and a worker's, is a configuration src/config.ts accepts", async () => {
  const { objects } = await render('defaults-config', {});
  const data = objects.find((o) => o.kind === 'ConfigMap')!.data!;
  const worker = pods(objects).find((p) => p.name.includes('-worker'))!;
  const plain = Object.fromEntries((worker.spec.containers[0].env as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const secrets = {
    MAILGATE_SIGNING_KEY: 'k'.repeat(32), INGRESS_SECRETS: 'i'.repeat(32), ADMIN_TOKEN: 'a'.repeat(32),
    S3_ACCESS_KEY_ID: 'id', S3_SECRET_ACCESS_KEY: 's'.repeat(32), DATABASE_URL: 'postgres://mailgate:pw@postgres:5432/mailgate',
  };
  const config = loadConfig({ ...data, ...plain, ...secrets, MAILGATE_RULES_FILE: path.join(ROOT, 'config/rules.json') });
  assert.equal(config.api.host, '0.0.0.0');
  assert.equal(config.workerMetrics.host, '0.0.0.0');
  assert.equal(config.smtpIngress.host, '0.0.0.0');
  assert.deepEqual(config.workerVersioning, { deploymentName: 'mailgate', buildId: '0.1.0', defaultBehavior: 'pinned' });
  // The API and the MX get no build id: the variables the ConfigMap holds alone must load too.
  assert.equal(loadConfig({ ...data, ...secrets, MAILGATE_RULES_FILE: path.join(ROOT, 'config/rules.json') }).workerVersioning, undefined);
});

test('probes hit the endpoints each process serves, on the ports it listens on', async () => {
  const { objects } = await render('defaults-probes', {});
  const data = objects.find((o) => o.kind === 'ConfigMap')!.data!;
  const byRole = Object.fromEntries(pods(objects).map((p) => [p.name.replace(/^mailgate-/, '').replace(/-[0-9a-z-]+$/, (m) => (p.name.includes('-worker-') ? '' : m)), p.spec.containers[0]]));
  const port = (container: { ports: { name: string; containerPort: number }[] }, name: string) => container.ports.find((p) => p.name === name)?.containerPort;
  const api = byRole.api;
  assert.equal(port(api, 'http'), Number(data.API_PORT));
  assert.equal(api.readinessProbe.httpGet.path, '/readyz');
  assert.equal(api.livenessProbe.httpGet.path, '/healthz');
  const worker = byRole.worker;
  assert.equal(port(worker, 'metrics'), Number(data.WORKER_METRICS_PORT));
  assert.equal(worker.readinessProbe.httpGet.path, '/healthz');
  assert.equal(worker.livenessProbe.httpGet.path, '/metrics', 'a Temporal outage does not restart the workers');
  const mx = byRole.mx;
  assert.equal(port(mx, 'smtp'), Number(data.SMTP_INGRESS_PORT));
  assert.equal(port(mx, 'metrics'), Number(data.SMTP_INGRESS_METRICS_PORT));
  assert.equal(mx.readinessProbe.httpGet.path, '/metrics');
  assert.deepEqual(api.command, ['node', 'dist/src/api/server.js']);
  assert.deepEqual(worker.command, ['node', 'dist/src/worker.js']);
  assert.deepEqual(mx.command, ['node', 'dist/src/smtp.js']);
});

test('each worker build runs as its own Deployment; the autoscaler follows the current build only', async () => {
  const { objects } = await render('production-builds', PRODUCTION);
  const workers = objects.filter((o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'worker');
  assert.deepEqual(workers.map((w) => w.metadata.name).sort(), ['mailgate-worker-1-4-0', 'mailgate-worker-1-5-0']);
  const env = (w: Obj) => Object.fromEntries((w.spec.template.spec.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
  const current = workers.find((w) => w.metadata.name.endsWith('1-5-0'))!;
  const draining = workers.find((w) => w.metadata.name.endsWith('1-4-0'))!;
  assert.equal(env(current).WORKER_BUILD_ID, '1.5.0');
  assert.equal(env(draining).WORKER_BUILD_ID, '1.4.0');
  assert.equal(current.spec.template.spec.containers[0].image, 'registry.example.com/mailgate:1.5.0');
  assert.equal(draining.spec.template.spec.containers[0].image, 'registry.example.com/mailgate:1.4.0');
  assert.equal(current.spec.replicas, undefined, 'KEDA owns the current build\'s replicas');
  assert.equal(draining.spec.replicas, 1);
  const scaled = objects.find((o) => o.kind === 'ScaledObject')!;
  assert.equal(scaled.spec.scaleTargetRef.name, 'mailgate-worker-1-5-0');
  const trigger = scaled.spec.triggers[0];
  assert.equal(trigger.type, 'temporal');
  assert.deepEqual(
    { ...trigger.metadata },
    {
      endpoint: 'mailgate.a1b2c.tmprl.cloud:7233', namespace: 'mailgate.a1b2c', taskQueue: 'mailgate', queueTypes: 'workflow,activity',
      targetQueueSize: '20', activationTargetQueueSize: '0', workerDeploymentName: 'mailgate', workerDeploymentBuildId: '1.5.0',
    },
  );
  const auth = objects.find((o) => o.kind === 'TriggerAuthentication')!;
  assert.deepEqual(auth.spec.secretTargetRef.map((r: { parameter: string }) => r.parameter).sort(), ['apiKey', 'ca', 'cert', 'key']);
  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'mailgate-worker')!;
  assert.deepEqual(pdb.spec.selector.matchLabels['app.kubernetes.io/component'], 'worker');
});

test('with the network policy on, the workers take traffic only from the API and the monitoring namespace', async () => {
  const { objects } = await render('production-network', PRODUCTION);
  const worker = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'mailgate-worker')!;
  assert.equal(worker.spec.podSelector.matchLabels['app.kubernetes.io/component'], 'worker');
  assert.deepEqual(worker.spec.ingress, [
    {
      from: [
        { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'mailgate', 'app.kubernetes.io/instance': 'mailgate', 'app.kubernetes.io/component': 'api' } } },
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      ],
      ports: [{ port: 'metrics' }, { port: 'sdk-metrics' }],
    },
  ]);
  const mx = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'mailgate-mx')!;
  assert.deepEqual(mx.spec.ingress[0], { ports: [{ port: 'smtp' }] }, 'SMTP from anywhere');
  assert.deepEqual(mx.spec.ingress[1].ports, [{ port: 'metrics' }]);
  assert.equal((await render('defaults-network', {})).objects.filter((o) => o.kind === 'NetworkPolicy').length, 0, 'off by default');
  for (const { name, spec } of pods(objects)) {
    assert.equal(spec.topologySpreadConstraints?.[0]?.topologyKey, 'kubernetes.io/hostname', `${name} spreads across nodes`);
  }
});

test('values that would break a deployment or leak a secret are refused with a reason', async () => {
  assert.match(await refusal({ extraConfig: { ADMIN_TOKEN: 'letmein-letmein-letmein' } }), /invalid propertyName 'ADMIN_TOKEN'/);
  assert.match(await refusal({ extraConfig: { 'lower-case': 'x' } }), /invalid propertyName 'lower-case'/);
  assert.match(await refusal({ temporal: { apiKey: { existingSecret: 'key' } } }), /only sent over TLS/);
  assert.match(await refusal({ worker: { versioning: { buildId: 'has space' } } }), /buildId/);
  assert.match(await refusal({ worker: { versioning: { deploymentName: 'mail.gate' } } }), /deploymentName/);
  assert.match(await refusal({ worker: { versioning: { enabled: false, draining: [{ buildId: 'a', imageTag: 'a' }] } } }), /needs worker.versioning.enabled/);
  assert.match(await refusal({ image: { tag: '1.5.0' }, worker: { versioning: { draining: [{ buildId: '1.5.0', imageTag: '1.5.0' }] } } }), /the current build/);
  assert.match(await refusal({ image: { tag: '1.5.0' }, worker: { versioning: { draining: [{ buildId: '1_5_0', imageTag: '1.5.0-old' }] } } }), /share the Deployment name suffix 1-5-0/);
  assert.match(await refusal({ mx: { auth: { user: 'relay', existingSecret: 'x' } } }), /STARTTLS/);
  assert.match(await refusal({ mx: { port: 25 } }), /port/);
  assert.match(await refusal({ secrets: { keys: { DATABASE_URL: null } } }), /DATABASE_URL/);
  assert.match(await refusal({ unknownSetting: true }), /unknownSetting|additional/i);
});

test('the committed plain manifests equal a fresh render of the chart', async () => {
  const { stderr } = await run(path.join(ROOT, 'scripts/render-manifests'), ['--check']);
  assert.match(stderr, /matches the chart/);
});
