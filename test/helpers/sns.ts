/**
 * A stand-in for SNS's certificate host: a self-signed RSA signing certificate served over HTTPS on
 * loopback (its TLS certificate from a throwaway CA), a SubscribeURL endpoint that records
 * confirmations, and signing of SNS messages (versions 1 and 2) with the certificate's key.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeTlsMaterial } from './tls';

export interface SnsStandIn {
  /** https://127.0.0.1:<port> */
  origin: string;
  /** host:port, for SNS_CERT_HOSTS. */
  host: string;
  /** Trusts the stand-in's CA. */
  agent: https.Agent;
  certUrl: string;
  confirmations: string[];
  /** The message with MessageId, Timestamp, SignatureVersion, SigningCertURL and Signature filled in (fields given win). */
  sign(fields: Record<string, string>, version?: '1' | '2'): Record<string, string>;
  close(): Promise<void>;
}

/** The canonical string as the SNS documentation lists it, written out here independently of the code. */
export function stringToSign(m: Record<string, string>): string {
  const keys = m.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
  return keys.filter((k) => m[k] !== undefined).map((k) => `${k}\n${m[k]}\n`).join('');
}

export async function startSnsStandIn(): Promise<SnsStandIn> {
  const tls = await makeTlsMaterial();
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sns.key', '-out', 'sns.pem', '-days', '2', '-subj', '/CN=sns.test'], { cwd: tls.dir, timeout: 30_000 });
  const signingKey = createPrivateKey(readFileSync(path.join(tls.dir, 'sns.key')));
  const pem = readFileSync(path.join(tls.dir, 'sns.pem'));
  const confirmations: string[] = [];
  const server = https.createServer({ cert: readFileSync(tls.serverCert), key: readFileSync(tls.serverKey) }, (req, res) => {
    if (req.url === '/SimpleNotificationService-test.pem') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' }).end(pem);
    } else if (req.url?.startsWith('/confirm')) {
      confirmations.push(req.url);
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<ConfirmSubscriptionResponse/>');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const origin = `https://${host}`;
  const agent = new https.Agent({ ca: readFileSync(tls.caCert) });
  const certUrl = `${origin}/SimpleNotificationService-test.pem`;
  return {
    origin,
    host,
    agent,
    certUrl,
    confirmations,
    sign(fields, version = '2') {
      const m: Record<string, string> = { MessageId: randomUUID(), Timestamp: new Date().toISOString(), SignatureVersion: version, SigningCertURL: certUrl, ...fields };
      m.Signature = sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(stringToSign(m)), signingKey).toString('base64');
      return m;
    },
    async close() {
      agent.destroy();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await tls.remove();
    },
  };
}
