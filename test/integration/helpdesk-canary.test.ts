/**
 * The helpdesk canary: its workflow, on the dev server, creates a test ticket in the Zendesk
 * stand-in and closes it; a run repeated (a retried attempt) finds its ticket instead of opening
 * another; the schedule exists only while the canary is enabled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ZendeskConnector } from '../../src/adapters/helpdesks/zendesk/zendesk';
import { parseConnectors } from '../../src/adapters/helpdesks/settings';
import { createHelpdeskCanary } from '../../src/activities/helpdesk-canary';
import { canaryScheduleId, ensureCanarySchedules } from '../../src/canary-schedule';
import { helpdeskCanary } from '../../src/workflows';
import { withInProcessWorker, withTemporal } from '../helpers/pipeline';
import { unique } from '../helpers/stack';
import { ZendeskStandIn } from '../stand-ins/zendesk';

describe('helpdesk canary', () => {
  const standIn = new ZendeskStandIn({ bearer: 'canary-token' });
  let baseUrl = '';
  before(async () => {
    baseUrl = await standIn.start();
  });
  after(() => standIn.stop());

  test('a canary run opens one test ticket in the helpdesk and closes it, even when run twice', async () => {
    const connector = new ZendeskConnector({ name: 'zd-canary', baseUrl, auth: { kind: 'oauth', token: 'canary-token' } });
    const activities = { helpdeskCanary: createHelpdeskCanary({ canaries: new Map([['zd-canary', { connector, requester: 'canary@mailgate.example' }]]) }) };
    const workflowId = unique('helpdesk-canary/zd-canary');
    await withInProcessWorker({ workflowsPath: require.resolve('../../src/workflows'), activities, prefix: 'canary' }, async (client, taskQueue) => {
      const result = await client.workflow.execute(helpdeskCanary, { workflowId, taskQueue, args: [{ connector: 'zd-canary' }] });
      const again = await activities.helpdeskCanary({ connector: 'zd-canary', runId: workflowId });
      assert.equal(again.externalId, result.externalId);
    });
    const tickets = standIn.ticketsFor(`canary-${workflowId}`);
    assert.equal(tickets.length, 1);
    assert.equal(tickets[0]?.status, 'solved');
    assert.ok(tickets[0]?.tags.includes('mailgate_canary'));
  });

  test('the schedule is created while the canary is enabled and deleted when it is turned off', async () => {
    const taskQueue = unique('canary-schedule');
    const settings = (enabled: boolean) =>
      parseConnectors(JSON.stringify([{ name: 'zd-canary', kind: 'zendesk', baseUrl, tokenEnv: 'T', canary: { enabled, everyMinutes: 30 } }]), { T: 'canary-token' });
    const log = { info: () => undefined };
    await withTemporal(async (client) => {
      await ensureCanarySchedules({ client, taskQueue, connectors: settings(true), log });
      const described = await client.schedule.getHandle(canaryScheduleId(taskQueue, 'zd-canary')).describe();
      assert.equal(described.spec.intervals?.[0]?.every, 30 * 60_000);
      await ensureCanarySchedules({ client, taskQueue, connectors: settings(false), log });
      await assert.rejects(client.schedule.getHandle(canaryScheduleId(taskQueue, 'zd-canary')).describe());
    });
  });
});
