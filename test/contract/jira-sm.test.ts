/**
 * The Helpdesk contract against the Jira Service Management connector and its loopback stand-in,
 * with Prism validating every platform call against Jira's published spec (started once: 5-15 s).
 */
import assert from 'node:assert/strict';
import { helpdeskContract } from './helpdesk.contract';
import { jsmUnderTest } from '../stand-ins/jira-sm/harness';

helpdeskContract('Jira Service Management (stand-in behind Prism)', async () => {
  const under = await jsmUnderTest({ prism: true, searchLagMs: 2_000 });
  return {
    ...under,
    cleanup: async () => {
      const validated = under.standIn.viaPrism();
      await under.cleanup();
      assert.ok(validated > 0, 'no platform call went through Prism');
    },
  };
});
