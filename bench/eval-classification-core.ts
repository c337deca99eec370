/**
 * The classification evaluation: every labelled message of test/fixtures/eval/classification.tsv is
 * parsed with the real streaming parser (part bytes discarded) and classified as the worker would,
 * with the evaluation's own identity (instance id "mailgate-eval", domain mailgate.local).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { domainOf } from '../src/domain/addresses';
import { classifyEmail, type ClassifyContext, type EmailClass } from '../src/domain/classify';
import { DEFAULT_LIMITS } from '../src/domain/limits';
import { parseMime, type PartSink } from '../src/parsing/parse-mime';

export const EVAL_CLASSES: readonly EmailClass[] = ['human', 'auto_reply', 'auto_generated', 'bounce', 'own_loop'];

/** From dist/bench/ back to the repository. */
export const REPO_ROOT = path.resolve(__dirname, '../..');
export const EVAL_DIR = path.join(REPO_ROOT, 'test/fixtures/eval');

export const EVAL_CONTEXT: ClassifyContext = {
  instanceId: 'mailgate-eval',
  isOwnAddress: (address) => domainOf(address) === 'mailgate.local',
  isOwnMessageId: (id) => id.startsWith('ack.') && id.endsWith('@mailgate.local'),
  allowlist: [],
};

export interface LabelledCase {
  path: string;
  emailClass: EmailClass;
  bounceKind: 'hard' | 'soft' | null;
  source: string;
  licence: string;
  note: string;
  /** Human mail that must open its ticket without an acknowledgement (suspect evidence, Classification.suspectedAutomated). */
  withheld: boolean;
}

export interface WrongCase {
  path: string;
  expected: string;
  actual: string;
  evidence: string[];
}

export interface EvaluationResult {
  total: number;
  wrong: WrongCase[];
  perClass: Record<string, { precision: number; recall: number; support: number }>;
  /** confusion[expected][actual] = count */
  confusion: Record<string, Record<string, number>>;
  /** Bounces labelled and classified as bounces: how many got hard/soft right. */
  bounceKinds: { correct: number; total: number };
  /** Human mail left unacknowledged (suspect): precision and recall against the `ack` column. */
  withheld: { precision: number; recall: number; support: number; predicted: number };
}

function isClass(value: string): value is EmailClass {
  return (EVAL_CLASSES as readonly string[]).includes(value);
}

export async function readLabels(evalDir: string = EVAL_DIR): Promise<LabelledCase[]> {
  const lines = (await readFile(path.join(evalDir, 'classification.tsv'), 'utf8')).split('\n');
  const header = lines.shift()?.split('\t') ?? [];
  if (header.join(',') !== 'path,class,bounce_kind,source,licence,note,ack') throw new Error(`unexpected header in classification.tsv: ${header.join(',')}`);
  return lines
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const [file = '', cls = '', kind = '', source = '', licence = '', note = '', ack = ''] = line.split('\t');
      if (!isClass(cls)) throw new Error(`classification.tsv line ${i + 2}: unknown class "${cls}"`);
      if (cls === 'bounce' ? kind !== 'hard' && kind !== 'soft' : kind !== '') {
        throw new Error(`classification.tsv line ${i + 2}: bounce_kind "${kind}" does not fit class ${cls}`);
      }
      if (ack !== '' && !(ack === 'withheld' && cls === 'human')) throw new Error(`classification.tsv line ${i + 2}: ack "${ack}" (only "withheld", on human mail)`);
      return { path: file, emailClass: cls, bounceKind: kind === 'hard' || kind === 'soft' ? kind : null, source, licence, note, withheld: ack === 'withheld' };
    });
}

const discard: PartSink = async (_part, content: Readable) => {
  await new Promise<void>((resolve, reject) => {
    content.on('end', resolve);
    content.on('error', reject);
    content.resume();
  });
  return { partKey: '' };
};

const label = (cls: string, kind: string | null | undefined): string => (kind ? `${cls} (${kind})` : cls);
const ackLabel = (withheld: boolean): string => (withheld ? ' (not acknowledged)' : '');

export async function evaluateClassification(evalDir: string = EVAL_DIR): Promise<EvaluationResult> {
  const cases = await readLabels(evalDir);
  const confusion: Record<string, Record<string, number>> = {};
  const wrong: WrongCase[] = [];
  const bounceKinds = { correct: 0, total: 0 };
  const withheld = { truePositives: 0, predicted: 0, support: 0 };
  for (const c of cases) {
    let actual: string;
    let actualKind: string | null = null;
    let actualWithheld = false;
    let evidence: string[] = [];
    try {
      const doc = await parseMime(createReadStream(path.join(evalDir, c.path)), { limits: DEFAULT_LIMITS, sink: discard });
      const result = classifyEmail(doc, EVAL_CONTEXT);
      actual = result.emailClass;
      actualKind = result.bounce?.kind ?? null;
      actualWithheld = result.suspectedAutomated === true;
      evidence = result.evidence;
    } catch (error) {
      actual = 'error';
      evidence = [error instanceof Error ? error.message : String(error)];
    }
    const row = (confusion[c.emailClass] ??= {});
    row[actual] = (row[actual] ?? 0) + 1;
    if (c.emailClass === 'bounce' && actual === 'bounce') {
      bounceKinds.total += 1;
      if (actualKind === c.bounceKind) bounceKinds.correct += 1;
    }
    if (c.withheld) withheld.support += 1;
    if (actualWithheld) withheld.predicted += 1;
    if (c.withheld && actualWithheld) withheld.truePositives += 1;
    if (actual !== c.emailClass || (actual === 'bounce' && actualKind !== c.bounceKind) || (actual === 'human' && actualWithheld !== c.withheld)) {
      wrong.push({
        path: c.path,
        expected: label(c.emailClass, c.bounceKind) + ackLabel(c.withheld),
        actual: label(actual, actualKind) + ackLabel(actualWithheld),
        evidence,
      });
    }
  }
  const perClass: EvaluationResult['perClass'] = {};
  for (const cls of EVAL_CLASSES) {
    const support = Object.values(confusion[cls] ?? {}).reduce((a, b) => a + b, 0);
    const truePositives = confusion[cls]?.[cls] ?? 0;
    const predicted = Object.values(confusion).reduce((sum, row) => sum + (row[cls] ?? 0), 0);
    perClass[cls] = {
      precision: predicted === 0 ? 1 : truePositives / predicted,
      recall: support === 0 ? 1 : truePositives / support,
      support,
    };
  }
  return {
    total: cases.length,
    wrong,
    perClass,
    confusion,
    bounceKinds,
    withheld: {
      precision: withheld.predicted === 0 ? 1 : withheld.truePositives / withheld.predicted,
      recall: withheld.support === 0 ? 1 : withheld.truePositives / withheld.support,
      support: withheld.support,
      predicted: withheld.predicted,
    },
  };
}
