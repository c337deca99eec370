/**
 * `mailgate deliver`, the MTA pipe (src/cli/deliver.ts), run as an MTA runs it: the compiled CLI as
 * a child process, the message on stdin, the envelope as arguments, judged by its exit code. The API
 * is a loopback stand-in that checks the request signature as the API does and answers what the
 * test says; a closed port and a server that never answers stand for the outages.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { verifySignature } from '../../src/api/signing';
import { freePort } from '../helpers/app';

const CLI = path.resolve(__dirname, '../../src/cli/mailgate.js');
const SECRET = 'a-deliver-test-secret-16+';
const MESSAGE = Buffer.from('From: a@customer.example\r\nTo: support@mailgate.local\r\nSubject: piped\r\n\r\nhello\r\n');

interface Seen {
  headers: IncomingMessage['headers'];
  body: Buffer;
}

let answer: { status: number; json: unknown } = { status: 202, json: { emails: [] } };
const seen: Seen[] = [];
let server: Server;
let silent: Server;
let apiUrl: string;
let silentUrl: string;

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const s = createServer(handler);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve({ server: s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` })));
}

before(async () => {
  ({ server, url: apiUrl } = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers: req.headers, body });
      const signed = verifySignature({
        secrets: [SECRET],
        timestamp: req.headers['x-mailgate-timestamp'] as string | undefined,
        signature: req.headers['x-mailgate-signature'] as string | undefined,
        body,
        nowMs: Date.now(),
        maxSkewSeconds: 300,
      });
      const { status, json } = signed.ok ? answer : { status: 401, json: { error: 'unauthorized', reason: signed.reason } };
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
    });
  }));
  ({ server: silent, url: silentUrl } = await listen(() => undefined));
});

after(() => {
  server.close();
  silent.closeAllConnections();
  silent.close();
});

function run(args: string[], env: Record<string, string> = {}, stdin: Buffer = MESSAGE): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'deliver', ...args], {
      env: { PATH: process.env.PATH ?? '', INGRESS_SECRETS: SECRET, MAILGATE_API_URL: apiUrl, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

describe('mailgate deliver exits by sysexits', () => {
  test('accepted (202): exit 0, the message sent byte for byte, signed, with the envelope from the arguments', async () => {
    answer = { status: 202, json: { emails: [{ status: 'accepted' }] } };
    seen.length = 0;
    const result = await run(['-f', 'a@customer.example', '--', 'support@mailgate.local', 'billing@mailgate.local']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"accepted"/);
    assert.equal(seen.length, 1);
    assert.ok(seen[0]!.body.equals(MESSAGE));
    assert.equal(seen[0]!.headers['x-envelope-to'], 'support@mailgate.local, billing@mailgate.local');
    assert.equal(seen[0]!.headers['x-envelope-from'], 'a@customer.example');
    assert.equal(seen[0]!.headers['content-type'], 'message/rfc822');
  });

  for (const [status, code, why] of [
    [503, 75, 'the store or the workflow engine is down'],
    [429, 75, 'rate limited'],
    [408, 75, 'the request timed out'],
    [400, 65, 'not an email'],
    [413, 65, 'too large'],
    [422, 77, 'no recipient of ours'],
  ] as const) {
    test(`answered ${status} (${why}): exit ${code}, with the reason on stderr`, async () => {
      answer = { status, json: { error: 'x', reason: `because ${why}` } };
      const result = await run(['--', 'support@mailgate.local']);
      assert.equal(result.code, code);
      assert.match(result.stderr, new RegExp(`^mailgate deliver: .*${status}: because ${why}`));
      assert.equal(result.stdout, '');
    });
  }

  test('a secret the API does not know (401) is our configuration: exit 75, the MTA keeps the message', async () => {
    answer = { status: 202, json: {} };
    const result = await run(['--', 'support@mailgate.local'], { INGRESS_SECRETS: 'another-secret-of-16+' });
    assert.equal(result.code, 75);
    assert.match(result.stderr, /401.*INGRESS_SECRETS/);
  });

  test('nothing listening, or no answer within the timeout: exit 75', async () => {
    const closed = await run(['--', 'support@mailgate.local'], { MAILGATE_API_URL: `http://127.0.0.1:${await freePort()}` });
    assert.equal(closed.code, 75);
    assert.match(closed.stderr, /retry later/);
    const hung = await run(['--', 'support@mailgate.local'], { MAILGATE_API_URL: silentUrl, MAILGATE_DELIVER_TIMEOUT_SECONDS: '1' });
    assert.equal(hung.code, 75);
  });

  test('no secret configured: exit 75 (never a bounce for our own mistake); no recipient: exit 64; over the size cap: exit 65 without a request', async () => {
    assert.equal((await run(['--', 'support@mailgate.local'], { INGRESS_SECRETS: '' })).code, 75);
    assert.equal((await run([])).code, 64);
    seen.length = 0;
    const big = await run(['--', 'support@mailgate.local'], { MAX_MESSAGE_BYTES: '100' }, Buffer.alloc(5000, 'a'));
    assert.equal(big.code, 65);
    assert.equal(seen.length, 0);
  });
});
