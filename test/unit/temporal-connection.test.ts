import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError, describeConfig, loadConfig, type Config } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal-connection';
import { MINIMAL_ENV } from '../helpers/env';
import { makeTlsMaterial, type TlsMaterial } from '../helpers/tls';

const API_KEY = 'tcld-api-key-ABCDEF0123456789';

let tls: TlsMaterial;
before(async () => {
  tls = await makeTlsMaterial();
});
after(async () => {
  await tls.remove();
});

function load(env: Record<string, string>): Config {
  return loadConfig({ ...MINIMAL_ENV, ...env });
}

/** Asserts that loading `env` fails naming `variable`, with a reason matching `reason`. */
function refused(env: Record<string, string>, variable: string, reason: RegExp): ConfigError {
  let caught: unknown;
  try {
    load(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.variable, variable);
  assert.match(caught.message, reason);
  return caught;
}

async function file(name: string, text: string): Promise<string> {
  const at = path.join(tls.dir, name);
  await writeFile(at, text);
  return at;
}

describe('Temporal connection settings', () => {
  test('without any Temporal TLS variable the connection stays plaintext, as the dev stack needs', () => {
    const config = load({ TEMPORAL_ADDRESS: '127.0.0.1:7253' });
    assert.equal(config.temporal.tls, undefined);
    assert.equal(config.temporal.apiKey, undefined);
    assert.deepEqual(temporalConnectionOptions(config.temporal), { address: '127.0.0.1:7253' });
  });

  test('TEMPORAL_TLS=true alone verifies the server against the system roots', () => {
    const options = temporalConnectionOptions(load({ TEMPORAL_TLS: 'true' }).temporal);
    assert.deepEqual(options.tls, {});
    assert.equal(options.apiKey, undefined);
  });

  test('a CA file turns TLS on and becomes the root the server certificate must chain to', async () => {
    const options = temporalConnectionOptions(load({ TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' }).temporal);
    assert.deepEqual(options.tls?.serverRootCACertificate, await readFile(tls.caCert));
    assert.equal(options.tls?.serverNameOverride, 'temporal.internal');
    assert.equal(options.tls?.clientCertPair, undefined);
  });

  test('a client certificate and its key become the mutual-TLS pair', async () => {
    const options = temporalConnectionOptions(
      load({ TEMPORAL_TLS_CA_FILE: tls.caCert, TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: tls.clientKey }).temporal,
    );
    assert.deepEqual(options.tls?.clientCertPair, { crt: await readFile(tls.clientCert), key: await readFile(tls.clientKey) });
  });

  test('an API key turns TLS on by itself (Temporal Cloud) and is passed as the SDK apiKey', () => {
    const options = temporalConnectionOptions(load({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: API_KEY }).temporal);
    assert.deepEqual(options, { address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: API_KEY });
  });

  test('the API key can come from a file (a mounted secret), its trailing newline dropped', async () => {
    const keyFile = await file('api-key', `${API_KEY}\n`);
    assert.equal(load({ TEMPORAL_API_KEY_FILE: keyFile }).temporal.apiKey, API_KEY);
  });

  test('an API key with TLS turned off is refused: it would cross the network in the clear', () => {
    refused({ TEMPORAL_TLS: 'false', TEMPORAL_API_KEY: API_KEY }, 'TEMPORAL_TLS', /API key is only sent over TLS/);
  });

  test('a TLS file with TLS turned off is refused rather than ignored', () => {
    refused({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA_FILE: tls.caCert }, 'TEMPORAL_TLS', /TEMPORAL_TLS_CA_FILE is set/);
  });

  test('TEMPORAL_TLS must be a boolean', () => {
    refused({ TEMPORAL_TLS: 'maybe' }, 'TEMPORAL_TLS', /true or false/);
  });

  test('a CA file that does not exist is refused with its variable and path', () => {
    refused({ TEMPORAL_TLS_CA_FILE: path.join(tls.dir, 'missing.crt') }, 'TEMPORAL_TLS_CA_FILE', /cannot be read: ENOENT .*missing\.crt/);
  });

  test('a CA file without a PEM certificate is refused', async () => {
    refused({ TEMPORAL_TLS_CA_FILE: await file('not-pem.crt', 'just text\n') }, 'TEMPORAL_TLS_CA_FILE', /no PEM certificate/);
  });

  test('a PEM certificate block that does not parse is refused', async () => {
    const broken = await file('broken.crt', '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    refused({ TEMPORAL_TLS_CA_FILE: broken }, 'TEMPORAL_TLS_CA_FILE', /does not parse/);
  });

  test('a certificate file that also holds a private key is refused', async () => {
    const both = await file('both.pem', `${await readFile(tls.clientCert, 'utf8')}${await readFile(tls.clientKey, 'utf8')}`);
    refused({ TEMPORAL_TLS_CERT_FILE: both, TEMPORAL_TLS_KEY_FILE: tls.clientKey }, 'TEMPORAL_TLS_CERT_FILE', /holds a private key/);
  });

  test('a client certificate without its key, or a key without its certificate, is refused', () => {
    refused({ TEMPORAL_TLS_CERT_FILE: tls.clientCert }, 'TEMPORAL_TLS_KEY_FILE', /required when TEMPORAL_TLS_CERT_FILE is set/);
    refused({ TEMPORAL_TLS_KEY_FILE: tls.clientKey }, 'TEMPORAL_TLS_CERT_FILE', /required when TEMPORAL_TLS_KEY_FILE is set/);
  });

  test('a key that does not belong to the client certificate is refused', () => {
    refused({ TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: tls.strayKey }, 'TEMPORAL_TLS_KEY_FILE', /does not match/);
  });

  test('a certificate given as the key file is refused', () => {
    refused({ TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: tls.clientCert }, 'TEMPORAL_TLS_KEY_FILE', /no PEM private key/);
  });

  test('an encrypted key is refused, since the SDKs take no passphrase', async () => {
    const encrypted = await file('encrypted.key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n');
    refused({ TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: encrypted }, 'TEMPORAL_TLS_KEY_FILE', /encrypted/);
  });

  test('a key that does not parse is refused without quoting the file', async () => {
    const garbage = await file('garbage.key', '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PRIVATE KEY-----\n');
    const error = refused({ TEMPORAL_TLS_CERT_FILE: tls.clientCert, TEMPORAL_TLS_KEY_FILE: garbage }, 'TEMPORAL_TLS_KEY_FILE', /does not parse/);
    assert.doesNotMatch(error.message, /c2VjcmV0/);
  });

  test('both TEMPORAL_API_KEY and TEMPORAL_API_KEY_FILE, an empty key file, or a key with whitespace inside are refused', async () => {
    const keyFile = await file('api-key-2', API_KEY);
    refused({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_API_KEY_FILE: keyFile }, 'TEMPORAL_API_KEY_FILE', /both set/);
    refused({ TEMPORAL_API_KEY_FILE: await file('empty-key', '\n') }, 'TEMPORAL_API_KEY_FILE', /empty/);
    refused({ TEMPORAL_API_KEY: 'abc def' }, 'TEMPORAL_API_KEY', /whitespace/);
    refused({ TEMPORAL_API_KEY_FILE: await file('two-lines', 'abc\nauthorization: x\n') }, 'TEMPORAL_API_KEY_FILE', /whitespace/);
  });

  test('a server name that is not a DNS name is refused', () => {
    refused({ TEMPORAL_TLS_SERVER_NAME: 'temporal internal' }, 'TEMPORAL_TLS_SERVER_NAME', /DNS name/);
  });

  test('the loggable description says how Temporal is reached but holds neither the API key nor any PEM', () => {
    const config = load({
      TEMPORAL_API_KEY: API_KEY,
      TEMPORAL_TLS_CA_FILE: tls.caCert,
      TEMPORAL_TLS_CERT_FILE: tls.clientCert,
      TEMPORAL_TLS_KEY_FILE: tls.clientKey,
    });
    const described = describeConfig(config);
    assert.deepEqual(described.temporal, {
      address: '127.0.0.1:7233',
      namespace: 'default',
      taskQueue: 'mailgate',
      uiPort: 8233,
      tls: { serverCa: 'file', serverName: undefined, mutual: true },
      apiKey: true,
    });
    const text = JSON.stringify(described);
    assert.ok(!text.includes(API_KEY), 'no API key');
    assert.ok(!text.includes('-----BEGIN'), 'no PEM');
  });
});
