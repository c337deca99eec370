/**
 * Inputs for the redaction cost checks, shared by the linearity test (test/unit/redact.test.ts)
 * and the benchmark (bench/redaction.ts). The adversarial ones are built to make a backtracking
 * regex go quadratic: long runs of each pattern's own characters, repeated prefixes with no valid
 * ending, markers without their closing line.
 */
export const MB = 1_000_000;

/** `unit` repeated to exactly `bytes` characters. */
export function fill(unit: string, bytes = MB): string {
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

/** A line of ordinary support mail carrying one of each secret the redactor knows. */
export const SECRET_LINE = 'Order 4111111111111112 from +44 20 7946 0958 on 2024-01-15: card 4111 1111 1111 1111, '
  + 'IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, key AKIAIOSFODNN7EXAMPLE, INV-2024-000123.\n';

/** Each adversarial input as the unit it repeats (and, for one, a prefix before the run). */
export const ADVERSARIAL: Record<string, { prefix?: string; unit: string }> = {
  'one long digit run': { unit: '1' },
  'single digits and spaces': { unit: '1 ' },
  'four-digit groups': { unit: '4111 ' },
  'dash-joined pairs': { unit: '12-' },
  'repeated SSN shapes': { unit: '123-45-6789 ' },
  'repeated IBAN starts': { unit: 'DE89 ' },
  'repeated JWT headers': { unit: 'eyJ' },
  'repeated AWS prefixes': { unit: 'AKIA' },
  'repeated GitHub prefixes': { unit: 'ghp_' },
  'PEM headers without END': { unit: '-----BEGIN PRIVATE KEY-----\n' },
  'a PEM header then base64': { prefix: '-----BEGIN PRIVATE KEY-----\n', unit: 'A' },
  'dashes': { unit: '-' },
  'repeated Bearer': { unit: 'Bearer ' },
  'tags and attributes': { unit: '<a title="4111 1111 1111 1111" href=x>' },
  'unclosed tags': { unit: '<a title="' },
};

export function adversarial(name: string, bytes = MB): string {
  const input = ADVERSARIAL[name]!;
  return (input.prefix ?? '') + fill(input.unit, bytes);
}
