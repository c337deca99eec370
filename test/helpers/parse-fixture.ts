/**
 * Parses a message with parseMime and a sink that keeps every stored part's bytes, so tests can
 * check what was stored under each index; and a per-class fidelity tally printed after the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DEFAULT_LIMITS, type Limits } from '../../src/domain/limits';
import type { EmailDocument } from '../../src/domain/email';
import { parseMime, type PartInfo } from '../../src/parsing/parse-mime';

export const CONTAINER_FIXTURES = path.resolve(__dirname, '../../../test/fixtures/containers');

export function containerFixture(name: string): Buffer {
  return readFileSync(path.join(CONTAINER_FIXTURES, name));
}

export interface Parsed {
  document: EmailDocument;
  /** Bytes the sink received, by part index. */
  stored: Map<number, Buffer>;
  /** What the sink was told about each part, in call order. */
  calls: PartInfo[];
}

export async function parseStored(raw: Buffer | string, limits: Limits = DEFAULT_LIMITS): Promise<Parsed> {
  const stored = new Map<number, Buffer>();
  const calls: PartInfo[] = [];
  const document = await parseMime(Readable.from([Buffer.from(raw)]), {
    limits,
    sink: async (part, content) => {
      calls.push(part);
      const chunks: Buffer[] = [];
      for await (const chunk of content as AsyncIterable<Buffer>) chunks.push(chunk);
      stored.set(part.index, Buffer.concat(chunks));
      return { partKey: `parts/test/${part.index}` };
    },
  });
  return { document, stored, calls };
}

/** Counts the cases of one fidelity class that held, for the line the evaluation reads. */
export class FidelityTally {
  private passed = 0;
  private total = 0;
  constructor(private readonly label: string) {}

  /** Runs a case's assertions; a failure still fails the test, and is counted as a miss. */
  async check(run: () => void | Promise<void>): Promise<void> {
    this.total++;
    await run();
    this.passed++;
  }

  line(): string {
    return `# fidelity ${this.label}: ${this.passed}/${this.total}`;
  }
}
