/**
 * What docker-compose.yml gives a service, computed the way Compose computes it, for a machine
 * without a Docker engine: the YAML parsed by a maintained library (`yaml`, anchors and `<<` merge
 * keys included), Compose's variable interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, `$$`) over the
 * shell environment and the `--env-file` (the shell wins), then a service's `env_file` entries
 * and its `environment` (which wins). test/unit/compose-render.test.ts checks the result against
 * `docker-compose config`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export type Env = Record<string, string>;

export class InterpolationError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(message);
    this.name = 'InterpolationError';
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Compose's interpolation of one string. `${VAR:?msg}` and `${VAR?msg}` throw with the variable and
 * the message; an unset `$VAR` or `${VAR}` is empty. The default or alternative may itself hold
 * variables (Compose v2 interpolates it; the compose file here does not rely on that).
 */
export function interpolate(text: string, vars: Env): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, dollar + 2);
      out += substitute(text.slice(dollar + 2, end), vars, text);
      i = end + 1;
      continue;
    }
    const name = NAME.exec(text.slice(dollar + 1))?.[0];
    if (name === undefined) throw new InterpolationError('', `invalid interpolation format in ${JSON.stringify(text)}: a lone "$" (write "$$")`);
    out += vars[name] ?? '';
    i = dollar + 1 + name.length;
  }
  return out;
}

function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '{') depth++;
    else if (text[j] === '}' && --depth === 0) return j;
  }
  throw new InterpolationError('', `invalid interpolation format in ${JSON.stringify(text)}: unclosed "\${"`);
}

function substitute(expression: string, vars: Env, text: string): string {
  const name = NAME.exec(expression)?.[0];
  if (name === undefined) throw new InterpolationError('', `invalid interpolation format in ${JSON.stringify(text)}`);
  const rest = expression.slice(name.length);
  const value = vars[name];
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  if (rest === '') return value ?? '';
  const operator = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (operator === undefined) throw new InterpolationError(name, `invalid interpolation format in ${JSON.stringify(text)}`);
  const argument = (): string => interpolate(rest.slice(operator.length), vars);
  switch (operator) {
    case ':-':
      return nonEmpty ? value : argument();
    case '-':
      return set ? value : argument();
    case ':?':
      if (!nonEmpty) throw new InterpolationError(name, `required variable ${name} is missing a value: ${argument()}`);
      return value;
    case '?':
      if (!set) throw new InterpolationError(name, `required variable ${name} is missing a value: ${argument()}`);
      return value;
    case ':+':
      return nonEmpty ? argument() : '';
    default:
      return set ? argument() : '';
  }
}

/**
 * An env file as Compose reads it (`--env-file` and a service's `env_file`): `NAME=value` lines,
 * `#` comment lines and blank lines skipped, an optional `export `, values in single quotes taken
 * literally, in double quotes with \n \t \\ \" escapes, unquoted ones up to an inline ` #` comment.
 */
export function readEnvFile(file: string): Env {
  const env: Env = {};
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
      if (match === null) throw new Error(`${file}:${index + 1}: not NAME=value`);
      const name = match[1] ?? '';
      const value = match[2] ?? '';
      if (/^'.*'$/.test(value)) env[name] = value.slice(1, -1);
      else if (/^".*"$/.test(value)) env[name] = value.slice(1, -1).replace(/\\([nt\\"])/g, (_, c: string) => ({ n: '\n', t: '\t', '\\': '\\', '"': '"' })[c] ?? c);
      else env[name] = value.replace(/\s+#.*$/, '').trim();
    });
  return env;
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

function interpolateAll(node: Yaml, vars: Env): Yaml {
  if (typeof node === 'string') return interpolate(node, vars);
  if (Array.isArray(node)) return node.map((item) => interpolateAll(item, vars));
  if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, vars)]));
  return node;
}

export interface ComposeService {
  [key: string]: Yaml;
}

export interface ComposeProject {
  services: Record<string, ComposeService>;
  /** The variables interpolation used: the env file under the shell environment. */
  vars: Env;
  dir: string;
}

/**
 * `docker compose --env-file ENV_FILE -f FILE config`, as far as services go: the file parsed,
 * merge keys applied, every string interpolated. `shell` is the environment compose would run in.
 */
export function loadCompose(file: string, options: { envFile?: string; shell?: Env } = {}): ComposeProject {
  const vars: Env = { ...(options.envFile ? readEnvFile(options.envFile) : {}), ...(options.shell ?? {}) };
  const doc = parse(readFileSync(file, 'utf8'), { merge: true }) as { services?: Record<string, Yaml> };
  const services = interpolateAll((doc.services ?? {}) as Yaml, vars) as Record<string, ComposeService>;
  return { services, vars, dir: path.dirname(file) };
}

function scalar(value: Yaml): string {
  if (value === null || typeof value === 'object') throw new Error(`not a scalar: ${JSON.stringify(value)}`);
  return String(value);
}

/**
 * The environment a service's container gets from Compose: its env_file entries in order (paths
 * relative to the compose file), then its `environment` (a mapping or a NAME=value list; a name
 * without a value takes the shell's, and is left out when the shell has none).
 */
export function serviceEnvironment(project: ComposeProject, name: string): Env {
  const service = project.services[name];
  if (service === undefined) throw new Error(`no service ${name} in the compose file`);
  const env: Env = {};
  const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  for (const entry of envFiles) {
    const file = typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? scalar(entry.path ?? null) : scalar(entry);
    Object.assign(env, readEnvFile(path.resolve(project.dir, file)));
  }
  const environment = service.environment ?? {};
  const entries: [string, Yaml][] = Array.isArray(environment)
    ? environment.map((item) => {
        const text = scalar(item);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, null] : [text.slice(0, eq), text.slice(eq + 1)];
      })
    : Object.entries(environment as Record<string, Yaml>);
  for (const [key, value] of entries) {
    if (value === null) {
      const fromShell = project.vars[key];
      if (fromShell !== undefined) env[key] = fromShell;
    } else {
      env[key] = scalar(value);
    }
  }
  return env;
}

/** The ENV instructions of a Dockerfile's last stage (the runtime image), `NAME=value` form. */
export function dockerfileEnv(file: string): Env {
  const stages = readFileSync(file, 'utf8').split(/^FROM\s/m);
  const env: Env = {};
  for (const match of (stages.at(-1) ?? '').matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of match[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** Compose durations ("5s", "1m30s", "10m") in milliseconds. */
export function durationMs(text: string): number {
  let total = 0;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${text}`);
  for (const [, n, unit] of parts) total += Number(n) * units[unit!]!;
  return total;
}
