/**
 * Throwaway TLS material made with openssl at test time (no key is ever committed), and a loopback
 * TLS-terminating HTTP/2 proxy in front of the plaintext Temporal dev server, so tests can connect
 * the real SDK clients and workers over TLS, mutual TLS and an API key.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Paths of PEM files in a temporary folder; `remove()` deletes them all. */
export interface TlsMaterial {
  dir: string;
  caCert: string;
  caKey: string;
  /** Server certificate for IP 127.0.0.1 (SAN), signed by the CA. */
  serverCert: string;
  serverKey: string;
  /** Server certificate that names only DNS:temporal.mailgate.test, signed by the CA. */
  namedServerCert: string;
  namedServerKey: string;
  /** Client certificate (extendedKeyUsage clientAuth), signed by the CA. */
  clientCert: string;
  clientKey: string;
  /** A key that belongs to none of the certificates. */
  strayKey: string;
  remove(): Promise<void>;
}

export const NAMED_SERVER = 'temporal.mailgate.test';

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 30_000 });
}

async function signedBy(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  await openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`]);
}

/** A CA, two server certificates, a client certificate and a stray key (P-256), valid two days. */
export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mailgate-tls-'));
  await openssl(dir, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2',
    '-subj', '/CN=Mailgate test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  // rustls (the worker's core) ignores the CN and insists on a subjectAltName and a non-CA leaf.
  const leaf = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n';
  await signedBy(dir, 'server', '/CN=127.0.0.1', `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n`);
  await signedBy(dir, 'named-server', `/CN=${NAMED_SERVER}`, `${leaf}extendedKeyUsage=serverAuth\nsubjectAltName=DNS:${NAMED_SERVER}\n`);
  await signedBy(dir, 'client', '/CN=mailgate-worker', `${leaf}extendedKeyUsage=clientAuth\n`);
  await openssl(dir, ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'stray.key']);
  const file = (name: string): string => path.join(dir, name);
  return {
    dir,
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    namedServerCert: file('named-server.crt'),
    namedServerKey: file('named-server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
    strayKey: file('stray.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface TlsProxyOptions {
  /** The plaintext gRPC server behind the proxy, host:port. */
  upstream: string;
  cert: Buffer;
  key: Buffer;
  /** Mutual TLS: demand a client certificate that chains to this CA. */
  clientCa?: Buffer;
  /** Refuse (gRPC UNAUTHENTICATED) any request whose authorization header is not `Bearer <apiKey>`. */
  apiKey?: string;
}

export interface TlsProxy {
  /** 127.0.0.1:<port> */
  address: string;
  /** The authorization header of every request, in order (undefined where there was none). */
  authorizations: (string | undefined)[];
  /** Requests forwarded to the upstream server. */
  forwarded: number;
  /** Why handshakes failed, as the server saw it (a client's alert, a missing client certificate). */
  handshakeErrors: string[];
  close(): Promise<void>;
}

const UNAUTHENTICATED = '16';

/**
 * An HTTP/2 server (ALPN h2) that terminates TLS on 127.0.0.1 and forwards each gRPC stream, with
 * its headers, body and trailers, to the upstream server over one plaintext HTTP/2 session.
 */
export async function startTlsProxy(options: TlsProxyOptions): Promise<TlsProxy> {
  const upstream = http2.connect(`http://${options.upstream}`);
  upstream.on('error', () => undefined);
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    cert: options.cert,
    key: options.key,
    ALPNProtocols: ['h2'],
    ...(options.clientCa && { ca: options.clientCa, requestCert: true, rejectUnauthorized: true }),
  });
  const proxy: TlsProxy = {
    address: '',
    authorizations: [],
    forwarded: 0,
    handshakeErrors: [],
    close: async () => {
      for (const session of sessions) session.destroy();
      upstream.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('tlsClientError', (error) => proxy.handshakeErrors.push(error.message));
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => undefined);
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const authorization = headers.authorization;
    proxy.authorizations.push(authorization);
    if (options.apiKey !== undefined && authorization !== `Bearer ${options.apiKey}`) {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': UNAUTHENTICATED, 'grpc-message': 'bad api key' }, { endStream: true });
      return;
    }
    proxy.forwarded++;
    const forwardHeaders: http2.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name !== ':scheme' && name !== ':authority' && value !== undefined) forwardHeaders[name] = value;
    }
    const request = upstream.request(forwardHeaders);
    request.on('error', () => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    stream.on('close', () => request.close());
    let trailers: http2.IncomingHttpHeaders = {};
    request.on('trailers', (received) => (trailers = received));
    request.on('response', (responseHeaders) => {
      // A trailers-only answer (an error at once) carries grpc-status in its headers and no body.
      if (responseHeaders['grpc-status'] !== undefined) {
        stream.respond(responseHeaders, { endStream: true });
        return;
      }
      stream.respond(responseHeaders, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      request.pipe(stream);
    });
    stream.pipe(request);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
