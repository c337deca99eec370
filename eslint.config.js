// Lint: type-aware rules for the mistakes that hide failures (floating promises, `any` where
// untrusted email enters), and the workflow sandbox rule: workflow files import no Node built-ins,
// adapters or activities (types excepted), because workflow code must stay deterministic.
const { builtinModules } = require('node:module');
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

const builtins = builtinModules.filter((m) => !m.startsWith('_')).flatMap((m) => [m, `node:${m}`]);

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/ban-ts-comment': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    files: ['src/workflows/**/*.ts', 'test/workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtins.map((name) => ({ name, message: 'Workflow code is sandboxed: no Node built-ins.' })),
          patterns: [
            { group: ['**/adapters/**', '**/adapters'], message: 'Workflows reach adapters only through activities.', allowTypeImports: true },
            { group: ['**/activities/**', '**/activities'], message: 'Import activities as types only (proxyActivities).', allowTypeImports: true },
            { group: ['**/config', '**/logger', '**/metrics', '**/domain/idempotency', '**/api/**'], message: 'Not deterministic or not for workflows.' },
          ],
        },
      ],
    },
  },
);
