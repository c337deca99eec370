/**
 * Code size report: the largest source files (lines) and the longest functions (lines from the
 * function's first to its last line) under src/. `npm run size` prints them, for reviews of
 * refactors that promise smaller units.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const root = path.resolve(__dirname, '../..');
const top = Number(process.argv[2] ?? 5);

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return full.endsWith('.ts') ? [full] : [];
  });
}

const files: { file: string; lines: number }[] = [];
const functions: { name: string; file: string; lines: number }[] = [];
for (const file of sources(path.join(root, 'src'))) {
  const text = readFileSync(file, 'utf8');
  const relative = path.relative(root, file);
  files.push({ file: relative, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) });
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const named = (node as ts.FunctionLikeDeclaration).name;
      const parent = node.parent;
      const name = named
        ? named.getText(source)
        : ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)
          ? parent.name.getText(source)
          : '(anonymous)';
      functions.push({ name, file: relative, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
files.sort((a, b) => b.lines - a.lines);
functions.sort((a, b) => b.lines - a.lines);
console.log(`largest files (lines) of ${files.length}:`);
for (const f of files.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.file}`);
console.log(`longest functions (lines) of ${functions.length}:`);
for (const f of functions.slice(0, top)) console.log(`  ${String(f.lines).padStart(5)}  ${f.name}  ${f.file}`);
