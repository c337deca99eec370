/**
 * Configuration errors come all at once: every invalid or missing variable is named in one error,
 * so an operator fixes them in one go, and no secret's value ever appears in it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';

function refusal(env: Record<string, string>): ConfigError {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

test('an empty environment names every required variable in one error', () => {
  const error = refusal({});
  assert.deepEqual(error.variables.sort(), ['ADMIN_TOKEN', 'INGRESS_SECRETS', 'MAILGATE_SIGNING_KEY', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
  for (const name of error.variables) assert.match(error.message, new RegExp(`${name} `));
  assert.match(error.message, /^invalid configuration \(5 variables\): /);
});

test('invalid values of every kind are reported together, each once, with what is wrong', () => {
  const error = refusal({
    ...MINIMAL_ENV,
    MAX_MESSAGE_BYTES: '0',
    API_PORT: 'http',
    SMTP_SECURE: 'maybe',
    UNSCANNABLE_ATTACHMENTS: 'keep',
    RETENTION_RAW_DAYS: 'forever',
    TEMPORAL_ADDRESS: 'temporal',
    S3_ENDPOINT: 'seaweedfs:8333',
    DATABASE_URL: 'mysql://root:pw@db/mailgate',
    STRANGER_REPLY: 'reopen',
    WORKER_METRICS_PORT: '99999',
  });
  assert.deepEqual(error.variables.sort(), [
    'API_PORT',
    'DATABASE_URL',
    'MAX_MESSAGE_BYTES',
    'RETENTION_RAW_DAYS',
    'S3_ENDPOINT',
    'SMTP_SECURE',
    'STRANGER_REPLY',
    'TEMPORAL_ADDRESS',
    'UNSCANNABLE_ATTACHMENTS',
    'WORKER_METRICS_PORT',
  ]);
  const reasons = Object.fromEntries(error.problems.map((p) => [p.variable, p.reason]));
  assert.equal(reasons.SMTP_SECURE, 'must be true or false');
  assert.equal(reasons.TEMPORAL_ADDRESS, 'must be host:port');
  assert.equal(reasons.MAX_MESSAGE_BYTES, `must be between 1 and ${Number.MAX_SAFE_INTEGER}`);
  assert.doesNotMatch(error.message, /root:pw/, 'the database URL (with its password) is echoed');
});

test('secrets that are missing, short or malformed are named together and their values never appear', () => {
  const values = { MAILGATE_SIGNING_KEY: 'short-sign', INGRESS_SECRETS: 'an-ingress-secret-of-16+,tiny-ingress', ADMIN_TOKEN: 'adm1n-t0ken' };
  const error = refusal({ ...values, S3_SECRET_ACCESS_KEY: 'hunter2-s3-secret' });
  assert.deepEqual(error.variables.sort(), ['ADMIN_TOKEN', 'INGRESS_SECRETS', 'MAILGATE_SIGNING_KEY', 'S3_ACCESS_KEY_ID']);
  for (const secret of ['short-sign', 'tiny-ingress', 'an-ingress-secret-of-16+', 'adm1n-t0ken', 'hunter2-s3-secret']) {
    assert.ok(!error.message.includes(secret), `the error echoes a secret: ${error.message}`);
    assert.ok(!JSON.stringify(error.problems).includes(secret), 'a problem echoes a secret');
  }
});

test('a bad rules file is reported beside the bad variables, under MAILGATE_RULES_FILE', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailgate-config-'));
  try {
    const file = path.join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ instanceId: 'not an id!' }));
    const error = refusal({ ...MINIMAL_ENV, MAILGATE_RULES_FILE: file, CLAMD_PORT: '0' });
    assert.deepEqual(error.variables, ['CLAMD_PORT', 'MAILGATE_RULES_FILE']);
    assert.match(error.message, /MAILGATE_RULES_FILE is invalid: .*instanceId/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Temporal TLS mistakes are reported with the rest: TLS off beside an API key, a certificate without its key', () => {
  const error = refusal({
    ...MINIMAL_ENV,
    TEMPORAL_TLS: 'false',
    TEMPORAL_API_KEY: 'tcld-api-key-0123456789',
    TEMPORAL_TLS_KEY_FILE: '/nonexistent/client.key',
    INGRESS_RATE_BURST: '-1',
  });
  assert.deepEqual(error.variables.sort(), ['INGRESS_RATE_BURST', 'TEMPORAL_TLS', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE']);
  assert.doesNotMatch(error.message, /tcld-api-key-0123456789/);
});

test('one bad variable still reads as before: its name and reason, and `variable` names it', () => {
  const error = refusal({ ...MINIMAL_ENV, INGRESS_RATE_BURST: 'lots' });
  assert.equal(error.variable, 'INGRESS_RATE_BURST');
  assert.equal(error.message, 'invalid configuration: INGRESS_RATE_BURST must be a positive integer');
});

test('a valid environment loads, and the values each reader returns are the configured ones', () => {
  const config = loadConfig({ ...MINIMAL_ENV, API_PORT: '3111', SMTP_SECURE: 'yes', INBOUND_DOMAINS: 'a.example, B.example' });
  assert.equal(config.api.port, 3111);
  assert.equal(config.smtp.secure, true);
  assert.deepEqual(config.inboundDomains, ['a.example', 'b.example']);
  assert.equal(config.ackFrom, 'Mailgate <support@a.example>');
});

test('the embedded store takes ?synchronous=normal or full, and nothing else', () => {
  for (const url of ['sqlite:/tmp/x.sqlite', 'sqlite:/tmp/x.sqlite?synchronous=normal', 'sqlite:/tmp/x.sqlite?synchronous=full']) {
    assert.equal(loadConfig({ ...MINIMAL_ENV, DATABASE_URL: url }).databaseUrl, url);
  }
  for (const url of ['sqlite:/tmp/x.sqlite?synchronous=off', 'sqlite:/tmp/x.sqlite?journal_mode=delete', 'sqlite:?synchronous=full']) {
    assert.deepEqual(refusal({ ...MINIMAL_ENV, DATABASE_URL: url }).variables, ['DATABASE_URL'], url);
  }
});
