/**
 * The stack's SeaweedFS as an operator changes it: `weed shell` over gRPC, with the client
 * certificate scripts/stack made (every gRPC port demands one of its CA).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './stack';

/**
 * Makes one folder of the bucket read-only (or writable again) in the filer's path configuration:
 * writes under it fail, reads and every other folder work. Real refusals by the store, so a test can
 * fail one step that writes there (storing writes attachments/) and no other.
 */
export async function readOnlyPrefix(prefix: string, readOnly: boolean): Promise<void> {
  const data = path.resolve(ROOT, process.env.MAILGATE_DATA_DIR ?? '.data/test', 'seaweedfs');
  const tls = path.join(data, 'tls');
  const location = `/buckets/${process.env.S3_BUCKET ?? 'mailgate'}/${prefix}`;
  const command = readOnly ? `fs.configure -locationPrefix=${location} -readOnly -apply` : `fs.configure -locationPrefix=${location} -delete -apply`;
  const child = execFile(path.join(ROOT, '.tools/venv/bin/weed'), ['shell', `-master=127.0.0.1:${process.env.WEED_MASTER_PORT ?? '9333'}`], {
    env: {
      ...process.env,
      WEED_GRPC_CA: path.join(tls, 'ca.crt'),
      WEED_GRPC_CLIENT_CERT: path.join(tls, 'node.crt'),
      WEED_GRPC_CLIENT_KEY: path.join(tls, 'node.key'),
    },
    timeout: 30_000,
  });
  const done = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`weed shell exited with ${code}: ${out.slice(-1000)}`))));
  });
  child.stdin?.end(`${command}\nexit\n`);
  const out = await done;
  if (/error|failed/i.test(out)) throw new Error(`weed shell: ${command}: ${out.slice(-1000)}`);
}

