/**
 * The compose renderer of test/helpers/compose.ts (the test that runs the app with the environment
 * docker-compose.yml gives it relies on it) computes what Compose computes: interpolation rules
 * one by one, env files, and the worker's and API's environment compared with `docker-compose
 * config` itself. And that environment is complete: every variable Mailgate's configuration reads
 * is set for both, and it loads.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { durationMs, interpolate, InterpolationError, loadCompose, readEnvFile, serviceEnvironment } from '../helpers/compose';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const scratch = mkdtempSync(path.join(tmpdir(), 'mailgate-compose-render-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function envFile(name: string, text: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, text);
  return file;
}

const SECRETS_FILE = envFile(
  'secrets.env',
  [
    '# the secrets deploy/compose.env.example leaves empty',
    'INGRESS_SECRETS=render-test-ingress-secret',
    'ADMIN_TOKEN=render-test-admin-token',
    'MAILGATE_SIGNING_KEY=render-test-signing-key',
    'S3_SECRET_ACCESS_KEY=render-test-s3-secret',
    'PG_PASSWORD=render-test-pg-password',
    'ACK_FROM=Help Desk <help@example.test>',
    '',
  ].join('\n'),
);

test('interpolation follows Compose: unset, empty, defaults, required values, alternatives and $$', () => {
  const vars = { SET: 'v', EMPTY: '' };
  const cases: [string, string][] = [
    ['${SET}', 'v'],
    ['$SET/x', 'v/x'],
    ['${UNSET}', ''],
    ['${UNSET:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${UNSET-d}', 'd'],
    ['${SET:-d}', 'v'],
    ['${SET:+alt}', 'alt'],
    ['${EMPTY:+alt}', ''],
    ['${EMPTY+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['$${SET} costs $$5', '${SET} costs $5'],
    ['postgres://${U:-mailgate}:${SET}@postgres:5432/${DB:-mailgate}', 'postgres://mailgate:v@postgres:5432/mailgate'],
    ['${UNSET:-${SET}}', 'v'],
  ];
  for (const [text, expected] of cases) assert.equal(interpolate(text, vars), expected, text);
  assert.throws(() => interpolate('${UNSET:?set it}', vars), (e: InterpolationError) => e.variable === 'UNSET' && /set it/.test(e.message));
  assert.throws(() => interpolate('${EMPTY:?set it}', vars), /EMPTY/);
  assert.equal(interpolate('${EMPTY?set it}', vars), '');
  assert.throws(() => interpolate('${UNSET?set it}', vars), /UNSET/);
  assert.throws(() => interpolate('a $ b', vars), /lone "\$"/);
});

test('an env file: comments and blank lines skipped, quotes removed, inline comments after unquoted values dropped', () => {
  const file = envFile('format.env', ["# comment", '', 'A=plain value', "B='single $x'", 'C="double \\"q\\""', 'export D=exported', 'E=with # comment', 'F='].join('\n'));
  assert.deepEqual(readEnvFile(file), { A: 'plain value', B: 'single $x', C: 'double "q"', D: 'exported', E: 'with', F: '' });
});

test("a service's env_file comes first and its environment wins; a bare name takes the shell's value", () => {
  const extra = envFile('service.env', 'FROM_FILE=file\nBOTH=file\n');
  const compose = envFile(
    'compose.yml',
    ['services:', '  app:', '    image: x', `    env_file: [${JSON.stringify(path.basename(extra))}]`, '    environment:', '      - BOTH=environment', '      - PASSED', '      - NOT_IN_SHELL', ''].join('\n'),
  );
  const env = serviceEnvironment(loadCompose(compose, { shell: { PASSED: 'shell' } }), 'app');
  assert.deepEqual(env, { FROM_FILE: 'file', BOTH: 'environment', PASSED: 'shell' });
});

test('durations read as Compose writes them', () => {
  assert.equal(durationMs('5s'), 5000);
  assert.equal(durationMs('1m30s'), 90_000);
  assert.equal(durationMs('10m'), 600_000);
  assert.throws(() => durationMs('ten'), /not a duration/);
});

function dockerComposeConfig(env: Record<string, string>): Promise<Record<string, { environment?: Record<string, string | null> }>> {
  return new Promise((resolve, reject) => {
    execFile(
      'docker-compose',
      ['--env-file', SECRETS_FILE, '-f', COMPOSE_FILE, 'config'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`docker-compose config failed (installed? Debian: apt-get install docker-compose):\n${stderr}`, { cause: error }));
        else resolve((parse(stdout) as { services: Record<string, { environment?: Record<string, string | null> }> }).services);
      },
    );
  });
}

test("the worker's and the API's environment is exactly what docker-compose config renders", async () => {
  const shells: Record<string, string>[] = [{}, { ADMIN_TOKEN: 'admin-token-from-the-shell', PG_USER: 'someone', INBOUND_DOMAINS: 'a.example,b.example' }];
  for (const shell of shells) {
    const reference = await dockerComposeConfig(shell);
    const project = loadCompose(COMPOSE_FILE, { envFile: SECRETS_FILE, shell });
    for (const name of ['worker', 'api']) {
      const expected = Object.fromEntries(Object.entries(reference[name]?.environment ?? {}).map(([k, v]) => [k, v ?? '']));
      assert.ok(Object.keys(expected).length > 50, `docker-compose rendered ${name}'s environment`);
      assert.deepEqual(serviceEnvironment(project, name), expected, `${name} with ${JSON.stringify(shell)}`);
    }
  }
});

test('a missing secret stops the rendering as it stops Compose, naming the variable', () => {
  const file = envFile('no-admin.env', 'INGRESS_SECRETS=x\nMAILGATE_SIGNING_KEY=x\nS3_SECRET_ACCESS_KEY=x\nPG_PASSWORD=x\n');
  assert.throws(() => loadCompose(COMPOSE_FILE, { envFile: file }), (e: InterpolationError) => e.variable === 'ADMIN_TOKEN' && /scripts\/compose-env/.test(e.message));
});

test('every variable Mailgate reads is set for the worker and the API, and the configuration loads from it', () => {
  const project = loadCompose(COMPOSE_FILE, { envFile: SECRETS_FILE });
  for (const name of ['worker', 'api']) {
    const env = serviceEnvironment(project, name);
    const read = new Set<string>();
    const cwd = process.cwd();
    // The image's working directory holds what the repository root does (dist/, config/rules.json).
    process.chdir(ROOT);
    try {
      loadConfig(new Proxy(env, { get: (target, key: string) => (read.add(key), target[key]) }));
    } finally {
      process.chdir(cwd);
    }
    const unset = [...read].filter((variable) => !(variable in env));
    assert.deepEqual(unset, [], `${name}: variables the configuration reads that docker-compose.yml does not pass (an operator could not set them)`);
  }
});

test('deploy/compose.env.example documents every variable docker-compose.yml reads, and scripts/compose-env fills every secret', async () => {
  const example = readFileSync(path.join(ROOT, 'deploy/compose.env.example'), 'utf8');
  const listed = new Set([...example.matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
  // $${NAME} is an escaped dollar, for the container's shell: not Compose's to interpolate.
  const used = new Set([...readFileSync(COMPOSE_FILE, 'utf8').matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!));
  assert.deepEqual([...used].filter((name) => !listed.has(name)), [], 'variables docker-compose.yml reads that the example does not document');
  const file = path.join(scratch, 'generated.env');
  const generated = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(path.join(ROOT, 'scripts/compose-env'), [file], { env: { PATH: process.env.PATH ?? '' } }, (error, _stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stderr }),
    );
  });
  assert.equal(generated.code, 0, generated.stderr);
  const env = readEnvFile(file);
  for (const secret of ['INGRESS_SECRETS', 'ADMIN_TOKEN', 'MAILGATE_SIGNING_KEY', 'S3_SECRET_ACCESS_KEY', 'PG_PASSWORD']) assert.match(env[secret] ?? '', /^[0-9a-f]{64}$/, secret);
  assert.ok(!generated.stderr.includes(env.ADMIN_TOKEN ?? '-'), 'a secret was printed');
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the env file is readable by its owner only');
  const api = serviceEnvironment(loadCompose(COMPOSE_FILE, { envFile: file }), 'api');
  assert.equal(api.ADMIN_TOKEN, env.ADMIN_TOKEN);
  const again = await new Promise<number>((resolve) => execFile(path.join(ROOT, 'scripts/compose-env'), [file], (error) => resolve(error === null ? 0 : Number(error.code))));
  assert.equal(again, 1, 'an existing env file is never overwritten');
});
