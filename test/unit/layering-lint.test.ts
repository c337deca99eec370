import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ESLint, Linter } from 'eslint';
import tseslint from 'typescript-eslint';

/*
 * The layering rules of eslint.config.js, run on small fixtures: the real configuration's rules
 * (read through ESLint's own config resolution), without type information, so each check takes
 * milliseconds and needs no build of the fixture.
 */
const ROOT = path.resolve(__dirname, '../../..');

/** A two-file cycle through type-only imports, the shape the attachment policy and archive inspector had. */
const CYCLE_FIXTURE: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, include: ['*.ts'] }),
  'policy.ts': "import type { Report } from './inspect';\nexport interface Policy { report?: Report }\n",
  'inspect.ts': "import type { Policy } from './policy';\nexport interface Report { policy: Policy }\n",
  'leaf.ts': 'export const leaf = 1;\n',
  'user.ts': "import { leaf } from './leaf';\nexport const user = leaf;\n",
};

async function configFor(file: string): Promise<Linter.Config> {
  return (await new ESLint({ cwd: ROOT }).calculateConfigForFile(path.join(ROOT, file))) as Linter.Config;
}

function lint(code: string, filename: string, config: Linter.Config, cwd = ROOT): Linter.LintMessage[] {
  return new Linter({ cwd }).verify(code, [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, ...config }], { filename });
}

describe('layering lint', () => {
  let domainRules: Linter.Config;
  let cycleRule: Linter.Config;
  let fixture: string;

  before(async () => {
    const domain = await configFor('src/domain/probe.ts');
    domainRules = {
      plugins: { '@typescript-eslint': tseslint.plugin },
      rules: {
        '@typescript-eslint/no-restricted-imports': domain.rules?.['@typescript-eslint/no-restricted-imports'],
        'no-restricted-syntax': domain.rules?.['no-restricted-syntax'],
      } as Linter.RulesRecord,
    };
    const anyFile = await configFor('test/unit/probe.ts');
    cycleRule = { plugins: { mailgate: anyFile.plugins?.['mailgate'] as ESLint.Plugin }, rules: { 'mailgate/no-import-cycles': 'error' } };

    fixture = mkdtempSync(path.join(tmpdir(), 'mailgate-cycles-'));
    for (const [name, text] of Object.entries(CYCLE_FIXTURE)) writeFileSync(path.join(fixture, name), text);
  });

  after(() => rmSync(fixture, { recursive: true, force: true }));

  test('a domain file that imports a type from an adapter fails lint, naming the rule broken', () => {
    const messages = lint("import type { TicketStore } from '../adapters/ticket-store/types';\nexport type S = TicketStore;\n", 'src/domain/probe.ts', domainRules);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.ruleId, '@typescript-eslint/no-restricted-imports');
    assert.match(messages[0]?.message ?? '', /The domain is pure/);
  });

  test('a domain file that reaches rules, config or parsing by require() or a type-level import() fails lint', () => {
    const code = [
      "export type C = typeof import('../config');",
      "export const load = (): Promise<unknown> => import('../rules');",
      "export const p: unknown = require('../parsing/parse-mime');",
    ].join('\n');
    const flagged = lint(code, 'src/domain/probe.ts', domainRules).filter((m) => m.ruleId === 'no-restricted-syntax');
    assert.deepEqual(flagged.map((m) => m.line), [1, 2, 3]);
  });

  test('a domain file that imports the domain and packages passes', () => {
    const code = "import { domainOf } from './addresses';\nimport { createHash } from 'node:crypto';\nexport const x = [domainOf, createHash];\n";
    assert.deepEqual(lint(code, 'src/domain/probe.ts', domainRules), []);
  });

  test('two files that import each other by type only are both reported with the cycle spelled out', () => {
    for (const [file, other] of [['policy.ts', 'inspect.ts'], ['inspect.ts', 'policy.ts']] as const) {
      const messages = lint(CYCLE_FIXTURE[file] ?? '', path.join(fixture, file), cycleRule, fixture);
      assert.equal(messages.length, 1, `${file}: ${JSON.stringify(messages)}`);
      assert.equal(messages[0]?.ruleId, 'mailgate/no-import-cycles');
      assert.equal(messages[0]?.message, `Import cycle: ${file} → ${other} → ${file}. Move what both sides need into a module that neither imports.`);
    }
  });

  test('an import that closes no cycle is not reported', () => {
    assert.deepEqual(lint(CYCLE_FIXTURE['user.ts'] ?? '', path.join(fixture, 'user.ts'), cycleRule, fixture), []);
  });
});
