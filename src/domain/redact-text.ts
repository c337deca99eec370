import { DETECTORS, type Hit, type RedactionKind } from './redact-detectors';

export interface RedactionPolicy { kinds: RedactionKind[] }
export const DEFAULT_REDACTION_POLICY: RedactionPolicy = { kinds: ['card', 'iban', 'us-ssn', 'api-key'] };
export interface Redaction { kind: RedactionKind; count: number }

const KIND_ORDER: readonly RedactionKind[] = ['card', 'iban', 'us-ssn', 'api-key'];

/** Non-overlapping hits in text order; where two overlap, the earlier and then the longer wins. */
export function findHits(text: string, policy: RedactionPolicy): Hit[] {
  const all = KIND_ORDER.filter((kind) => policy.kinds.includes(kind)).flatMap((kind) => DETECTORS[kind](text));
  all.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Hit[] = [];
  let covered = 0;
  for (const hit of all) {
    if (hit.start < covered) continue;
    kept.push(hit);
    covered = hit.end;
  }
  return kept;
}

export function tally(hits: readonly Hit[]): Map<RedactionKind, number> {
  const counts = new Map<RedactionKind, number>();
  for (const hit of hits) counts.set(hit.kind, (counts.get(hit.kind) ?? 0) + 1);
  return counts;
}

export function summary(counts: Map<RedactionKind, number>): Redaction[] {
  return KIND_ORDER.flatMap((kind) => {
    const count = counts.get(kind) ?? 0;
    return count > 0 ? [{ kind, count }] : [];
  });
}

export function applyHits(text: string, hits: readonly Hit[]): string {
  let out = '';
  let pos = 0;
  for (const hit of hits) {
    out += text.slice(pos, hit.start) + hit.replacement;
    pos = hit.end;
  }
  return out + text.slice(pos);
}

export function redactText(text: string, policy: RedactionPolicy): { text: string; redactions: Redaction[] } {
  const hits = findHits(text, policy);
  return { text: applyHits(text, hits), redactions: summary(tally(hits)) };
}
