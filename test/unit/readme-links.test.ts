/**
 * Every file the README points at exists in the repository: markdown links, and paths written as
 * code (`src/config.ts`, `config/docker/clamd.conf`, `dist/bench/load.js` for bench/load.ts, a test
 * named by its file name). Runtime folders (.data/) and object keys (raw/<sha256>) are not files of
 * the repository and are left out; a glob is checked up to its first wildcard.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The repository root, from dist/test/unit/. */
const ROOT = path.resolve(__dirname, '../../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
/** Top-level folders whose paths the README names; a path under another word is not a file reference. */
const REPO_DIRS = ['src', 'test', 'scripts', 'config', 'deploy', 'docs', 'bench', 'examples', 'eslint-rules', 'dist'];
const ROOT_FILES = ['Makefile', 'Dockerfile', 'docker-compose.yml', 'package.json', 'package-lock.json', 'tsconfig.json', 'eslint.config.js', 'README.md'];
/** Bare file names (`pipeline.test.ts`) are looked for in these folders. */
const SEARCHED = ['src', 'test', 'bench', 'scripts', 'config', 'deploy', 'docs', 'eslint-rules'];

function filesUnder(dir: string, out: Set<string> = new Set()): Set<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const at = path.join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(at, out);
    else out.add(entry.name);
  }
  return out;
}

/** The repository path a reference stands for: dist/X.js is compiled from X.ts; a glob stops at its wildcard. */
function sourcePath(reference: string): string {
  let p = reference.replace(/[.,:;]+$/, '');
  const wildcard = p.search(/[*?[]/);
  if (wildcard >= 0) p = p.slice(0, p.lastIndexOf('/', wildcard) + 1);
  if (p.startsWith('dist/')) p = p.slice('dist/'.length).replace(/\.js$/, '.ts');
  return p;
}

/** Markdown link targets (not URLs or anchors) and code spans' path-like words. */
function references(): { links: string[]; paths: string[]; names: string[] } {
  const links = [...README.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^(https?:|mailto:|#)/.test(t));
  const words = [...README.matchAll(/`([^`\n]+)`/g)].flatMap((m) => m[1]!.split(/[\s,()'"=]+/)).filter(Boolean);
  const paths = words.filter((w) => REPO_DIRS.some((d) => w.startsWith(`${d}/`)) || ROOT_FILES.includes(w)).filter((w) => !/[<>…]/.test(w));
  const names = words.filter((w) => !w.includes('/') && /^[\w.-]+\.(ts|json|ya?ml|md|eml|ndb|conf|in|env|sh)$/.test(w) && !ROOT_FILES.includes(w));
  return { links, paths, names };
}

test('every markdown link in the README to a repository path exists', () => {
  const { links } = references();
  assert.ok(links.length > 0, 'the README links docs/architecture.md at least');
  const missing = links.filter((link) => !existsSync(path.join(ROOT, link.split('#')[0]!)));
  assert.deepEqual(missing, [], 'the README links files the repository does not have');
});

test('every repository path the README names as code exists (dist/… by its TypeScript source)', () => {
  const { paths } = references();
  assert.ok(paths.length > 50, `the README names the repository's files (found ${paths.length})`);
  const missing = paths.filter((p) => !existsSync(path.join(ROOT, sourcePath(p))));
  assert.deepEqual([...new Set(missing)], [], 'the README names files the repository does not have');
});

test('every file the README names without its folder exists somewhere in the repository', () => {
  const { names } = references();
  const known = new Set<string>();
  for (const dir of SEARCHED) if (statSync(path.join(ROOT, dir), { throwIfNoEntry: false })?.isDirectory()) filesUnder(path.join(ROOT, dir), known);
  const missing = names.filter((name) => !known.has(name) && !existsSync(path.join(ROOT, name)));
  assert.deepEqual([...new Set(missing)], [], 'the README names files the repository does not have');
});

test('the checker catches a missing file: a made-up path is reported, a real one is not', () => {
  assert.equal(existsSync(path.join(ROOT, sourcePath('dist/bench/time-to-ticket.js'))), true);
  assert.equal(existsSync(path.join(ROOT, sourcePath('dist/bench/no-such-benchmark.js'))), false);
  assert.equal(sourcePath('dist/test/unit/**/*.test.js'), 'test/unit/');
});
