import { DETECTORS } from './redact-detectors';
import type { Hit, RedactionKind } from './redact-hit';
import { applyEdits, editsOf, projectText, type Edit, type Projection } from './redact-projection';

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

/** The hits found in a projection, each with its edits of the source; hits that cut nothing dropped. */
export function projectedHits(projection: Projection, policy: RedactionPolicy): { hit: Hit; edits: Edit[] }[] {
  return findHits(projection.text, policy)
    .map((hit) => ({ hit, edits: editsOf(projection, hit) }))
    .filter((found) => found.edits.length > 0);
}

/**
 * The hits of several readings of one source, as source edits: where two overlap in the source,
 * the earlier and then the longer wins (each reading found the same value, or one found more of it).
 */
export function resolveReadings(projections: readonly Projection[], policy: RedactionPolicy): { hits: Hit[]; edits: Edit[] } {
  const found = projections.flatMap((projection) => projectedHits(projection, policy))
    .map((f) => ({ ...f, start: f.edits[0]?.start ?? 0, end: f.edits[f.edits.length - 1]?.end ?? 0 }))
    .sort((a, b) => a.start - b.start || b.end - a.end);
  const hits: Hit[] = [];
  const edits: Edit[] = [];
  let covered = 0;
  for (const f of found) {
    if (f.start < covered) continue;
    hits.push(f.hit);
    edits.push(...f.edits);
    covered = f.end;
  }
  return { hits, edits };
}

/** Redacts plain text (a body, a subject, a display name, a file name) read through its projection. */
export function redactText(text: string, policy: RedactionPolicy): { text: string; redactions: Redaction[] } {
  if (policy.kinds.length === 0) return { text, redactions: [] };
  const joined = projectText(text);
  const { hits, edits } = resolveReadings(joined.invisible ? [joined, projectText(text, ' ')] : [joined], policy);
  return { text: applyEdits(text, edits), redactions: summary(tally(hits)) };
}
