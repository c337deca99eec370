// Lint: type-aware rules for the mistakes that hide failures (floating promises, `any` where
// untrusted email enters), and the layering rules: workflow files import no Node built-ins,
// adapters or activities (types excepted), because workflow code must stay deterministic; the
// domain imports nothing outside src/domain (types included), because it is the pure core every
// other layer builds on; and no file reaches itself through its imports (eslint-rules/).
const { builtinModules } = require('node:module');
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const noImportCycles = require('./eslint-rules/no-import-cycles');

/** Everything in src/ outside the domain, as it would be imported from a domain file. */
const outsideDomain = ['adapters', 'parsing', 'config', 'rules', 'activities', 'api', 'workflows', 'ingress', 'ports', 'worker', 'worker-metrics', 'logger', 'metrics', 'cli']
  .flatMap((name) => [`**/${name}`, `**/${name}/**`]);
const domainIsPure =
  'The domain is pure: it imports only src/domain and packages, never adapters, parsing, config, rules, ports or the runtimes. Move the shared type into src/domain.';
/** A specifier that climbs out of its folder: from a file in src/domain, out of the domain. */
const relativeUp = 'Literal[value=/^\\.\\./]';

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
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    plugins: { mailgate: { rules: { 'no-import-cycles': noImportCycles } } },
    rules: { 'mailgate/no-import-cycles': 'error' },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: outsideDomain, message: domainIsPure }] }],
      // no-restricted-imports sees import/export declarations only; these are the other ways in.
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression > ${relativeUp}.source`, message: domainIsPure },
        { selector: `CallExpression[callee.name='require'] > ${relativeUp}.arguments`, message: domainIsPure },
        { selector: `TSImportType ${relativeUp}`, message: domainIsPure },
      ],
    },
  },
  {
    files: ['eslint-rules/**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
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
