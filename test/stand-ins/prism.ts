/**
 * Stoplight Prism (@stoplight/prism-cli, pinned) as a validating proxy in front of a stand-in:
 * `prism proxy --errors <spec> <upstream>` checks each request against the vendor's published
 * OpenAPI (422 with a `validation[]` list when it breaks the spec) and each stand-in answer (500 and
 * an `sl-violations` header when the stand-in drifts from the spec), and passes 429/Retry-After through.
 *
 * Prism takes 5-16 s and about 350 MB to load the 2.9 MB Jira platform spec, so a test file starts
 * it once. It serves only the spec's paths, without the server's base path (`/api/3/...` for Jira's
 * `https://site/rest`): `startPlatformRouter` puts one address in front, sending the spec's paths
 * through Prism and the rest (vendor APIs the spec does not cover) straight to the stand-in, so the
 * connector still sees one base URL, as against the real site.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';

/** The repository root, from dist/test/stand-ins/. */
const ROOT = path.resolve(__dirname, '../../..');
const PRISM = path.join(ROOT, 'node_modules/.bin/prism');
const START_DEADLINE_MS = 120_000;

export interface RunningPrism {
  url: string;
  /** Everything Prism printed, for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startPrismProxy(spec: string, upstream: string): Promise<RunningPrism> {
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(PRISM, ['proxy', '--errors', '-h', '127.0.0.1', '-p', String(port), spec, upstream], {
    // @scarf/scarf (a Prism dependency) reports installs and runs unless told not to.
    env: { ...process.env, SCARF_ANALYTICS: 'false', NO_COLOR: '1', FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (data: Buffer): void => {
    output = (output + data.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!/Prism is listening/.test(output)) {
    if (child.exitCode !== null) throw new Error(`Prism exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Prism did not start within ${START_DEADLINE_MS} ms:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url: `http://127.0.0.1:${port}`, output: () => output, stop };
}

export interface PlatformRouter {
  url: string;
  /** How many requests went through Prism (a test proves the validation path was used). */
  viaPrism(): number;
  close(): Promise<void>;
}

/**
 * One address for the connector: paths starting with `prefix` (e.g. `/rest/api/3/`) go to Prism
 * with `stripPrefix` removed; everything else goes to `direct` unchanged.
 */
export async function startPlatformRouter(options: { prismUrl: string; direct: string; prefix: string; stripPrefix: string }): Promise<PlatformRouter> {
  let throughPrism = 0;
  const server = http.createServer((incoming, res) => {
    const viaPrism = (incoming.url ?? '').startsWith(options.prefix);
    if (viaPrism) throughPrism += 1;
    const target = new URL(viaPrism ? (incoming.url ?? '/').slice(options.stripPrefix.length) : (incoming.url ?? '/'), viaPrism ? options.prismUrl : options.direct);
    const out = http.request(target, { method: incoming.method, headers: { ...incoming.headers, host: target.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    res.on('close', () => out.destroy());
    incoming.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    viaPrism: () => throughPrism,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
