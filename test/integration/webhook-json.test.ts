/**
 * The generic parsed-JSON route: the documented shape (docs/inbound-json.schema.json), signed like
 * /v1/inbound/mime with its own secret, rebuilt into MIME and accepted through the real accept path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { signatureHeaders } from '../../src/api/signing';
import { readJsonEmail } from '../../src/ingress/providers/generic-json';
import { rebuildMime } from '../../src/ingress/providers/rebuild-mime';
import { config, ROOT, unique } from '../helpers/stack';
import { post } from '../helpers/webhook-posts';
import { webhookHarness, type WebhookHarness } from '../helpers/webhooks';

const SECRET = 'generic-json-secret-0123456789';

function payload(id: string): Record<string, unknown> {
  return {
    id: `evt-${id}`,
    provider: 'cloudparse',
    envelope: { from: `${id}@customer.example`, to: ['support@mailgate.local'] },
    headers: { From: `Customer <${id}@customer.example>`, To: 'support@mailgate.local', Subject: `JSON ${id}`, 'Message-ID': `<${id}@c.example>`, Date: 'Mon, 07 Dec 2026 10:00:00 +0000', Received: ['from a by b', 'from c by d'] },
    text: 'Hello as JSON',
    html: '<p>Hello as JSON</p>',
    attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('attached').toString('base64') }],
    spf: 'pass',
    dkim: 'pass',
    dmarc: 'pass',
  };
}

describe('the generic parsed-JSON route', () => {
  let harness: WebhookHarness;
  let url: string;

  before(async () => {
    harness = await webhookHarness();
    url = `${await harness.serve({ providers: { json: { secrets: [SECRET] } } })}/v1/inbound/json`;
  });
  after(async () => harness?.close());

  const send = (body: string, secret = SECRET, now = Date.now()) => post(url, body, { 'content-type': 'application/json', ...signatureHeaders(secret, body, now) });

  test('a signed payload is rebuilt into MIME with its verdicts as evidence and its event id, and accepted', async () => {
    const id = unique('json');
    const response = await send(JSON.stringify(payload(id)));
    assert.equal(response.status, 202, JSON.stringify(response.body));
    const emails = response.body.emails as { workflowId: string; status: string }[];
    assert.equal(emails[0]?.status, 'accepted');
    assert.ok(await harness.workflowExists(emails[0]!.workflowId));
  });

  test('the payload is rebuilt deterministically with its headers (repeated ones too), body and attachment', async () => {
    const id = unique('json-content');
    const checked = readJsonEmail(payload(id));
    assert.ok(checked.ok);
    const rebuild = () => rebuildMime({ ...checked.email, seed: 'f'.repeat(64), receivedAt: new Date(0) });
    const rebuilt = await rebuild();
    assert.ok(rebuilt.equals(await rebuild()), 'the same payload gives the same bytes');
    const parsed = await simpleParser(rebuilt);
    assert.equal(parsed.subject, `JSON ${id}`);
    assert.equal(parsed.messageId, `<${id}@c.example>`);
    assert.equal(parsed.attachments[0]?.content.toString(), 'attached');
    assert.equal(parsed.headerLines.filter((h) => h.key === 'received').length, 2);
  });

  test('a wrong secret, a stale timestamp and a replayed signature are refused', async () => {
    const body = JSON.stringify(payload(unique('json-refused')));
    assert.equal((await send(body, 'not-the-json-secret-0123456789')).status, 401);
    assert.equal((await send(body, SECRET, Date.now() - (config.ingress.maxSkewSeconds + 60) * 1000)).status, 401);
    const headers = { 'content-type': 'application/json', ...signatureHeaders(SECRET, body) };
    assert.equal((await post(url, body, headers)).status, 202);
    const tampered = body.replace('Hello as JSON', 'Hello from elsewhere');
    assert.equal((await post(url, tampered, headers)).status, 401);
  });

  test('a payload that does not follow the schema is a 400 naming the field', async () => {
    const response = await send(JSON.stringify({ ...payload(unique('json-bad')), attachments: [{ filename: 'x' }] }));
    assert.equal(response.status, 400);
    assert.match(String(response.body.reason), /attachment 1/);
  });

  test('without a secret the route does not exist', async () => {
    const off = await harness.serve({ providers: { json: { secrets: [] } } });
    assert.equal((await post(`${off}/v1/inbound/json`, '{}', { 'content-type': 'application/json' })).status, 404);
  });

  test('the documented schema names every field the reader takes', () => {
    const schema = JSON.parse(readFileSync(path.join(ROOT, 'docs/inbound-json.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
    for (const key of Object.keys(payload('x'))) assert.ok(key in schema.properties, key);
  });
});
