/** The Jira Service Management connector's settings: defaults, and a bad value named without its secret. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jiraSmConfigFromEnv } from '../../src/adapters/helpdesks/jira-sm/config';

const env = {
  JIRA_SM_BASE_URL: 'https://acme.atlassian.net/',
  JIRA_SM_EMAIL: 'agent@acme.example',
  JIRA_SM_API_TOKEN: 'secret-token-123456',
  JIRA_SM_SERVICE_DESK_ID: '4',
  JIRA_SM_REQUEST_TYPE_ID: '27',
  JIRA_SM_PROJECT_KEY: 'HELP',
};

test('a complete environment gives the settings with their defaults', () => {
  assert.deepEqual(jiraSmConfigFromEnv(env), {
    baseUrl: 'https://acme.atlassian.net',
    email: 'agent@acme.example',
    apiToken: 'secret-token-123456',
    serviceDeskId: '4',
    requestTypeId: '27',
    projectKey: 'HELP',
    createCustomers: true,
    attachments: 'upload',
    linkType: 'Relates',
    timeoutMs: 30_000,
  });
});

test('another prefix configures a second connector side by side', () => {
  const other = Object.fromEntries(Object.entries(env).map(([k, v]) => [k.replace('JIRA_SM_', 'JIRA_SM_IT_'), v]));
  assert.equal(jiraSmConfigFromEnv(other, 'JIRA_SM_IT_').projectKey, 'HELP');
});

test('each bad value fails naming its variable, never showing the token', () => {
  for (const [change, name] of [
    [{ JIRA_SM_API_TOKEN: '' }, /JIRA_SM_API_TOKEN is required/],
    [{ JIRA_SM_BASE_URL: 'http://acme.atlassian.net' }, /JIRA_SM_BASE_URL must use https/],
    [{ JIRA_SM_BASE_URL: 'not a url' }, /JIRA_SM_BASE_URL must be an absolute URL/],
    [{ JIRA_SM_PROJECT_KEY: 'help' }, /JIRA_SM_PROJECT_KEY must be a Jira project key/],
    [{ JIRA_SM_SERVICE_DESK_ID: 'desk' }, /JIRA_SM_SERVICE_DESK_ID must be a numeric id/],
    [{ JIRA_SM_ATTACHMENTS: 'inline' }, /JIRA_SM_ATTACHMENTS must be upload or links/],
    [{ JIRA_SM_CREATE_CUSTOMERS: 'yes' }, /JIRA_SM_CREATE_CUSTOMERS must be true or false/],
    [{ JIRA_SM_TIMEOUT_MS: '0' }, /JIRA_SM_TIMEOUT_MS must be an integer/],
  ] as const) {
    assert.throws(() => jiraSmConfigFromEnv({ ...env, ...change }), (error: Error) => {
      assert.match(error.message, name);
      assert.doesNotMatch(error.message, /secret-token/);
      return true;
    });
  }
});

test('plain http is allowed only to a loopback stand-in', () => {
  assert.equal(jiraSmConfigFromEnv({ ...env, JIRA_SM_BASE_URL: 'http://127.0.0.1:8080' }).baseUrl, 'http://127.0.0.1:8080');
});
