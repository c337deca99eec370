/**
 * Hostile suite, issue 12 class 13 (object store): no port of the local SeaweedFS serves an object
 * without credentials. The probe once read raw messages straight off the filer's HTTP port; the
 * volume server served file ids to anyone, the master handed out read tokens for them, and the gRPC
 * ports (HTTP port + 10000) answered without any credential. Each variant below is one way in; the
 * S3 API with the configured credentials must still work.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import path from 'node:path';
import { createS3ObjectStore } from '../../src/adapters/object-store';
import { config, ROOT, unique } from '../helpers/stack';

const store = createS3ObjectStore(config.s3);
const SECRET = `secret-content-${unique('probe')}`;
const key = `raw/${unique('trust-object-store')}`;
const port = (name: string): number => {
  const value = Number(process.env[name]);
  assert.ok(Number.isInteger(value) && value > 0, `${name} must be set by the test profile`);
  return value;
};
const filer = (): number => port('WEED_FILER_PORT');
const volume = (): number => port('WEED_VOLUME_PORT');
const master = (): number => port('WEED_MASTER_PORT');
const s3 = (): number => Number(new URL(config.s3.endpoint ?? 'http://127.0.0.1:8333').port);
let fileId = '';

/** The object's volume file id, read the way an operator would: weed shell with the stack's client certificate. */
async function fileIdOf(objectKey: string): Promise<string> {
  const tls = path.join(process.env.MAILGATE_DATA_DIR ?? path.join(ROOT, '.data/test'), 'seaweedfs/tls');
  const child = execFile(
    path.join(ROOT, '.tools/venv/bin/weed'),
    ['shell', `-master=127.0.0.1:${master()}`, `-filer=127.0.0.1:${filer()}`],
    {
      timeout: 30_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        WEED_GRPC_CA: path.join(tls, 'ca.crt'),
        WEED_GRPC_CLIENT_CERT: path.join(tls, 'node.crt'),
        WEED_GRPC_CLIENT_KEY: path.join(tls, 'node.key'),
      },
    },
  );
  const output = new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(text));
  });
  child.stdin?.end(`fs.meta.cat /buckets/${config.s3.bucket}/${objectKey}\n`);
  const match = /"fileId":\s*"(\d+,[0-9a-f]+)"/.exec(await output);
  assert.ok(match?.[1], 'weed shell with the client certificate finds the object (the test can see its file id)');
  return match[1];
}

async function get(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; authorization: string | null }> {
  const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000), ...init });
  return { status: response.status, body: await response.text(), authorization: response.headers.get('authorization') };
}

function refused(answer: { status: number; body: string }, what: string): void {
  assert.ok(answer.status >= 400, `${what} answered ${answer.status}`);
  assert.ok(!answer.body.includes(SECRET), `${what} served the object's content`);
}

/** One gRPC call over plaintext HTTP/2 (what an unauthenticated gRPC client sends); resolves to the grpc-status or an error. */
function plaintextGrpc(grpcPort: number, method: string): Promise<string> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://127.0.0.1:${grpcPort}`);
    const timer = setTimeout(() => {
      session.destroy();
      resolve('timeout');
    }, 5_000);
    const finish = (verdict: string): void => {
      clearTimeout(timer);
      session.destroy();
      resolve(verdict);
    };
    session.on('error', (error: Error) => finish(`error: ${error.message}`));
    const request = session.request({ ':method': 'POST', ':path': method, 'content-type': 'application/grpc', te: 'trailers' });
    request.on('error', (error: Error) => finish(`error: ${error.message}`));
    request.on('trailers', (trailers) => finish(`grpc-status ${String(trailers['grpc-status'])}`));
    request.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) finish(`grpc-status ${String(headers['grpc-status'])}`);
    });
    // An empty message: five bytes of framing, no body.
    request.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

before(async () => {
  await store.put({ key, body: SECRET, contentType: 'text/plain' });
  fileId = await fileIdOf(key);
});

test('the S3 API with the configured credentials still stores and reads the object', async () => {
  assert.equal((await store.getBuffer(key)).toString(), SECRET);
});

test('the S3 API without credentials refuses the object (anonymous GET)', async () => {
  refused(await get(`http://127.0.0.1:${s3()}/${config.s3.bucket}/${key}`), 'anonymous S3 GET');
});

test('the S3 API without credentials lists neither the buckets nor the keys of the bucket', async () => {
  const buckets = await get(`http://127.0.0.1:${s3()}/`);
  assert.ok(buckets.status >= 400 && !buckets.body.includes(config.s3.bucket), `anonymous bucket listing answered ${buckets.status}`);
  const keys = await get(`http://127.0.0.1:${s3()}/${config.s3.bucket}?list-type=2&prefix=raw/`);
  assert.ok(keys.status >= 400 && !keys.body.includes(key), `anonymous key listing answered ${keys.status}`);
});

test('the S3 API refuses a request signed with a wrong secret', async () => {
  const wrong = createS3ObjectStore({ ...config.s3, secretAccessKey: 'not-the-secret-key-at-all' }, { maxAttempts: 1 });
  await assert.rejects(wrong.getBuffer(key));
});

test('the filer HTTP port does not serve the object by its bucket path', async () => {
  refused(await get(`http://127.0.0.1:${filer()}/buckets/${config.s3.bucket}/${key}`), 'filer GET by path');
});

test('the filer HTTP port does not list the bucket (directory metadata)', async () => {
  const answer = await get(`http://127.0.0.1:${filer()}/buckets/${config.s3.bucket}/raw/?pretty=y`, { headers: { accept: 'application/json' } });
  assert.ok(answer.status >= 400, `filer listing answered ${answer.status}`);
  assert.ok(!answer.body.includes(key.slice(4)), 'the listing names the object');
});

test('the volume HTTP port refuses the file id without a token', async () => {
  refused(await get(`http://127.0.0.1:${volume()}/${fileId}`), 'volume GET by file id');
});

test('the volume HTTP port refuses the file id with a forged token', async () => {
  const forged = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJmaWQiOiIxLDAxIn0.c2lnbmF0dXJl';
  refused(await get(`http://127.0.0.1:${volume()}/${fileId}`, { headers: { authorization: `Bearer ${forged}` } }), 'volume GET with a forged JWT');
  refused(await get(`http://127.0.0.1:${volume()}/${fileId}?jwt=${forged}`), 'volume GET with a forged jwt parameter');
});

test('the volume HTTP port refuses the file id under another spelling (with a file name or extension)', async () => {
  const [vid, rest] = fileId.split(',');
  refused(await get(`http://127.0.0.1:${volume()}/${vid}/${rest}/message.eml`), 'volume GET /vid/fid/name');
  refused(await get(`http://127.0.0.1:${volume()}/${fileId}.txt`), 'volume GET fid.ext');
});

test('the volume HTTP port refuses an unauthenticated write', async () => {
  const form = new FormData();
  form.append('file', new Blob(['overwritten']), 'x.txt');
  const answer = await get(`http://127.0.0.1:${volume()}/${fileId}`, { method: 'POST', body: form });
  assert.ok(answer.status >= 400, `volume write answered ${answer.status}`);
  assert.equal((await store.getBuffer(key)).toString(), SECRET);
});

test('the master HTTP port neither redirects to the file nor hands out read or write tokens', async () => {
  refused(await get(`http://127.0.0.1:${master()}/${fileId}`), 'master GET by file id');
  const lookup = await get(`http://127.0.0.1:${master()}/dir/lookup?fileId=${fileId}&read=yes`);
  assert.equal(lookup.authorization, null, 'the master signed a read token for an anonymous caller');
  assert.ok(lookup.status >= 400, `master lookup answered ${lookup.status}`);
  const assign = await get(`http://127.0.0.1:${master()}/dir/assign`);
  assert.equal(assign.authorization, null, 'the master signed a write token for an anonymous caller');
  assert.ok(assign.status >= 400, `master assign answered ${assign.status}`);
});

test('no gRPC port (master, volume, filer, S3) answers a plaintext client without a certificate', async () => {
  const calls: [string, number, string][] = [
    ['master', master() + 10_000, '/master_pb.Seaweed/LookupVolume'],
    ['volume', volume() + 10_000, '/volume_server_pb.VolumeServer/ReadAllNeedles'],
    ['filer', filer() + 10_000, '/filer_pb.SeaweedFiler/LookupDirectoryEntry'],
    ['s3', s3() + 10_000, '/s3_pb.SeaweedS3/Configure'],
  ];
  for (const [name, grpcPort, method] of calls) {
    const verdict = await plaintextGrpc(grpcPort, method);
    assert.doesNotMatch(verdict, /^grpc-status /, `${name} gRPC port ${grpcPort} answered a plaintext call: ${verdict}`);
  }
});

test('weed shell without the client certificate cannot read the object', async () => {
  const child = execFile(
    path.join(ROOT, '.tools/venv/bin/weed'),
    ['shell', `-master=127.0.0.1:${master()}`, `-filer=127.0.0.1:${filer()}`],
    { timeout: 8_000, env: { PATH: process.env.PATH, HOME: '/nonexistent' } },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stdin?.end(`fs.cat /buckets/${config.s3.bucket}/${key}\n`);
  await new Promise((resolve) => child.on('close', resolve));
  assert.ok(!text.includes(SECRET), 'weed shell read the object without a certificate');
});
