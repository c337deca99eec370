/**
 * Redaction cost: milliseconds per MB of text and of HTML for ordinary mail dense with secrets and
 * for each adversarial input, beside the bare engine in the same run (one pass of a trivial global
 * regex over the same bytes, which no redactor can beat). `node dist/bench/redaction.js [--mb N]`
 */
import { parseArgs } from 'node:util';
import { DEFAULT_REDACTION_POLICY, redactHtml, redactText } from '../src/domain/redact';
import { ADVERSARIAL, adversarial, fill, MB, SECRET_LINE } from './redaction-inputs';

function bestOf(runs: number, work: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    work();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' } } });
const bytes = Math.round(Number(values.mb) * MB);
const runs = Number(values.runs);
if (!(bytes > 0) || !(runs >= 1)) throw new Error('--mb and --runs must be positive numbers');

const inputs: [string, string][] = [['mail dense with secrets', fill(SECRET_LINE, bytes)], ...Object.keys(ADVERSARIAL).map((n): [string, string] => [n, adversarial(n, bytes)])];
const perMb = (ms: number): string => (ms / (bytes / MB)).toFixed(1);
process.stdout.write(`input (${(bytes / MB).toFixed(2)} MB each, best of ${runs})`.padEnd(44) + 'bare ms/MB  text ms/MB  html ms/MB\n');
for (const [name, text] of inputs) {
  redactText(text.slice(0, 10_000), DEFAULT_REDACTION_POLICY);
  const bare = bestOf(runs, () => text.replace(/\d/g, '#'));
  const plain = bestOf(runs, () => redactText(text, DEFAULT_REDACTION_POLICY));
  const html = bestOf(runs, () => redactHtml(text, DEFAULT_REDACTION_POLICY));
  process.stdout.write(`${name.padEnd(44)}${perMb(bare).padStart(10)}${perMb(plain).padStart(11)}${perMb(html).padStart(12)}\n`);
}
