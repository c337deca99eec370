/**
 * Issue 12, class 6: who may write to a ticket. The pure rules (src/domain/participants.ts and the
 * ticket action) and their configuration; the pipeline cases are in
 * test/integration/trust-threading.test.ts, the ledger's participant records in test/contract/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config';
import { ticketAction } from '../../src/domain/decisions';
import { isAgent, isSignedRule, isStrangerReply } from '../../src/domain/participants';
import type { ThreadRule } from '../../src/domain/vocabulary';
import { MINIMAL_ENV } from '../helpers/env';

const UNSIGNED: ThreadRule[] = ['message-id', 'body-marker', 'subject-token', 'bounce-original', 'subject-participant'];
const SIGNED: ThreadRule[] = ['reply-token', 'own-message-id'];

describe('a stranger is whoever does not take part, by every rule that is not a signed token', () => {
  test('only our signed Message-ID and the signed reply token count as signed; the body marker is quoted text and does not', () => {
    assert.deepEqual(SIGNED.map(isSignedRule), [true, true]);
    assert.deepEqual(UNSIGNED.map(isSignedRule), [false, false, false, false, false]);
  });

  test('a non-participant matched by any unsigned rule is a stranger, on an open or a closed ticket', () => {
    for (const rule of UNSIGNED) {
      for (const ticketStatus of ['open', 'pending', 'closed', null] as const) {
        assert.equal(isStrangerReply({ rule, participant: false, ticketStatus }), true, `${rule} ${ticketStatus}`);
      }
    }
  });

  test('a non-participant with a signed token comments on an open ticket but is a stranger to a closed one (never reopens)', () => {
    for (const rule of SIGNED) {
      assert.equal(isStrangerReply({ rule, participant: false, ticketStatus: 'open' }), false, rule);
      assert.equal(isStrangerReply({ rule, participant: false, ticketStatus: 'closed' }), true, rule);
    }
  });

  test('a participant is never a stranger; a match from before senders were checked keeps the old behaviour', () => {
    for (const rule of [...SIGNED, ...UNSIGNED]) {
      assert.equal(isStrangerReply({ rule, participant: true, ticketStatus: 'closed' }), false);
      assert.equal(isStrangerReply({ rule, participant: undefined, ticketStatus: 'closed' }), false);
    }
  });
});

describe('what a stranger reply does to the ticket', () => {
  const base = { threaded: true, automated: false, ticketStatus: 'open' as const, closedReply: 'reopen' as const };

  test('with STRANGER_REPLY=new-ticket a stranger opens a new linked ticket, on an open or a closed ticket', () => {
    assert.equal(ticketAction({ ...base, stranger: true, strangerReply: 'new_ticket' }), 'open_linked');
    assert.equal(ticketAction({ ...base, ticketStatus: 'closed', stranger: true, strangerReply: 'new_ticket' }), 'open_linked');
  });

  test('with STRANGER_REPLY=internal-note a stranger adds an internal note and never reopens a closed ticket', () => {
    assert.equal(ticketAction({ ...base, stranger: true, strangerReply: 'internal_note' }), 'note');
    assert.equal(ticketAction({ ...base, ticketStatus: 'closed', stranger: true, strangerReply: 'internal_note' }), 'note');
  });

  test('a participant still comments, and reopens a closed ticket under the reopen policy', () => {
    assert.equal(ticketAction({ ...base, stranger: false, strangerReply: 'new_ticket' }), 'comment');
    assert.equal(ticketAction({ ...base, ticketStatus: 'closed', stranger: false, strangerReply: 'new_ticket' }), 'reopen');
  });

  test('automated mail from a stranger stays an internal note', () => {
    assert.equal(ticketAction({ ...base, automated: true, stranger: true, strangerReply: 'new_ticket' }), 'note');
  });
});

describe('agents take part in every ticket', () => {
  const agents = ['ann@helpdesk.example', '@agents.example'];

  test('an agent address matches by mailbox: case and plus-tag do not matter', () => {
    for (const a of ['ann@helpdesk.example', 'ANN@Helpdesk.Example', 'ann+t42@helpdesk.example']) assert.equal(isAgent(agents, a), true, a);
  });

  test('an @domain entry matches every mailbox of that domain and no other domain', () => {
    assert.equal(isAgent(agents, 'bob@Agents.Example'), true);
    assert.equal(isAgent(agents, 'bob@agents.example.evil'), false);
    assert.equal(isAgent(agents, 'bob@sub.agents.example'), false);
    assert.equal(isAgent(agents, 'agents.example@evil.example'), false);
  });

  test('another mailbox of the agent domain is not the agent address; no agents configured means none', () => {
    assert.equal(isAgent(agents, 'anne@helpdesk.example'), false);
    assert.equal(isAgent([], 'ann@helpdesk.example'), false);
  });
});

describe('configuration of the stranger policy and agents', () => {
  test('STRANGER_REPLY defaults to new-ticket and accepts internal-note; anything else stops the start, naming the variable', () => {
    assert.equal(loadConfig({ ...MINIMAL_ENV }).trust.strangerReply, 'new_ticket');
    assert.equal(loadConfig({ ...MINIMAL_ENV, STRANGER_REPLY: 'internal-note' }).trust.strangerReply, 'internal_note');
    for (const bad of ['reopen', 'comment', 'new_ticket']) assert.throws(() => loadConfig({ ...MINIMAL_ENV, STRANGER_REPLY: bad }), /STRANGER_REPLY/, bad);
  });

  test('AGENT_ADDRESSES lists addresses and @domains; a malformed entry is refused, not skipped', () => {
    assert.deepEqual(loadConfig({ ...MINIMAL_ENV }).trust.agentAddresses, []);
    assert.deepEqual(loadConfig({ ...MINIMAL_ENV, AGENT_ADDRESSES: 'Ann@Helpdesk.example, @agents.example,' }).trust.agentAddresses, ['ann@helpdesk.example', '@agents.example']);
    for (const bad of ['ann', '@', 'ann@', '@@agents.example', 'a b@x.example']) {
      assert.throws(() => loadConfig({ ...MINIMAL_ENV, AGENT_ADDRESSES: bad }), /AGENT_ADDRESSES/, bad);
    }
  });
});
