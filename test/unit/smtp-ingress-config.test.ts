/**
 * The MX's settings (SMTP_INGRESS_*, src/config.ts): what it stamps must be an authserv-id the
 * workers trust, AUTH needs TLS, and a wrong value stops the start naming the variable.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig({ ...MINIMAL_ENV, ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.variables;
    throw error;
  }
};

test('unset, the MX stamps under the first trusted authserv-id, or under its host name when none is trusted', () => {
  assert.equal(loadConfig({ ...MINIMAL_ENV, TRUSTED_AUTHSERV_IDS: 'mx.example.com,other.example' }).smtpIngress.authservId, 'mx.example.com');
  const plain = loadConfig({ ...MINIMAL_ENV, INBOUND_DOMAINS: 'help.example' }).smtpIngress;
  assert.equal(plain.hostname, 'mx.help.example');
  assert.equal(plain.authservId, 'mx.help.example');
  assert.equal(plain.port, 2525);
  assert.equal(plain.dmarcAction, 'record');
  assert.equal(plain.tls, undefined);
  assert.equal(plain.auth, undefined);
});

test('an authserv-id the workers do not trust is refused: its results would be evidence nobody reads', () => {
  assert.deepEqual(problems({ SMTP_INGRESS_AUTHSERV_ID: 'mx.example.com' }), ['SMTP_INGRESS_AUTHSERV_ID']);
  assert.deepEqual(problems({ SMTP_INGRESS_AUTHSERV_ID: 'mx.example.com', TRUSTED_AUTHSERV_IDS: 'mx.example.com' }), []);
});

test('AUTH without a certificate, a short relay password, a wrong DMARC action, a proxy that is not an address and a port out of range are refused by name', () => {
  assert.deepEqual(problems({ SMTP_INGRESS_AUTH_USER: 'relay', SMTP_INGRESS_AUTH_PASSWORD: 'a-long-enough-password' }), ['SMTP_INGRESS_AUTH_USER']);
  assert.ok(problems({ SMTP_INGRESS_AUTH_USER: 'relay', SMTP_INGRESS_AUTH_PASSWORD: 'short' }).includes('SMTP_INGRESS_AUTH_PASSWORD'));
  assert.deepEqual(problems({ SMTP_INGRESS_DMARC_ACTION: 'drop' }), ['SMTP_INGRESS_DMARC_ACTION']);
  for (const action of ['record', 'tag', 'quarantine', 'reject']) assert.deepEqual(problems({ SMTP_INGRESS_DMARC_ACTION: action }), [], action);
  assert.deepEqual(problems({ SMTP_INGRESS_PROXY_FROM: '10.0.0.1,lb.example' }), ['SMTP_INGRESS_PROXY_FROM']);
  assert.deepEqual(problems({ SMTP_INGRESS_PORT: '70000' }), ['SMTP_INGRESS_PORT']);
  assert.deepEqual(problems({ SMTP_INGRESS_MAX_RECIPIENTS: '0' }), ['SMTP_INGRESS_MAX_RECIPIENTS']);
  assert.deepEqual(problems({ SMTP_INGRESS_TLS_CERT_FILE: '/nonexistent/mx.crt' }).sort(), ['SMTP_INGRESS_TLS_CERT_FILE', 'SMTP_INGRESS_TLS_KEY_FILE']);
});
