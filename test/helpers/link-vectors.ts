/**
 * test/fixtures/xss/links.json: links the normaliser keeps (with the href it must write out) and
 * links it refuses (with the reason). Shared by the normaliser's unit test and the sanitizer's
 * link corpus, so a case added there is tried at both levels.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LinkRefusal } from '../../src/domain/link-url';

const REFUSALS: readonly LinkRefusal[] = ['empty', 'relative', 'scheme', 'no-authority', 'unparseable', 'credentials', 'idn-host', 'internal-host'];
// From dist/test/helpers/ (test/helpers/stack.ts would start a Temporal runtime just for its ROOT).
const FILE = path.resolve(__dirname, '../../..', 'test/fixtures/xss/links.json');

const pairs = (value: unknown): Array<[string, string]> => {
  if (!Array.isArray(value) || !value.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string'))) {
    throw new Error(`${FILE}: expected an array of [input, expected] string pairs`);
  }
  return value as Array<[string, string]>;
};

function load(): { kept: Array<[string, string]>; refused: Array<[string, LinkRefusal]> } {
  const json = JSON.parse(readFileSync(FILE, 'utf8')) as { kept?: unknown; refused?: unknown };
  const refused = pairs(json.refused).map(([input, reason]): [string, LinkRefusal] => {
    const refusal = REFUSALS.find((r) => r === reason);
    if (refusal === undefined) throw new Error(`${FILE}: unknown refusal ${reason}`);
    return [input, refusal];
  });
  return { kept: pairs(json.kept), refused };
}

export const LINKS = load();
