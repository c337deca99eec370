import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRules, RulesError } from '../../src/rules';

describe('the per-domain acknowledgement budget in the rules file', () => {
  test('an empty rules file gives the documented default of 200 acknowledgements per domain per hour', () => {
    assert.deepEqual(parseRules({}).rateLimits.acknowledgementsPerDomain, { limit: 200, windowSeconds: 3600 });
  });

  test('it is configurable, and a field left out keeps its default', () => {
    const rules = parseRules({ rateLimits: { acknowledgementsPerDomain: { limit: 7 } } });
    assert.deepEqual(rules.rateLimits.acknowledgementsPerDomain, { limit: 7, windowSeconds: 3600 });
    assert.deepEqual(rules.rateLimits.acknowledgementsPerRecipient, { limit: 5, windowSeconds: 3600 }, 'the other budgets are untouched');
  });

  test('a limit or window of zero, a fraction, a string or a negative number is refused with the field named, never read as "no limit"', () => {
    for (const bad of [{ limit: 0 }, { limit: 1.5 }, { limit: '10' }, { limit: -1 }, { windowSeconds: 0 }, { windowSeconds: Number.NaN }]) {
      const field = 'limit' in bad ? 'limit' : 'windowSeconds';
      assert.throws(
        () => parseRules({ rateLimits: { acknowledgementsPerDomain: bad } }),
        (error: unknown) => error instanceof RulesError && error.message.includes(`rateLimits.acknowledgementsPerDomain.${field}`),
        JSON.stringify(bad),
      );
    }
  });

  test('a budget that is not an object is refused', () => {
    assert.throws(() => parseRules({ rateLimits: { acknowledgementsPerDomain: 10 } }), /rateLimits\.acknowledgementsPerDomain must be an object/);
    assert.throws(() => parseRules({ rateLimits: { acknowledgementsPerDomain: null } }), /rateLimits\.acknowledgementsPerDomain must be an object/);
  });
});
