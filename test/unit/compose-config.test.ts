/**
 * docker-compose.yml, checked through `docker-compose config`: the file is valid, and the stack it
 * describes is Mailgate's (services, the addresses and credentials the app gets, what is published).
 * `docker-compose` must be installed; without it these tests fail, they never skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

// --- running docker-compose --------------------------------------------------------------------------

/**
 * An env file with the required secrets only (what deploy/compose.env.example leaves to fill in), so
 * a developer's git-ignored .env does not change what the tests see.
 */
const scratch = mkdtempSync(path.join(tmpdir(), 'mailgate-compose-test-'));
const SECRETS: Readonly<Record<string, string>> = {
  INGRESS_SECRETS: 'compose-test-ingress-secret',
  ADMIN_TOKEN: 'compose-test-admin-token',
  MAILGATE_SIGNING_KEY: 'compose-test-signing-key',
  S3_SECRET_ACCESS_KEY: 'compose-test-s3-secret',
  PG_PASSWORD: 'compose-test-pg-password',
};
const SECRETS_ENV_FILE = path.join(scratch, 'secrets.env');
writeFileSync(SECRETS_ENV_FILE, Object.entries(SECRETS).map(([k, v]) => `${k}=${v}\n`).join(''));
const EMPTY_ENV_FILE = path.join(scratch, 'empty.env');
writeFileSync(EMPTY_ENV_FILE, '');
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

interface ComposeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `docker-compose --env-file <secrets> -f docker-compose.yml ARGS` from the repository root with
 * only PATH and `env` in its environment. A missing binary is an error that says what to install.
 */
function dockerCompose(args: string[], env: Record<string, string> = {}, envFile = SECRETS_ENV_FILE): Promise<ComposeRun> {
  const argv = ['--env-file', envFile, '-f', COMPOSE_FILE, ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'docker-compose',
      argv,
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000, maxBuffer: 8 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error?.code === 'ENOENT') {
          reject(
            new Error(
              'docker-compose is not installed (not found on PATH): the compose file cannot be validated. ' +
                'Install it (Debian: apt-get install docker-compose) and run the tests again.',
            ),
          );
          return;
        }
        if (error?.killed === true) {
          reject(new Error(`docker-compose ${args.join(' ')} did not finish within 60 s\n${stderr}`));
          return;
        }
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The resolved configuration, as docker-compose prints it, parsed. */
async function resolvedConfig(env: Record<string, string> = {}): Promise<YamlMap> {
  const run = await dockerCompose(['config'], env);
  assert.equal(run.code, 0, `docker-compose config failed:\n${run.stderr}`);
  return asMap(parseYaml(run.stdout), 'the configuration');
}

// --- the block YAML that `docker-compose config` prints ---------------------------------------------

type Yaml = string | null | Yaml[] | YamlMap;
interface YamlMap {
  [key: string]: Yaml;
}

interface Line {
  indent: number;
  text: string;
  number: number;
  /** Blank lines just before this one: inside a folded scalar, each stands for a line break. */
  blanksBefore: number;
}

/** YAML's one-character escapes in double-quoted scalars; any other escaped character is itself. */
const YAML_ESCAPES: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029',
};

/**
 * A small parser for the block-style YAML that `docker-compose config` emits (PyYAML's output for
 * 1.x, go-yaml's for 2.x): nested mappings, sequences (indented or not), plain, single- and
 * double-quoted scalars, folded over several lines. Every scalar stays a string; anything else
 * (anchors, tags, block scalars, flow collections other than {} and []) is refused with an error.
 */
function parseYaml(source: string): Yaml {
  const lines: Line[] = [];
  let blanks = 0;
  source.split('\n').forEach((raw, index) => {
    const text = raw.trimEnd();
    if (text === '') blanks++;
    else if (!text.trimStart().startsWith('#')) {
      const indent = text.length - text.trimStart().length;
      lines.push({ indent, text: text.trimStart(), number: index + 1, blanksBefore: blanks });
      blanks = 0;
    }
  });
  let pos = 0;

  const fail = (message: string): never => {
    const near = lines[Math.max(pos - 1, 0)]?.number ?? 0;
    throw new Error(`cannot parse docker-compose output near line ${near}: ${message}`);
  };
  const isItem = (line: Line): boolean => line.text === '-' || line.text.startsWith('- ');
  /** `key:` or `key: value`, the key plain or quoted; null for anything else. */
  const keyValue = (text: string): { key: string; rest: string } | null => {
    const quotedOrPlainKey = /('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s'"#\-?:,[\]{}][^:]*?|-[^\s:][^:]*?)/.source;
    const match = text.match(new RegExp(`^${quotedOrPlainKey}:(?:\\s+(.*))?$`));
    if (match === null) return null;
    const raw = match[1] ?? '';
    return { key: /^['"]/.test(raw) ? unquote(raw) : raw, rest: match[2] ?? '' };
  };

  function unquote(text: string): string {
    if (text.startsWith("'")) {
      if (!/^'(?:[^']|'')*'$/.test(text)) fail(`unterminated single-quoted scalar ${text}`);
      return text.slice(1, -1).replace(/''/g, "'");
    }
    if (!/^"(?:[^"\\]|\\.)*"$/.test(text)) fail(`unterminated double-quoted scalar ${text}`);
    return text
      .slice(1, -1)
      .replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_, esc: string) =>
        esc.length > 1 ? String.fromCodePoint(parseInt(esc.slice(1), 16)) : (YAML_ESCAPES[esc] ?? esc),
      );
  }

  /** A scalar starting with `first`; the lines indented deeper than `indent` continue it. */
  function scalar(first: string, indent: number): Yaml {
    let text = first;
    for (let next = lines[pos]; next !== undefined && next.indent > indent; next = lines[++pos]) {
      if (next.blanksBefore > 0) text += '\n'.repeat(next.blanksBefore) + next.text;
      // In a double-quoted scalar a line ending in an escaping backslash continues without a space.
      else if (/^"/.test(text) && /(^|[^\\])(\\\\)*\\$/.test(text)) text = text.slice(0, -1) + next.text;
      else text += ` ${next.text}`;
    }
    if (/^['"]/.test(text)) return unquote(text);
    if (text === '{}') return {};
    if (text === '[]') return [];
    if (text === 'null' || text === '~') return null;
    if (/^[&*!|>[{%@`]/.test(text)) fail(`unsupported YAML: ${text}`);
    return text;
  }

  /** The value of a `key:` with nothing after it: a deeper block, a same-indent list, or null. */
  function valueBelow(indent: number): Yaml {
    const next = lines[pos];
    if (next === undefined) return null;
    if (next.indent > indent) return block(next.indent);
    if (next.indent === indent && isItem(next)) return sequence(indent);
    return null;
  }

  /** A mapping whose keys sit at `indent`; `first` is its first line's text when already consumed. */
  function mapping(indent: number, first?: string): YamlMap {
    const map: YamlMap = {};
    let text = first;
    for (;;) {
      if (text === undefined) {
        const line = lines[pos];
        if (line === undefined || line.indent !== indent || isItem(line)) break;
        text = line.text;
        pos++;
      }
      const entry = keyValue(text) ?? fail(`expected "key: value", got ${text}`);
      map[entry.key] = entry.rest === '' ? valueBelow(indent) : scalar(entry.rest, indent);
      text = undefined;
    }
    return map;
  }

  function sequence(indent: number): Yaml[] {
    const items: Yaml[] = [];
    for (;;) {
      const line = lines[pos];
      if (line === undefined || line.indent !== indent || !isItem(line)) break;
      pos++;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') items.push(valueBelow(indent));
      // "- key: value": a mapping whose keys line up with the first one, after the dash.
      else if (keyValue(rest) !== null) items.push(mapping(indent + line.text.length - rest.length, rest));
      else items.push(scalar(rest, indent));
    }
    return items;
  }

  function block(indent: number): Yaml {
    const line = lines[pos];
    if (line === undefined) return null;
    return isItem(line) ? sequence(indent) : mapping(indent);
  }

  const result = block(0);
  if (pos < lines.length) fail(`unexpected content: ${lines[pos]?.text ?? ''}`);
  return result;
}

// --- reading the parsed configuration ----------------------------------------------------------------

function asMap(value: Yaml | undefined, what: string): YamlMap {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), `${what} is not a mapping`);
  return value;
}

function asList(value: Yaml | undefined, what: string): Yaml[] {
  assert.ok(Array.isArray(value), `${what} is not a list`);
  return value;
}

function asString(value: Yaml | undefined, what: string): string {
  assert.ok(typeof value === 'string', `${what} is not a string`);
  return value;
}

function service(config: YamlMap, name: string): YamlMap {
  return asMap(asMap(config.services, 'services')[name], `service ${name}`);
}

/** A service's environment as name -> value (compose prints a mapping; a list is accepted too). */
function environment(config: YamlMap, name: string): Record<string, string> {
  const raw = service(config, name).environment;
  const env: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      const text = asString(entry, `an environment entry of ${name}`);
      const eq = text.indexOf('=');
      env[eq < 0 ? text : text.slice(0, eq)] = eq < 0 ? '' : text.slice(eq + 1);
    }
  } else {
    for (const [key, value] of Object.entries(asMap(raw, `environment of ${name}`))) {
      env[key] = value === null ? '' : asString(value, `${name}.${key}`);
    }
  }
  return env;
}

interface Published {
  hostIp: string;
  hostPort: string;
  target: string;
}

/** A service's published ports, from the short form (1.x) or the long form (2.x). */
function publishedPorts(config: YamlMap, name: string): Published[] {
  const raw = service(config, name).ports;
  if (raw === undefined || raw === null) return [];
  return asList(raw, `ports of ${name}`).map((entry): Published => {
    if (typeof entry === 'string') {
      const spec = entry.replace(/\/(tcp|udp)$/, '');
      const parts = spec.split(':');
      const target = parts.pop() ?? '';
      const hostPort = parts.pop() ?? '';
      return { hostIp: parts.join(':'), hostPort, target };
    }
    const port = asMap(entry, `a port of ${name}`);
    return {
      hostIp: typeof port.host_ip === 'string' ? port.host_ip : '',
      hostPort: typeof port.published === 'string' ? port.published : '',
      target: asString(port.target, `target port of ${name}`),
    };
  });
}

/** depends_on as service -> condition. */
function dependsOn(config: YamlMap, name: string): Record<string, string> {
  const raw = service(config, name).depends_on;
  const conditions: Record<string, string> = {};
  for (const [dependency, spec] of Object.entries(asMap(raw, `depends_on of ${name}`))) {
    conditions[dependency] = asString(asMap(spec, `${name} -> ${dependency}`).condition, `condition of ${dependency}`);
  }
  return conditions;
}

/** Bind-mount sources (absolute paths on the host) of a service. */
function bindSources(config: YamlMap, name: string): string[] {
  const raw = service(config, name).volumes;
  if (raw === undefined || raw === null) return [];
  return asList(raw, `volumes of ${name}`).flatMap((entry): string[] => {
    if (typeof entry === 'string') {
      const source = entry.split(':')[0] ?? '';
      return path.isAbsolute(source) ? [source] : [];
    }
    const volume = asMap(entry, `a volume of ${name}`);
    return volume.type === 'bind' ? [asString(volume.source, `bind source of ${name}`)] : [];
  });
}

const APP_SERVICES = ['worker', 'api'] as const;
/** Variables the app needs that have no fixed value in the compose file (defaults, overridable). */
const CONFIGURED_VARIABLES = [
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'S3_BUCKET',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'INBOUND_DOMAINS',
  'MAILGATE_RULES_FILE',
  ...Object.keys(SECRETS).filter((name) => name !== 'PG_PASSWORD'),
];

// --- the tests -------------------------------------------------------------------------------------------

test('docker-compose accepts the compose file as valid', async () => {
  const run = await dockerCompose(['config', '-q']);
  assert.equal(run.code, 0, `docker-compose config -q failed:\n${run.stderr}`);
});

test('without the secrets compose refuses to start and names the missing variable', async () => {
  const run = await dockerCompose(['config', '-q'], {}, EMPTY_ENV_FILE);
  assert.notEqual(run.code, 0, 'docker-compose config accepted a stack without secrets');
  assert.match(run.stderr, /set (INGRESS_SECRETS|ADMIN_TOKEN|MAILGATE_SIGNING_KEY|S3_SECRET_ACCESS_KEY|PG_PASSWORD) in the env file \(scripts\/compose-env writes one\)/);
  for (const missing of Object.keys(SECRETS)) {
    const others = Object.fromEntries(Object.entries(SECRETS).filter(([name]) => name !== missing));
    const alone = await dockerCompose(['config', '-q'], others, EMPTY_ENV_FILE);
    assert.notEqual(alone.code, 0, `compose started without ${missing}`);
    assert.match(alone.stderr, new RegExp(`set ${missing} in the env file`), missing);
  }
});

test('the app gets the secrets from the env file, and the shell wins over the file', async () => {
  for (const name of APP_SERVICES) {
    const env = environment(await resolvedConfig(), name);
    for (const secret of ['INGRESS_SECRETS', 'ADMIN_TOKEN', 'MAILGATE_SIGNING_KEY', 'S3_SECRET_ACCESS_KEY']) assert.equal(env[secret], SECRETS[secret], `${name} ${secret}`);
    assert.match(env.DATABASE_URL ?? '', new RegExp(`:${SECRETS.PG_PASSWORD}@postgres:5432/`));
  }
  const shell = environment(await resolvedConfig({ ADMIN_TOKEN: 'admin-token-from-the-shell' }), 'api');
  assert.equal(shell.ADMIN_TOKEN, 'admin-token-from-the-shell');
});

test('the stack runs Temporal, object storage, ClamAV, PostgreSQL, MailDev, the worker and the API', async () => {
  const config = await resolvedConfig();
  const names = Object.keys(asMap(config.services, 'services'));
  for (const name of ['temporal', 'seaweedfs', 'seaweedfs-bucket', 'clamav', 'postgres', 'maildev', 'worker', 'api']) {
    assert.ok(names.includes(name), `service ${name} is missing (services: ${names.join(', ')})`);
  }
  assert.deepEqual(service(config, 'worker').command, ['node', 'dist/src/worker.js']);
  assert.deepEqual(service(config, 'api').command, ['node', 'dist/src/api/server.js']);
  for (const name of APP_SERVICES) assert.ok(service(config, name).build, `${name} is not built from the Dockerfile`);
});

test('the worker and the API reach every service by its compose service name', async () => {
  const config = await resolvedConfig();
  for (const name of APP_SERVICES) {
    const env = environment(config, name);
    assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233', name);
    assert.equal(env.S3_ENDPOINT, 'http://seaweedfs:8333', name);
    assert.equal(env.S3_FORCE_PATH_STYLE, 'true', name);
    assert.equal(env.CLAMD_HOST, 'clamav', name);
    assert.equal(env.CLAMD_PORT, '3310', name);
    assert.match(env.DATABASE_URL ?? '', /^postgres:\/\/[^@]+@postgres:5432\/[^/]+$/, name);
    assert.equal(env.SMTP_HOST, 'maildev', name);
    assert.equal(env.SMTP_PORT, '1025', name);
    assert.equal(env.API_HOST, '0.0.0.0', name);
    assert.equal(env.API_PORT, '3000', name);
    for (const required of CONFIGURED_VARIABLES) {
      assert.ok(env[required], `${name} has no ${required}`);
    }
  }
});

test('a native-stack address in the environment does not leak into the containers', async () => {
  const config = await resolvedConfig({
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    S3_ENDPOINT: 'http://127.0.0.1:8333',
    CLAMD_HOST: '127.0.0.1',
    DATABASE_URL: 'sqlite:.data/default/mailgate.sqlite',
    SMTP_HOST: '127.0.0.1',
    API_HOST: '127.0.0.1',
  });
  const env = environment(config, 'worker');
  assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
  assert.equal(env.S3_ENDPOINT, 'http://seaweedfs:8333');
  assert.equal(env.CLAMD_HOST, 'clamav');
  assert.match(env.DATABASE_URL ?? '', /@postgres:5432\//);
  assert.equal(env.SMTP_HOST, 'maildev');
  assert.equal(env.API_HOST, '0.0.0.0');
});

test('the object store, PostgreSQL and the app share the credentials given in the environment', async () => {
  const config = await resolvedConfig({
    S3_ACCESS_KEY_ID: 'key-from-env',
    S3_SECRET_ACCESS_KEY: 'secret-from-env',
    S3_BUCKET: 'bucket-from-env',
    PG_USER: 'user_from_env',
    PG_PASSWORD: 'password-from-env',
    PG_DATABASE: 'db_from_env',
  });
  for (const name of ['seaweedfs', 'seaweedfs-bucket', ...APP_SERVICES]) {
    const env = environment(config, name);
    assert.equal(env.S3_ACCESS_KEY_ID, 'key-from-env', name);
    assert.equal(env.S3_SECRET_ACCESS_KEY, 'secret-from-env', name);
  }
  assert.equal(environment(config, 'seaweedfs-bucket').S3_BUCKET, 'bucket-from-env');
  const postgres = environment(config, 'postgres');
  assert.deepEqual(
    [postgres.POSTGRES_USER, postgres.POSTGRES_PASSWORD, postgres.POSTGRES_DB],
    ['user_from_env', 'password-from-env', 'db_from_env'],
  );
  for (const name of APP_SERVICES) {
    const env = environment(config, name);
    assert.equal(env.DATABASE_URL, 'postgres://user_from_env:password-from-env@postgres:5432/db_from_env', name);
    assert.equal(env.S3_BUCKET, 'bucket-from-env', name);
  }
});

test('the API is published on 127.0.0.1:3000 and no port is published beyond the loopback interface', async () => {
  const config = await resolvedConfig();
  const api = publishedPorts(config, 'api');
  assert.deepEqual(api, [{ hostIp: '127.0.0.1', hostPort: '3000', target: '3000' }]);
  for (const name of Object.keys(asMap(config.services, 'services'))) {
    for (const port of publishedPorts(config, name)) {
      const where = port.hostIp || 'all interfaces';
      assert.equal(port.hostIp, '127.0.0.1', `${name} publishes container port ${port.target} on ${where}`);
    }
  }
});

test('the worker and the API start only once their dependencies are healthy and the bucket exists', async () => {
  const config = await resolvedConfig();
  assert.deepEqual(dependsOn(config, 'worker'), {
    temporal: 'service_healthy',
    'seaweedfs-bucket': 'service_completed_successfully',
    clamav: 'service_healthy',
    postgres: 'service_healthy',
    maildev: 'service_healthy',
  });
  assert.deepEqual(dependsOn(config, 'api'), {
    temporal: 'service_healthy',
    'seaweedfs-bucket': 'service_completed_successfully',
    clamav: 'service_healthy',
    postgres: 'service_healthy',
  });
  assert.deepEqual(dependsOn(config, 'seaweedfs-bucket'), { seaweedfs: 'service_healthy' });
  for (const name of ['temporal', 'seaweedfs', 'clamav', 'postgres', 'maildev', 'api', 'worker']) {
    const healthcheck = asMap(service(config, name).healthcheck, `healthcheck of ${name}`);
    assert.ok(asList(healthcheck.test, `healthcheck test of ${name}`).length > 0, `${name} has an empty healthcheck`);
  }
});

test("Temporal registers Mailgate's search attributes as Keyword and keeps its database on a volume", async () => {
  const config = await resolvedConfig();
  const temporal = service(config, 'temporal');
  const command = asList(temporal.command, 'temporal command').map((arg) => asString(arg, 'argument'));
  for (const attribute of ['EmailStatus', 'RecipientQueue', 'TicketId', 'EmailClass']) {
    const flag = `--search-attribute=${attribute}=Keyword`;
    assert.ok(command.includes(flag), `${attribute} is not registered: ${command.join(' ')}`);
  }
  assert.ok(command.includes('--ip=0.0.0.0'), 'the Temporal dev server does not listen beyond the container');
  assert.ok(command.includes('--db-filename=/data/temporal.db'), 'the Temporal database is not on /data');
  const volumes = asList(temporal.volumes, 'temporal volumes').map((volume): string => {
    if (typeof volume === 'string') return volume.split(':').slice(0, 2).join(':');
    const long = asMap(volume, 'a temporal volume');
    return `${asString(long.source, 'volume source')}:${asString(long.target, 'volume target')}`;
  });
  assert.ok(volumes.includes('temporal-data:/data'), `no named volume on /data: ${volumes.join(', ')}`);
});

test('every file the compose file mounts exists under config/docker/', async () => {
  const config = await resolvedConfig();
  const dockerConfig = path.join(ROOT, 'config', 'docker') + path.sep;
  let mounted = 0;
  for (const name of Object.keys(asMap(config.services, 'services'))) {
    for (const source of bindSources(config, name)) {
      mounted++;
      assert.ok(source.startsWith(dockerConfig), `${name} mounts ${source}, outside config/docker/`);
      assert.ok(existsSync(source), `${name} mounts ${source}, which does not exist`);
    }
  }
  assert.ok(mounted > 0, 'no bind mount found: the S3 entry point and the bucket job are mounted from config/docker/');
});

/** A clamd.conf as directive → value, comments and blank lines dropped. */
function clamdDirectives(file: string): Map<string, string> {
  const directives = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z]+)\s+(.*?)\s*$/.exec(line);
    if (match && !line.trimStart().startsWith('#')) directives.set(match[1]!, match[2]!);
  }
  return directives;
}

test("the clamav service runs with the native stack's scan settings, limits and early-stop alerts", async () => {
  const config = await resolvedConfig();
  const mounted = bindSources(config, 'clamav');
  const conf = path.join(ROOT, 'config', 'docker', 'clamd.conf');
  assert.ok(mounted.includes(conf), `clamav mounts ${mounted.join(', ')}, not config/docker/clamd.conf`);
  const docker = clamdDirectives(conf);
  const native = clamdDirectives(path.join(ROOT, 'config', 'clamav', 'clamd.conf.in'));
  // Sockets, paths and the offline-only choices differ by design; everything that decides a verdict does not.
  const local = new Set(['TCPSocket', 'TCPAddr', 'PidFile', 'LogFile', 'LogClean', 'DatabaseDirectory', 'TemporaryDirectory', 'Foreground', 'Bytecode', 'OfficialDatabaseOnly', 'SelfCheck']);
  for (const [name, value] of native) {
    if (!local.has(name)) assert.equal(docker.get(name), value, `${name} differs from config/clamav/clamd.conf.in`);
  }
  for (const alert of ['AlertExceedsMax', 'AlertEncrypted', 'AlertBrokenExecutables']) assert.equal(docker.get(alert), 'yes', alert);
  assert.equal(docker.get('TCPSocket'), '3310', 'the worker reaches clamav:3310');
});

test('the object store serves objects through the S3 API only: master and filer HTTP are off and only the S3 port is published', async () => {
  const config = await resolvedConfig();
  const command = asList(service(config, 'seaweedfs').command, 'seaweedfs command').map((c) => asString(c, 'argument'));
  assert.ok(command.includes('-disableHttp'), `the master HTTP API is on: ${command.join(' ')}`);
  assert.ok(command.includes('-filer.disableHttp'), `the filer HTTP API is on: ${command.join(' ')}`);
  assert.deepEqual(publishedPorts(config, 'seaweedfs').map((p) => p.target), ['8333']);
});
