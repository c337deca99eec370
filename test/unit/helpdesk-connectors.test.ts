import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeConnectors, parseConnectors } from '../../src/adapters/helpdesks/settings';
import { RoutingHelpdesk } from '../../src/adapters/helpdesks/routing-helpdesk';
import type { DeliveringHelpdesk } from '../../src/adapters/helpdesks/delivering-helpdesk';
import { ErrorType, TypedError } from '../../src/domain/errors';
import type { Helpdesk } from '../../src/ports/helpdesk';
import { parseRules, RulesError, unknownHelpdesks } from '../../src/rules';

const ZD = { name: 'zendesk-main', kind: 'zendesk', baseUrl: 'https://acme.zendesk.com/', auth: 'oauth', tokenEnv: 'ZD_TOKEN' };

test('a connector names its secret by environment variable; the secret is read, never described', () => {
  const [zd] = parseConnectors(JSON.stringify([ZD]), { ZD_TOKEN: 'very-secret-token' });
  assert.equal(zd?.secrets.token, 'very-secret-token');
  assert.equal(zd?.baseUrl, 'https://acme.zendesk.com');
  assert.deepEqual(zd?.options, { auth: 'oauth' });
  assert.equal(zd?.attachments, 'upload');
  assert.equal(zd?.canary.enabled, false, 'the canary is off by default');
  assert.ok(!JSON.stringify(describeConnectors([zd!])).includes('very-secret-token'));
});

test('connector settings fail with the field to fix, and never echo a secret', () => {
  const fails = (value: unknown, env: Record<string, string>, pattern: RegExp): void =>
    assert.throws(() => parseConnectors(JSON.stringify(value), env), (e: Error) => pattern.test(e.message) && !e.message.includes('very-secret'));
  fails([ZD], {}, /tokenEnv: ZD_TOKEN is not set/);
  fails([{ ...ZD, name: 'Has Spaces' }], { ZD_TOKEN: 'very-secret' }, /name must be/);
  fails([ZD, ZD], { ZD_TOKEN: 'very-secret' }, /used twice/);
  fails([{ ...ZD, name: 'built-in' }], { ZD_TOKEN: 'very-secret' }, /not "built-in"/);
  fails([{ ...ZD, baseUrl: 'ftp://x' }], { ZD_TOKEN: 'very-secret' }, /baseUrl/);
  fails([{ ...ZD, attachments: 'inline' }], { ZD_TOKEN: 'very-secret' }, /attachments/);
  fails([{ ...ZD, timeoutMs: 60_000 }], { ZD_TOKEN: 'very-secret' }, /timeoutMs/);
  fails({ not: 'a list' }, {}, /JSON list/);
  assert.deepEqual(parseConnectors(undefined, {}), []);
});

test('a queue may name its helpdesk connector; an unconfigured name is found before start', () => {
  const rules = parseRules({ queues: [{ address: 'support@x.example', helpdesk: 'zendesk-main' }, { address: 'it@x.example' }], defaultQueue: 'support@x.example' });
  assert.equal(rules.queues[0]?.helpdesk, 'zendesk-main');
  assert.equal(rules.queues[1]?.helpdesk, undefined);
  assert.deepEqual(unknownHelpdesks(rules, ['built-in', 'zendesk-main']), []);
  assert.deepEqual(unknownHelpdesks(rules, ['built-in']), ['support@x.example → zendesk-main']);
  assert.throws(() => parseRules({ queues: [{ address: 'a@x.example', helpdesk: 'No Good' }], defaultQueue: 'a@x.example' }), RulesError);
});

function recording(name: string, calls: string[]): Helpdesk {
  const ticket = { id: `${name}-t`, number: 1, subject: 's', requester: 'r@x.example', queue: 'q', status: 'open' as const, priority: 'normal' as const, tags: [], linkedTicketId: null };
  return {
    createTicket: async () => (calls.push(`${name}.create`), { ticket, created: true }),
    findByExternalRef: async () => null,
    addComment: async () => (calls.push(`${name}.comment`), { comment: { id: 'c' }, created: true }),
    getTicket: async (id) => ({ ...ticket, id, queue: id.startsWith('it') ? 'it@x.example' : 'support@x.example' }),
    attachmentNames: async () => [],
    getTicketByNumber: async () => null,
    setStatus: async () => ticket,
    noteQueue: async () => undefined,
    moveTicket: async () => ticket,
    ping: async () => undefined,
  };
}

test('each queue\'s tickets go to its connector, and a ticket stays with the connector that holds it', async () => {
  const calls: string[] = [];
  const zendesk = recording('zendesk', calls) as unknown as DeliveringHelpdesk;
  const rules = { queues: [{ address: 'support@x.example', helpdesk: 'zendesk-main' }, { address: 'it@x.example' }] };
  const delivered = new Set(['support-1']);
  const router = new RoutingHelpdesk(recording('builtin', calls), new Map([['zendesk-main', zendesk]]), rules, {
    deliveredId: async ({ ticketId }) => (delivered.has(ticketId) ? '1001' : null),
  });
  const comment = { messageId: 'm@x', author: 'r@x.example', text: 't', html: null, attachments: [] };
  await router.createTicket({ originKey: 'k', subject: 's', requester: 'r@x.example', queue: 'support@x.example', comment });
  await router.createTicket({ originKey: 'k2', subject: 's', requester: 'r@x.example', queue: 'it@x.example', comment });
  await router.addComment('support-1', comment);
  await router.addComment('it-7', comment);
  rules.queues[0]!.helpdesk = 'built-in';
  await router.addComment('support-1', comment);
  assert.deepEqual(calls, ['zendesk.create', 'builtin.create', 'zendesk.comment', 'builtin.comment', 'zendesk.comment']);
  rules.queues[0]!.helpdesk = 'gone';
  await assert.rejects(
    router.createTicket({ originKey: 'k3', subject: 's', requester: 'r@x.example', queue: 'support@x.example', comment }),
    (e: unknown) => e instanceof TypedError && e.type === ErrorType.RemoteRejected,
  );
});
