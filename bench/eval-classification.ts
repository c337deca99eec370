/**
 * Classification quality on the labelled evaluation set (test/fixtures/eval): confusion table,
 * precision and recall per class, hard/soft accuracy on bounces, and every misclassified file with
 * the evidence the classifier recorded. Exit code 1 when any case is wrong.
 *   scripts/with-env node dist/bench/eval-classification.js
 */
import { EVAL_CLASSES, evaluateClassification } from './eval-classification-core';

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;

async function main(): Promise<void> {
  const result = await evaluateClassification();
  const actualColumns = [...EVAL_CLASSES, ...(result.wrong.some((w) => w.actual === 'error') ? ['error'] : [])];
  const width = Math.max(...EVAL_CLASSES.map((c) => c.length)) + 2;
  const cell = (text: string | number): string => String(text).padStart(width);

  console.log(`Classification evaluation: ${result.total} labelled messages\n`);
  console.log('confusion (rows: expected, columns: actual)');
  console.log(`${''.padEnd(width)}${actualColumns.map(cell).join('')}`);
  for (const expected of EVAL_CLASSES) {
    const row = result.confusion[expected] ?? {};
    console.log(`${expected.padEnd(width)}${actualColumns.map((a) => cell(row[a] ?? 0)).join('')}`);
  }

  console.log(`\n${'class'.padEnd(width)}${cell('support')}${cell('precision')}${cell('recall')}`);
  for (const cls of EVAL_CLASSES) {
    const m = result.perClass[cls]!;
    console.log(`${cls.padEnd(width)}${cell(m.support)}${cell(pct(m.precision))}${cell(pct(m.recall))}`);
  }
  const nonHuman = result.total - (result.perClass.human?.support ?? 0);
  console.log(`\nnon-human ${nonHuman}, human ${result.perClass.human?.support ?? 0}`);
  const { correct, total } = result.bounceKinds;
  console.log(`bounce hard/soft: ${correct}/${total} correct (${pct(total === 0 ? 1 : correct / total)})`);
  const w = result.withheld;
  console.log(`human not acknowledged (suspect): support ${w.support}, predicted ${w.predicted}, precision ${pct(w.precision)}, recall ${pct(w.recall)}`);

  if (result.wrong.length === 0) {
    console.log('\nno misclassified messages');
    return;
  }
  console.log(`\n${result.wrong.length} misclassified:`);
  for (const w of result.wrong) {
    console.log(`  ${w.path}\n    expected ${w.expected}, got ${w.actual}\n    evidence: ${w.evidence.join(', ') || '(none)'}`);
  }
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
