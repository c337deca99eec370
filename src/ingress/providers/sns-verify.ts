/**
 * Amazon SNS message signatures (docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html):
 * SignatureVersion 1 is SHA1withRSA, 2 is SHA256withRSA, both over the canonical string
 * "Key\nValue\n" of a fixed list of fields. The signing certificate is fetched from SigningCertURL,
 * which must be https, end in .pem, and be on an SNS host: by default sns.<region>.amazonaws.com
 * (the pattern of aws-js-sns-message-validator); SNS_CERT_HOSTS replaces that with an exact list,
 * which is how tests point it at a loopback server, and never widens the default.
 * Certificates are cached by URL (a bounded number), and read under a size cap and a timeout.
 */
import { verify, X509Certificate } from 'node:crypto';
import https, { type Agent } from 'node:https';

export interface SnsMessage {
  Type: string;
  MessageId: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  Timestamp: string;
  SignatureVersion: string;
  Signature: string;
  SigningCertURL: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

const AWS_SNS_HOST = /^sns\.[a-zA-Z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;
const MAX_CERT_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 10_000;
const MAX_CACHED_CERTS = 32;

/** The fields an SNS message must carry, by type; anything else is not one. */
export function asSnsMessage(value: unknown): SnsMessage | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  const required = ['Type', 'MessageId', 'TopicArn', 'Message', 'Timestamp', 'SignatureVersion', 'Signature', 'SigningCertURL'];
  if (!required.every((k) => typeof m[k] === 'string')) return undefined;
  for (const k of ['Subject', 'SubscribeURL', 'Token', 'UnsubscribeURL']) if (m[k] !== undefined && m[k] !== null && typeof m[k] !== 'string') return undefined;
  return m as unknown as SnsMessage;
}

/** The string SNS signs: the type's fields in this order, each as "Key\nValue\n" (absent Subject left out). */
export function canonicalString(m: SnsMessage): string {
  const keys =
    m.Type === 'Notification'
      ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
      : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  const fields = m as unknown as Record<string, string | undefined | null>;
  return keys.map((k) => (typeof fields[k] === 'string' ? `${k}\n${fields[k]}\n` : '')).join('');
}

/** True when `url` is an https URL on an allowed SNS host (`hosts`: exact host[:port] list, or AWS's). */
export function isSnsUrl(url: string, hosts: readonly string[] | undefined, pemOnly: boolean): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol !== 'https:' || parsed.username || parsed.password) return false;
  if (pemOnly && !parsed.pathname.endsWith('.pem')) return false;
  if (hosts) return hosts.includes(parsed.host.toLowerCase());
  return parsed.port === '' && AWS_SNS_HOST.test(parsed.hostname);
}

/** GET over https with the agent, at most `maxBytes`; rejects on any status but 200. */
export function httpsGet(url: string, agent: Agent | undefined, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ...(agent ? { agent } : {}), timeout: FETCH_TIMEOUT_MS }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${new URL(url).host} answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          request.destroy(new Error(`the answer exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks)));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${FETCH_TIMEOUT_MS} ms`)));
    request.on('error', reject);
  });
}

export type SnsVerdict = { ok: true } | { ok: false; transient: boolean; reason: string };

export class SnsVerifier {
  private readonly certs = new Map<string, X509Certificate>();

  constructor(private readonly options: { certHosts: readonly string[] | undefined; agent?: Agent }) {}

  private async certificate(url: string): Promise<X509Certificate> {
    const cached = this.certs.get(url);
    if (cached) return cached;
    const cert = new X509Certificate(await httpsGet(url, this.options.agent, MAX_CERT_BYTES));
    if (this.certs.size >= MAX_CACHED_CERTS) this.certs.delete(this.certs.keys().next().value!);
    this.certs.set(url, cert);
    return cert;
  }

  async verify(m: SnsMessage): Promise<SnsVerdict> {
    const algorithm = m.SignatureVersion === '1' ? 'sha1' : m.SignatureVersion === '2' ? 'sha256' : undefined;
    if (!algorithm) return { ok: false, transient: false, reason: `unknown SignatureVersion ${m.SignatureVersion.slice(0, 10)}` };
    if (!isSnsUrl(m.SigningCertURL, this.options.certHosts, true)) return { ok: false, transient: false, reason: 'the signing certificate URL is not an SNS certificate' };
    let cert: X509Certificate;
    try {
      cert = await this.certificate(m.SigningCertURL);
    } catch (error) {
      return { ok: false, transient: true, reason: `the signing certificate could not be fetched: ${(error as Error).message}` };
    }
    const now = new Date();
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) return { ok: false, transient: false, reason: 'the signing certificate is not valid now' };
    let ok = false;
    try {
      ok = verify(algorithm, Buffer.from(canonicalString(m), 'utf8'), cert.publicKey, Buffer.from(m.Signature, 'base64'));
    } catch {
      ok = false;
    }
    return ok ? { ok: true } : { ok: false, transient: false, reason: 'the signature does not match' };
  }
}
